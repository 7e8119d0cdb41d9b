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

// measureAgainstFloor times, per pass of b, floor(set) and then matrix(set)
// over sets, and reports both per pass and their ratio.
func measureAgainstFloor(b *testing.B, sets []spawn.Set, floor, matrix func(spawn.Set)) {
	var floorTime, matrixTime time.Duration
	for b.Loop() {
		start := time.Now()
		for _, set := range sets {
			floor(set)
		}
		floorTime += time.Since(start)
		start = time.Now()
		for _, set := range sets {
			matrix(set)
		}
		matrixTime += time.Since(start)
	}
	passes := float64(b.N)
	b.ReportMetric(float64(len(sets)), "sets/pass")
	b.ReportMetric(float64(floorTime.Milliseconds())/passes, "floor-ms/pass")
	b.ReportMetric(float64(matrixTime.Milliseconds())/passes, "matrix-ms/pass")
	b.ReportMetric(float64(matrixTime)/float64(floorTime), "matrix/floor")
}
