package spawn

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
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
	// timeByProbe: the probe, by exec in place or from a stage.
	timeByProbe
)

// makerOfTime says who makes the time namespace of the child opts
// describe. Offsets can only be written to a time namespace no process has
// entered yet, which a clone flag does not give. Where exec enters a
// task's time namespace for children (Linux 6.2 and later) Run makes it,
// so that the probe starts once, as a bare clone does: without user from
// a thread of its own, which is the host's user namespace's as the
// namespace must be; with user in the child it forks, once the child's
// user namespace exists, so that the new namespace belongs to it, as a
// clone flag would have made it. Elsewhere, with a join (which the probe's
// stage makes first), or, with user, a cgroup to start in or a test's way
// of making a user namespace, the probe makes it.
func makerOfTime(ctx context.Context, o Options) timeMaker {
	switch {
	case !o.timeWithOffsets():
		return timeByClone
	case !execEntersTimeNS() || !o.Join.empty():
		return timeByProbe
	case !o.Set.Has(User):
		return timeByThread
	case o.CgroupDir == "" && testseam.UserNSFrom(ctx) == (testseam.UserNS{}):
		return timeByFork
	}
	return timeByProbe
}

// startAndWait starts cmd and waits for it, from Run's thread for time or
// by a fork of Run's own where it makes the child's time namespace.
// started is called once the child exists, before the wait.
func startAndWait(ctx context.Context, cmd *exec.Cmd, opts Options, started func()) (pid int, waitErr, startErr error) {
	var err error
	switch makerOfTime(ctx, opts) {
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
