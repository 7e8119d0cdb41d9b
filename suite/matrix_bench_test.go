//go:build linux

package suite

import (
	"context"
	"encoding/json"
	"fmt"
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
// subset of the kinds this kernel has, on a host with 0, 1,000 and 5,000
// idle processes more (made by the benchmark in a process group of their
// own, killed at its end):
//
//   - floor: the bare cost of cloning and exec'ing the probe with each set's
//     flags, its output discarded;
//   - matrix: what each matrix entry does (markers, the probe with its
//     actions through spawn, the host reads, every oracle, its report
//     entry).
//
// It reports both per full pass (ms/pass), their ratio, and the bytes of
// report entry a matrix spec adds to report.json (bytes/spec): neither may
// grow with the host's process count. Run it with
//
//	go test -run '^$' -bench Matrix -benchtime 3x ./suite
func BenchmarkMatrix(b *testing.B) {
	if ok, reason := spawn.ReadPrivilege().CanCreate(spawn.All.Without(spawn.User)); !ok {
		b.Skip(reason)
	}
	var err error
	if probePath, err = buildProbe(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(gexec.CleanupBuildArtifacts)
	features = spawn.Detect(probePath)
	if host, err = ReadHost(probePath); err != nil {
		b.Fatal(err)
	}

	// Run the suite's own oracles, with failures and cleanups routed to b,
	// and the report entries counted as report.json would hold them.
	gomega.RegisterFailHandler(func(message string, _ ...int) { b.Fatal(message) })
	var cleanups []func()
	runCleanups := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		cleanups = nil
	}
	var entryBytes int
	addReportEntry = func(name string, value any) {
		data, err := json.Marshal(value)
		if err != nil {
			b.Fatalf("encode report entry %s: %v", name, err)
		}
		entryBytes += len(name) + len(data)
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

	var sets []spawn.Set
	for _, set := range spawn.PowerSet(spawn.All) {
		if presentAll(set) {
			sets = append(sets, set)
		}
	}
	ctx := context.Background()
	for _, idle := range []int{0, 1000, 5000} {
		b.Run(fmt.Sprintf("idle=%d", idle), func(b *testing.B) {
			stop := idleProcesses(b, idle)
			defer stop()
			var floor, matrix time.Duration
			entryBytes = 0
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
			b.ReportMetric(float64(entryBytes)/passes/float64(len(sets)), "bytes/spec")
		})
	}
}

// idleProcesses starts n sleeping processes in a process group of their
// own, standing for a busy host, and returns what kills and reaps them.
func idleProcesses(b *testing.B, n int) (stop func()) {
	b.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		b.Skip("needs the sleep command to stand for a busy host's processes")
	}
	var cmds []*exec.Cmd
	stop = func() {
		if len(cmds) > 0 {
			_ = syscall.Kill(-cmds[0].Process.Pid, syscall.SIGKILL)
		}
		for _, c := range cmds {
			_ = c.Wait()
		}
		cmds = nil
	}
	for i := range n {
		c := exec.Command(sleep, "3600")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if i > 0 {
			c.SysProcAttr.Pgid = cmds[0].Process.Pid
		}
		if err := c.Start(); err != nil {
			stop()
			b.Fatalf("start idle process %d of %d: %v", i+1, n, err)
		}
		cmds = append(cmds, c)
	}
	return stop
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
