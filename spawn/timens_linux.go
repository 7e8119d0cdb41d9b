package spawn

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/testseam"
	"github.com/nsverify/nsverify/probes"
)

// timeMaker is who makes a set's time namespace.
type timeMaker int

const (
	// timeByClone: no offsets (or no time), so the clone flag does, if any.
	timeByClone timeMaker = iota
	// timeByThread: Run's thread for time, before its clone (see
	// startInTimeNS).
	timeByThread
	// timeByFork: the child Run forks itself, between its clone and its
	// exec (see forkAndWait).
	timeByFork
	// timeByProbeExec: the probe unshares it, writes the offsets and
	// execs itself inside (-timens-exec): the observer is the process Run
	// started.
	timeByProbeExec
	// timeByProbeStage: a single-threaded stage of the probe unshares it,
	// writes the offsets and forks the observer inside.
	timeByProbeStage
)

// String names the maker as the test seam does.
func (m timeMaker) String() string {
	return map[timeMaker]string{timeByClone: "clone", timeByThread: string(testseam.TimeNSThread), timeByFork: string(testseam.TimeNSFork),
		timeByProbeExec: string(testseam.TimeNSExec), timeByProbeStage: string(testseam.TimeNSStage)}[m]
}

// byProbe says the probe makes the time namespace, in place or from its
// stage.
func (m timeMaker) byProbe() bool { return m == timeByProbeExec || m == timeByProbeStage }

// makerOfTime says who makes the time namespace of the child opts
// describe. Offsets can only be written to a time namespace no process has
// entered yet, which a clone flag does not give. Where exec enters a
// task's time namespace for children (Linux 6.2 and later) Run makes it,
// so that the probe starts once, as a bare clone does: without user from
// a thread of its own, which is the host's user namespace's as the
// namespace must be; with user in the child it forks, once the child's
// user namespace exists, so that the new namespace belongs to it, as a
// clone flag would have made it. With user and a cgroup to start in, or a
// test's way of making a user namespace, the probe makes it and execs
// itself inside. Elsewhere, and with a join (which the stage makes
// first), the probe's stage makes it.
//
// A test may force one of these ways (testseam.WithTimeNS), so that every
// way runs on a kernel that would take only some; a way that cannot make
// the set asked for on this kernel is an error.
func makerOfTime(ctx context.Context, o Options) (timeMaker, error) {
	if !o.timeWithOffsets() {
		return timeByClone, nil
	}
	if w := testseam.TimeNSFrom(ctx); w != testseam.TimeNSAuto {
		return forcedMakerOfTime(ctx, o, w)
	}
	switch {
	case !execEntersTimeNS() || !o.Join.empty():
		return timeByProbeStage, nil
	case !o.Set.Has(User):
		return timeByThread, nil
	case o.CgroupDir == "" && testseam.UserNSFrom(ctx) == (testseam.UserNS{}):
		return timeByFork, nil
	}
	return timeByProbeExec, nil
}

// forcedMakerOfTime is the maker a test asked for, where it can make the
// child opts describe on this kernel.
func forcedMakerOfTime(ctx context.Context, o Options, w testseam.TimeNS) (timeMaker, error) {
	refuse := func(why string) (timeMaker, error) {
		return timeByClone, fmt.Errorf("make time namespace by %s, as the test seam asks: %s", w, why)
	}
	if !slices.Contains(testseam.TimeNSWays(), w) {
		return refuse("unknown way; use one of testseam.TimeNSWays")
	}
	if w != testseam.TimeNSStage && !execEntersTimeNS() {
		return refuse("that way needs Linux " + timeNSOnExecSince + " or later, where exec enters a time namespace; only the probe's stage works on this kernel")
	}
	if w != testseam.TimeNSStage && !o.Join.empty() {
		return refuse("a join is made by the probe's stage, which makes the time namespace too")
	}
	switch w {
	case testseam.TimeNSThread:
		if o.Set.Has(User) {
			return refuse("Run's thread for time makes a namespace its own user namespace owns, not the child's new one; use fork")
		}
		return timeByThread, nil
	case testseam.TimeNSFork:
		if !o.Set.Has(User) || o.CgroupDir != "" || testseam.UserNSFrom(ctx) != (testseam.UserNS{}) {
			return refuse("Run forks a child for time only with user, without a cgroup to start in and with the maps it writes itself")
		}
		return timeByFork, nil
	case testseam.TimeNSExec:
		return timeByProbeExec, nil
	}
	return timeByProbeStage, nil
}

// startAndWait starts cmd and waits for it, from Run's thread for time or
// by a fork of Run's own where it makes the child's time namespace.
// started is called once the child exists, before the wait.
func startAndWait(ctx context.Context, cmd *exec.Cmd, opts Options, started func()) (pid int, waitErr, startErr error) {
	maker, err := makerOfTime(ctx, opts)
	if err != nil {
		return 0, nil, err
	}
	switch maker {
	case timeByFork:
		return forkAndWait(ctx, cmd, opts, started)
	case timeByThread:
		err = startInTimeNS(cmd, probes.FormatTimensOffsets(opts.Actions.MonotonicOffset, opts.Actions.BoottimeOffset))
	default:
		err = cmd.Start()
	}
	if err != nil {
		return 0, nil, err
	}
	started()
	return cmd.Process.Pid, cmd.Wait(), nil
}

// timeStart asks Run's thread for time to start cmd in a new time
// namespace with offsets.
type timeStart struct {
	cmd     *exec.Cmd
	offsets string
	started chan error
}

// timeThread is the queue of Run's thread for time: an OS thread locked
// for good to a goroutine that starts every child whose time namespace
// Run makes without user. For each it unshares time, which gives the
// thread a new time namespace for its children (never its own clocks,
// nor any other thread's), writes the offsets and clones the child, whose
// exec enters the namespace. The thread is never unlocked, so the runtime
// runs nothing else on it, and it never ends: it is the parent, for
// Pdeathsig, of every child it started.
var timeThread = sync.OnceValue(func() chan<- timeStart {
	queue := make(chan timeStart)
	go func() {
		runtime.LockOSThread()
		for s := range queue {
			if err := unshareTimeNS(s.offsets); err != nil {
				s.started <- &makeTimeError{err}
				continue
			}
			s.started <- s.cmd.Start()
		}
	}()
	return queue
})

// startInTimeNS starts cmd from Run's thread for time, in a new time
// namespace with offsets.
func startInTimeNS(cmd *exec.Cmd, offsets string) error {
	started := make(chan error, 1)
	timeThread() <- timeStart{cmd: cmd, offsets: offsets, started: started}
	return <-started
}

// unshareTimeNS gives the calling thread, which must be locked, a new time
// namespace for its children, and writes its offsets.
func unshareTimeNS(offsets string) error {
	const forChildren = "/proc/thread-self/ns/time_for_children"
	before, err := probes.StatNSID(forChildren)
	if err != nil {
		return err
	}
	if err := unix.Unshare(int(Time.CloneFlag())); err != nil {
		return fmt.Errorf("unshare time namespace for the children of Run's thread for time: %w", err)
	}
	own, err := probes.StatNSID(forChildren)
	if err != nil {
		return err
	}
	if own == before {
		return fmt.Errorf("unshare time namespace for the children of Run's thread for time: it made none, the namespace for its children is still %s", own)
	}
	// timens_offsets exists for a process, not under task/: this
	// thread's is /proc/TID's. Check that it is this thread's before
	// writing, should /proc belong to another pid namespace.
	path := "/proc/" + strconv.Itoa(unix.Gettid())
	other, err := probes.StatNSID(path + "/ns/time_for_children")
	if err != nil {
		return fmt.Errorf("write timens_offsets: %w", err)
	}
	if other != own {
		return fmt.Errorf("write timens_offsets: %s is not this thread in the /proc mounted here", path)
	}
	if err := os.WriteFile(path+"/timens_offsets", []byte(offsets), 0); err != nil {
		return fmt.Errorf("write timens_offsets: %w", err)
	}
	return nil
}
