//go:build linux

package suite

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/spawn"
)

// setUpBench prepares what a benchmark of the matrix needs, as the suite
// does before its specs: the probe, the preflight, the host baseline, the
// shared markers and the suite's cgroup, all undone when b ends. The
// suite's own oracles then run with failures and cleanups routed to b, and
// the report entries counted as report.json would hold them: it returns
// what runs the cleanups a spec registered, and the count of entry bytes.
func setUpBench(b *testing.B) (runCleanups func(), entryBytes *int) {
	if ok, reason := spawn.ReadPrivilege().CanCreate(spawn.All.Without(spawn.User)); !ok {
		b.Skip(reason)
	}
	var err error
	if probePath, err = buildProbe(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = testbuild.Remove(probePath) })
	features = spawn.Detect(probePath)
	if host, err = ReadHost(probePath); err != nil {
		b.Fatal(err)
	}

	// Run the suite's own oracles, with failures and cleanups routed to b,
	// and the report entries counted as report.json would hold them.
	gomega.RegisterFailHandler(func(message string, _ ...int) { b.Fatal(message) })
	var cleanups []func()
	runCleanups = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		cleanups = nil
	}
	var entryCount int
	entryBytes = &entryCount
	addReportEntry = func(name string, value any) {
		data, err := json.Marshal(value)
		if err != nil {
			b.Fatalf("encode report entry %s: %v", name, err)
		}
		*entryBytes += len(name) + len(data)
	}
	var suiteCleanups []func()
	deferCleanup = func(f func()) { suiteCleanups = append(suiteCleanups, f) }
	sharedMarkers = Markers{}.WithHostQueue().WithHostLink()
	suiteCgroup = enterSuiteCgroup()
	b.Cleanup(func() {
		for i := len(suiteCleanups) - 1; i >= 0; i-- {
			suiteCleanups[i]()
		}
	})
	deferCleanup = func(f func()) { cleanups = append(cleanups, f) }
	return runCleanups, entryBytes

}

// measureAgainstFloor times, per pass of b, floor(set) and matrix(set) for
// every set, and reports both per pass and their ratio. The two alternate
// set by set, in turns that swap each pass, so that what the kernel does
// behind a child (a network namespace's teardown runs after its last
// process ends) and whatever else the machine does fall on both alike.
func measureAgainstFloor(b *testing.B, sets []spawn.Set, floor, matrix func(spawn.Set)) {
	var floorTime, matrixTime time.Duration
	timed := func(f func(spawn.Set), set spawn.Set, total *time.Duration) {
		start := time.Now()
		f(set)
		*total += time.Since(start)
	}
	pass := 0
	for b.Loop() {
		for _, set := range sets {
			if pass%2 == 0 {
				timed(floor, set, &floorTime)
				timed(matrix, set, &matrixTime)
			} else {
				timed(matrix, set, &matrixTime)
				timed(floor, set, &floorTime)
			}
		}
		pass++
	}
	passes := float64(b.N)
	b.ReportMetric(float64(len(sets)), "sets/pass")
	b.ReportMetric(float64(floorTime.Milliseconds())/passes, "floor-ms/pass")
	b.ReportMetric(float64(matrixTime.Milliseconds())/passes, "matrix-ms/pass")
	b.ReportMetric(float64(matrixTime)/float64(floorTime), "matrix/floor")
}
