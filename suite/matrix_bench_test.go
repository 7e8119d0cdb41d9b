//go:build linux

package suite

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/suite/hoststate"
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
	runCleanups, entryBytes := setUpBench(b)

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
			*entryBytes = 0
			measureAgainstFloor(b, sets, func(set spawn.Set) { bareExec(b, set) }, func(set spawn.Set) {
				VerifySet(ctx, set, nil)
				runCleanups()
			})
			b.ReportMetric(float64(*entryBytes)/float64(b.N)/float64(len(sets)), "bytes/spec")
		})
	}
}

// idleProcesses starts n sleeping processes standing for a busy host, and
// returns what kills them. They are not this process's children, as a
// host's processes are not: a shell starts them in a process group of
// their own and exits, so that they are reparented, and the benchmark kills
// that group by its id. Each sleeps at most 15 minutes, should the
// benchmark itself be killed first. It returns once all of them sleep.
func idleProcesses(b *testing.B, n int) (stop func()) {
	b.Helper()
	if n == 0 {
		return func() {}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		b.Skip("needs sh and sleep to stand for a busy host's processes")
	}
	script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do sleep 900 & i=$((i+1)); done", n)
	cmd := exec.Command(sh, "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Run(); err != nil {
		b.Fatalf("start %d idle processes: %v", n, err)
	}
	pgid := cmd.Process.Pid
	stop = func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
	// The shell is gone once it has forked them all, but the last ones may
	// still be exec'ing sleep: measure only once every one sleeps, idle.
	deadline := time.Now().Add(time.Minute)
	for asleep := 0; asleep < n; asleep = sleepingIn(pgid) {
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("only %d of %d idle processes asleep after a minute", asleep, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return stop
}

// sleepingIn counts the processes of process group pgid that run sleep
// and are asleep.
func sleepingIn(pgid int) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := hoststate.ReadStat(pid); err == nil && p.Pgrp == pgid && p.Comm == "sleep" && p.State == "S" {
			n++
		}
	}
	return n
}

func presentAll(set spawn.Set) bool {
	for _, k := range set.Kinds() {
		if !features.Present[k] {
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
