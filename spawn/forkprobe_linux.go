package spawn

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// forkPlan is everything the forked child reads, prepared before the fork:
// after it, the child may only make raw system calls (see probes'
// RawFork).
type forkPlan struct {
	flags      uintptr
	timeFlag   uintptr
	path       *byte
	argv, envv []*byte
	// The offsets, written to the child's own timens_offsets once it has
	// unshared time.
	offsetsPath *byte
	offsets     []byte
	// user says the child sets uid and gid 0 in its new user namespace,
	// once Run has written its maps.
	user bool
	// newPID says the child is pid 1 of a new pid namespace, whose parent
	// it cannot name (getppid is 0).
	newPID bool
	parent uintptr
	// Descriptors of this process, each above 2, that the child puts on 0,
	// 1 and 2; the pipe it waits on, and the one it reports a failure on.
	stdio [3]uintptr
	// hello is the child's end of the hello socket, put on descriptor 3
	// (0 when there is none).
	hello        uintptr
	syncR, syncW uintptr
	failW        uintptr
	sig          probes.SigState
	buf          [1]byte
	// Written by the child in its own copy, and sent.
	fail forkFailure
}

// forkFailure is what the child sends when a step fails before its exec,
// in the machine's byte order.
type forkFailure struct {
	Step, Errno uint32
}

// The child's steps, in order, for forkFailure.
const (
	stepPdeathsig uint32 = iota + 1
	stepWaitMaps
	stepUnshareTime
	stepOffsets
	stepSetgid
	stepSetuid
	stepSetpgid
	stepStdio
	stepHello
	stepParentGone
	stepExec
)

var stepNames = map[uint32]string{
	stepPdeathsig:   "set the parent death signal",
	stepWaitMaps:    "wait for the uid and gid maps",
	stepUnshareTime: "unshare time namespace",
	stepOffsets:     "write timens_offsets",
	stepSetgid:      "set gid 0",
	stepSetuid:      "set uid 0",
	stepSetpgid:     "make its own process group",
	stepStdio:       "set up stdin, stdout and stderr",
	stepHello:       "pass the hello socket on descriptor 3",
	stepParentGone:  "find its parent alive",
	stepExec:        "exec the probe",
}

// forkAndWait starts cmd as exec.Cmd would with its SysProcAttr, but by a
// raw fork whose child, before it execs, unshares a time namespace and
// writes its offsets, and waits for it. The child is cloned with the
// set's other flags: with user, its time namespace belongs to its new user
// namespace, and Run writes its maps while it waits, as exec.Cmd does. Its
// exec puts it inside: one start of the probe, as a bare clone has, where
// the probe making the namespace would need two.
//
// Only the forked child's own namespaces change: the fork copies this
// process, and nothing of it but the copy unshares.
//
// Descriptor 3 of the child is cmd.ExtraFiles[0] where there is one (the
// hello socket); started is called once the child exists.
func forkAndWait(ctx context.Context, cmd *exec.Cmd, opts Options, started func()) (pid int, waitErr, startErr error) {
	attr := cmd.SysProcAttr
	p := &forkPlan{flags: attr.Cloneflags, timeFlag: Time.CloneFlag(), user: attr.Cloneflags&unix.CLONE_NEWUSER != 0, newPID: attr.Cloneflags&unix.CLONE_NEWPID != 0, sig: probes.NewSigState()}
	var err error
	if p.path, err = syscall.BytePtrFromString(cmd.Path); err != nil {
		return 0, nil, fmt.Errorf("prepare probe: %w", err)
	}
	if p.argv, err = syscall.SlicePtrFromStrings(cmd.Args); err != nil {
		return 0, nil, fmt.Errorf("prepare probe arguments: %w", err)
	}
	if p.envv, err = syscall.SlicePtrFromStrings(cmd.Env); err != nil {
		return 0, nil, fmt.Errorf("prepare probe environment: %w", err)
	}
	if p.offsetsPath, err = syscall.BytePtrFromString("/proc/self/timens_offsets"); err != nil {
		return 0, nil, err
	}
	p.offsets = []byte(probes.FormatTimensOffsets(opts.Actions.MonotonicOffset, opts.Actions.BoottimeOffset))

	files, err := openForkFiles()
	if err != nil {
		return 0, nil, err
	}
	defer files.close()
	for i, f := range []*os.File{files.stdin, files.stdoutW, files.stderrW} {
		p.stdio[i] = f.Fd()
	}
	p.syncR, p.syncW, p.failW = files.syncR.Fd(), files.syncW.Fd(), files.failW.Fd()
	if len(cmd.ExtraFiles) > 1 {
		return 0, nil, errors.New("fork the probe: it takes one extra file, the hello socket")
	}
	if len(cmd.ExtraFiles) == 1 {
		p.hello = cmd.ExtraFiles[0].Fd()
	}
	p.parent = uintptr(os.Getpid())

	// The child's parent death signal follows the thread that forks it,
	// and the mask saved and put back must be this thread's.
	runtime.LockOSThread()
	syscall.ForkLock.Lock()
	rawPID, errno := forkProbe(p)
	syscall.ForkLock.Unlock()
	runtime.UnlockOSThread()
	if errno != 0 {
		return 0, nil, fmt.Errorf("fork the probe: %w", errno)
	}
	pid = int(rawPID)
	// The child makes its own group too; whichever comes first, a kill of
	// the group reaches it.
	_ = syscall.Setpgid(pid, pid)
	files.closeChildEnds()
	started()
	proc, err := os.FindProcess(pid)
	if err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return 0, nil, fmt.Errorf("find the forked probe: %w", err)
	}
	// From here the deadline kills the child and its group, before its
	// exec too (a child stuck on the way would hold Run past it).
	waited := make(chan struct{})
	stopWatch := sync.OnceFunc(func() { close(waited) })
	defer stopWatch()
	go func() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		case <-waited:
		}
	}()
	abort := func(err error) (int, error, error) {
		_ = proc.Kill()
		_, _ = proc.Wait()
		stopWatch()
		return 0, nil, err
	}
	if p.user {
		if err := writeIDMaps(pid, attr); err != nil {
			return abort(err)
		}
	}
	if _, err := files.syncW.Write([]byte{1}); err != nil {
		return abort(fmt.Errorf("let the forked probe go on: %w", err))
	}
	files.syncW.Close()
	files.syncW = nil
	if err := readForkFailure(files.failR); err != nil {
		return abort(err)
	}

	// The exec happened (or the deadline killed the child): copy the
	// output and wait, as exec.CommandContext with Cancel does.
	copied := make(chan error, 2)
	go func() { _, err := io.Copy(cmd.Stdout, files.stdoutR); copied <- err }()
	go func() { _, err := io.Copy(cmd.Stderr, files.stderrR); copied <- err }()
	state, err := proc.Wait()
	stopWatch()
	if err == nil && !state.Success() {
		err = &exec.ExitError{ProcessState: state}
	}
	// Should something the probe started hold its output open, give up
	// on the output a second after it ended, as exec.Cmd's WaitDelay does.
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for received := 0; received < 2; {
		select {
		case copyErr := <-copied:
			received++
			if err == nil {
				err = copyErr
			}
		case <-timer.C:
			// The copies end on the closed pipes, with errors of their
			// own that this one stands for.
			files.stdoutR.Close()
			files.stderrR.Close()
			if err == nil {
				err = exec.ErrWaitDelay
			}
		}
	}
	return pid, err, nil
}

// forkFiles are the descriptors around the forked child.
type forkFiles struct {
	stdin, stdoutR, stdoutW, stderrR, stderrW *os.File
	syncR, syncW, failR, failW                *os.File
}

// openForkFiles opens /dev/null for stdin and the four pipes, every end
// the child uses at a descriptor above 3, so that putting stdin, stdout,
// stderr and the hello socket on 0 to 3 in the child never overwrites
// another.
func openForkFiles() (*forkFiles, error) {
	f := &forkFiles{}
	var err error
	if f.stdin, err = os.Open(os.DevNull); err != nil {
		return nil, fmt.Errorf("open stdin of the probe: %w", err)
	}
	for _, pair := range []struct{ r, w **os.File }{{&f.stdoutR, &f.stdoutW}, {&f.stderrR, &f.stderrW}, {&f.syncR, &f.syncW}, {&f.failR, &f.failW}} {
		if *pair.r, *pair.w, err = os.Pipe(); err != nil {
			f.close()
			return nil, fmt.Errorf("make a pipe for the probe: %w", err)
		}
	}
	for _, pf := range []**os.File{&f.stdin, &f.stdoutW, &f.stderrW, &f.syncR, &f.syncW, &f.failW} {
		if (*pf).Fd() > 3 {
			continue
		}
		fd, err := unix.FcntlInt((*pf).Fd(), unix.F_DUPFD_CLOEXEC, 4)
		if err != nil {
			f.close()
			return nil, fmt.Errorf("move a descriptor of the probe above 2: %w", err)
		}
		(*pf).Close()
		*pf = os.NewFile(uintptr(fd), (*pf).Name())
	}
	return f, nil
}

// closeChildEnds closes this process's copies of what only the child
// uses, so that reading sees the end once the child is gone.
func (f *forkFiles) closeChildEnds() {
	for _, pf := range []**os.File{&f.stdin, &f.stdoutW, &f.stderrW, &f.syncR, &f.failW} {
		(*pf).Close()
		*pf = nil
	}
}

func (f *forkFiles) close() {
	for _, file := range []*os.File{f.stdin, f.stdoutR, f.stdoutW, f.stderrR, f.stderrW, f.syncR, f.syncW, f.failR, f.failW} {
		if file != nil {
			file.Close()
		}
	}
}

// writeIDMaps writes the maps of the child's new user namespace, setgroups
// denied first, as exec.Cmd does for a clone with CLONE_NEWUSER.
func writeIDMaps(pid int, attr *syscall.SysProcAttr) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	if err := os.WriteFile(dir+"uid_map", []byte(formatSysProcIDMaps(attr.UidMappings)), 0); err != nil {
		return fmt.Errorf("write uid_map: %w", err)
	}
	if err := os.WriteFile(dir+"setgroups", []byte("deny"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("write setgroups: %w", err)
	}
	if err := os.WriteFile(dir+"gid_map", []byte(formatSysProcIDMaps(attr.GidMappings)), 0); err != nil {
		return fmt.Errorf("write gid_map: %w", err)
	}
	return nil
}

func formatSysProcIDMaps(maps []syscall.SysProcIDMap) string {
	var s string
	for _, m := range maps {
		s += fmt.Sprintf("%d %d %d\n", m.ContainerID, m.HostID, m.Size)
	}
	return s
}

// readForkFailure reads what the child sent before its exec: nothing when
// the exec closed the pipe, or the step that failed and its errno.
func readForkFailure(r *os.File) error {
	var rec [8]byte
	n, err := io.ReadFull(r, rec[:])
	if n == 0 && errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the forked probe's status: %w", err)
	}
	step, errno := binary.NativeEndian.Uint32(rec[:4]), binary.NativeEndian.Uint32(rec[4:])
	what, ok := stepNames[step]
	if !ok {
		what = fmt.Sprintf("step %d", step)
	}
	err = fmt.Errorf("%s: %w", what, syscall.Errno(errno))
	if step == stepUnshareTime || step == stepOffsets {
		return &makeTimeError{err}
	}
	return err
}

// forkProbe forks; the child runs forkedProbe and never returns.
//
//go:nosplit
//go:norace
func forkProbe(p *forkPlan) (uintptr, syscall.Errno) {
	probes.BlockSignals(&p.sig)
	pid, errno := probes.RawFork(p.flags)
	if errno == 0 && pid == 0 {
		forkedProbe(p)
	}
	probes.RestoreSignals(&p.sig)
	return pid, errno
}

// forkedProbe is the forked child: it waits for its maps, makes its time
// namespace, becomes root of its user namespace, and execs the probe.
//
//go:nosplit
//go:norace
func forkedProbe(p *forkPlan) {
	// Set first, so that a parent gone from here on kills the child; one
	// gone before shows as the end of the pipe below.
	if _, _, errno := syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0); errno != 0 {
		forkFailed(p, stepPdeathsig, errno)
	}
	syscall.RawSyscall(unix.SYS_CLOSE, p.syncW, 0, 0)
	n, _, errno := syscall.RawSyscall(unix.SYS_READ, p.syncR, uintptr(unsafe.Pointer(&p.buf[0])), 1)
	if errno != 0 || n != 1 {
		forkFailed(p, stepWaitMaps, errno)
	}
	if _, _, errno := syscall.RawSyscall(unix.SYS_UNSHARE, p.timeFlag, 0, 0); errno != 0 {
		forkFailed(p, stepUnshareTime, errno)
	}
	if errno := probes.RawWriteFile(p.offsetsPath, p.offsets); errno != 0 {
		forkFailed(p, stepOffsets, errno)
	}
	if p.user {
		// Ids 0 fit the 16-bit calls of the architectures that have them.
		if _, _, errno := syscall.RawSyscall(unix.SYS_SETGID, 0, 0, 0); errno != 0 {
			forkFailed(p, stepSetgid, errno)
		}
		if _, _, errno := syscall.RawSyscall(unix.SYS_SETUID, 0, 0, 0); errno != 0 {
			forkFailed(p, stepSetuid, errno)
		}
	}
	if _, _, errno := syscall.RawSyscall(unix.SYS_SETPGID, 0, 0, 0); errno != 0 {
		forkFailed(p, stepSetpgid, errno)
	}
	for i := uintptr(0); i < 3; i++ {
		if _, _, errno := syscall.RawSyscall(unix.SYS_DUP3, p.stdio[i], i, 0); errno != 0 {
			forkFailed(p, stepStdio, errno)
		}
	}
	if p.hello == 3 {
		// Already in place: only its close-on-exec flag goes.
		if _, _, errno := syscall.RawSyscall(unix.SYS_FCNTL, 3, unix.F_SETFD, 0); errno != 0 {
			forkFailed(p, stepHello, errno)
		}
	} else if p.hello != 0 {
		if _, _, errno := syscall.RawSyscall(unix.SYS_DUP3, p.hello, 3, 0); errno != 0 {
			forkFailed(p, stepHello, errno)
		}
	}
	// Again: a change of the kernel's uid or gid (a map whose 0 is not
	// the caller's id) clears the death signal.
	if _, _, errno := syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0); errno != 0 {
		forkFailed(p, stepPdeathsig, errno)
	}
	if !p.newPID {
		// The parent may have ended before the death signal was set.
		if ppid, _, _ := syscall.RawSyscall(unix.SYS_GETPPID, 0, 0, 0); ppid != p.parent {
			forkFailed(p, stepParentGone, syscall.ESRCH)
		}
	}
	probes.DefaultSignals(&p.sig)
	probes.RestoreSignals(&p.sig)
	_, _, errno = syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(p.path)), uintptr(unsafe.Pointer(&p.argv[0])), uintptr(unsafe.Pointer(&p.envv[0])))
	forkFailed(p, stepExec, errno)
}

// forkFailed sends the failed step and its errno, and exits.
//
//go:nosplit
//go:norace
func forkFailed(p *forkPlan, step uint32, errno syscall.Errno) {
	p.fail.Step, p.fail.Errno = step, uint32(errno)
	syscall.RawSyscall(unix.SYS_WRITE, p.failW, uintptr(unsafe.Pointer(&p.fail)), unsafe.Sizeof(p.fail))
	probes.RawExitGroup(127)
}
