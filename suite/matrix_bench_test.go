//go:build linux

package suite

import (
	"context"
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/nsverify/nsverify/spawn"
)

// BenchmarkMatrix measures, in one run, the floor and the matrix over every
// subset of the kinds this kernel has:
//
//   - floor: the bare cost of cloning and exec'ing the probe with each set's
//     flags, its output discarded;
//   - matrix: what each matrix entry does (markers, a dedicated cgroup, the
//     probe with its actions through spawn, the host reads, every oracle).
//
// It reports both per full pass (ms/pass) and their ratio. Run it with
//
//	go test -run '^$' -bench Matrix -benchtime 3x ./suite
func BenchmarkMatrix(b *testing.B) {
	var err error
	if probePath, err = buildProbe(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(gexec.CleanupBuildArtifacts)
	features = spawn.Detect(probePath)
	// Every kind of namespace, the host's marker link and a cgroup per
	// child: what the matrix needs where it can do all it does.
	for _, check := range []func() (bool, string){
		func() (bool, string) { return features.CanCreate(spawn.All.Without(spawn.User)) },
		canAddHostLink,
		features.CanMakeCgroup,
	} {
		if ok, reason := check(); !ok {
			b.Skip(reason)
		}
	}
	if host, err = ReadHost(probePath); err != nil {
		b.Fatal(err)
	}

	// Run the suite's own oracles, with failures and cleanups routed to b.
	gomega.RegisterFailHandler(func(message string, _ ...int) { b.Fatal(message) })
	var cleanups []func()
	runCleanups := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		cleanups = nil
	}
	deferCleanup = func(f func()) { cleanups = append(cleanups, f) }
	addReportEntry = func(string, any) {}
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

	var sets []spawn.Set
	for _, set := range spawn.PowerSet(spawn.All) {
		if presentAll(set) {
			sets = append(sets, set)
		}
	}
	ctx := context.Background()
	var floor, matrix time.Duration
	for b.Loop() {
		start := time.Now()
		for _, set := range sets {
			bareExec(b, set)
		}
		floor += time.Since(start)

		start = time.Now()
		for _, set := range sets {
			VerifySet(ctx, set)
			runCleanups()
		}
		matrix += time.Since(start)
	}
	passes := float64(b.N)
	b.ReportMetric(float64(len(sets)), "sets/pass")
	b.ReportMetric(float64(floor.Milliseconds())/passes, "floor-ms/pass")
	b.ReportMetric(float64(matrix.Milliseconds())/passes, "matrix-ms/pass")
	b.ReportMetric(float64(matrix)/float64(floor), "matrix/floor")
}

func presentAll(set spawn.Set) bool {
	for _, k := range set.Kinds() {
		if !spawn.Present(k) {
			return false
		}
	}
	return true
}

// bareExec clones and execs the probe with set's flags and nothing else.
func bareExec(b *testing.B, set spawn.Set) {
	cmd := exec.Command(probePath)
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: set.CloneFlags(), Pdeathsig: syscall.SIGKILL}
	if set.Has(spawn.User) {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	}
	if err := cmd.Run(); err != nil {
		b.Fatalf("exec the probe in %s: %v", set, err)
	}
}
