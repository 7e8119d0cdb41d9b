//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// timensPlan is everything the time namespace stage needs, prepared before
// the fork: after it, the stage may only make raw system calls, never
// allocate, grow its stack or call into the Go runtime, which it shares
// with no other thread (a forked copy of a multi-threaded process).
type timensPlan struct {
	flags       uintptr
	offsetsPath *byte
	offsets     []byte
	statPath    *byte
	exe         *byte
	argv, envv  []*byte

	stdoutR, stdoutW *os.File
	statusR, statusW *os.File

	// Filled in before the fork and read by the stage's own copy.
	allSignals, oldMask uint64
	defaultAction       [4]uint64
	// Written by the stage in its own copy.
	rec     stageRecord
	stat    [1024]byte
	wstatus int32
}

// sigsetSize is the kernel's sigset_t size on every architecture Go builds
// this probe for but mips (64 signals).
const sigsetSize = 8

func newTimensPlan(flags uintptr, offsets, exe string, argv, envv []string) (*timensPlan, error) {
	p := &timensPlan{flags: flags, offsets: []byte(offsets), allSignals: ^uint64(0)}
	var err error
	if p.offsetsPath, err = syscall.BytePtrFromString("/proc/self/timens_offsets"); err != nil {
		return nil, fmt.Errorf("prepare time namespace stage: %w", err)
	}
	if p.statPath, err = syscall.BytePtrFromString("/proc/self/stat"); err != nil {
		return nil, fmt.Errorf("prepare time namespace stage: %w", err)
	}
	if p.exe, err = syscall.BytePtrFromString(exe); err != nil {
		return nil, fmt.Errorf("prepare time namespace stage: %w", err)
	}
	if p.argv, err = syscall.SlicePtrFromStrings(argv); err != nil {
		return nil, fmt.Errorf("prepare time namespace stage arguments: %w", err)
	}
	if p.envv, err = syscall.SlicePtrFromStrings(envv); err != nil {
		return nil, fmt.Errorf("prepare time namespace stage environment: %w", err)
	}
	if p.stdoutR, p.stdoutW, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("prepare observer output: %w", err)
	}
	if p.statusR, p.statusW, err = os.Pipe(); err != nil {
		p.close()
		return nil, fmt.Errorf("prepare stage status: %w", err)
	}
	return p, nil
}

// close closes every pipe end still open.
func (p *timensPlan) close() {
	for _, f := range []*os.File{p.stdoutR, p.stdoutW, p.statusR, p.statusW} {
		if f != nil {
			f.Close()
		}
	}
}

// closeChildEnds closes this process's copies of the write ends, so that
// reading sees the end once the stage and the observer are gone.
func (p *timensPlan) closeChildEnds() {
	p.stdoutW.Close()
	p.statusW.Close()
	p.stdoutW, p.statusW = nil, nil
}

// start forks the stage and returns its pid. Every signal is blocked on
// this thread across the fork, so the stage, which inherits the mask, never
// runs one of the runtime's handlers.
func (p *timensPlan) start() (int, error) {
	pid, errno := forkStage(p, p.stdoutW.Fd(), p.statusW.Fd())
	if errno != 0 {
		return 0, fmt.Errorf("fork the time namespace stage: %w", errno)
	}
	return int(pid), nil
}

// forkStage forks; the child runs the stage and never returns.
//
//go:nosplit
//go:norace
func forkStage(p *timensPlan, stdoutFD, statusFD uintptr) (uintptr, syscall.Errno) {
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&p.allSignals)), uintptr(unsafe.Pointer(&p.oldMask)), sigsetSize, 0, 0)
	pid, errno := rawFork()
	if errno == 0 && pid == 0 {
		stage(p, stdoutFD, statusFD)
	}
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&p.oldMask)), 0, sigsetSize, 0, 0)
	return pid, errno
}

// rawFork is fork(2) by clone: a copy of the address space, one thread.
//
//go:nosplit
//go:norace
func rawFork() (uintptr, syscall.Errno) {
	var pid uintptr
	var errno syscall.Errno
	if runtime.GOARCH == "s390x" {
		pid, _, errno = syscall.RawSyscall6(unix.SYS_CLONE, 0, uintptr(unix.SIGCHLD), 0, 0, 0, 0)
	} else {
		pid, _, errno = syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	}
	return pid, errno
}

// stage is the forked, single-threaded stage: unshare, write the offsets,
// fork the observer, report, wait for it and exit with its status.
//
//go:nosplit
//go:norace
func stage(p *timensPlan, stdoutFD, statusFD uintptr) {
	syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
	syscall.RawSyscall(unix.SYS_DUP3, stdoutFD, 1, 0)
	var fd, pid, n uintptr
	dirfd := unix.AT_FDCWD
	var errno syscall.Errno
	if _, _, errno = syscall.RawSyscall(unix.SYS_UNSHARE, p.flags, 0, 0); errno != 0 {
		p.rec.Step = stageFailedUnshare
		goto failed
	}
	fd, _, errno = syscall.RawSyscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p.offsetsPath)), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
	if errno != 0 {
		p.rec.Step = stageFailedOpen
		goto failed
	}
	_, _, errno = syscall.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p.offsets[0])), uintptr(len(p.offsets)))
	syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	if errno != 0 {
		p.rec.Step = stageFailedWrite
		goto failed
	}
	// The stage's own thread count, read where it matters: old kernels
	// refuse any new thread from here on.
	fd, _, errno = syscall.RawSyscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(p.statPath)), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	if errno == 0 {
		n, _, _ = syscall.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&p.stat[0])), uintptr(len(p.stat)))
		syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	}
	pid, errno = rawFork()
	if errno != 0 {
		p.rec.Step = stageFailedFork
		goto failed
	}
	if pid == 0 {
		observerExec(p)
	}
	p.rec.Step, p.rec.PID = stageStarted, uint32(pid)
	syscall.RawSyscall(unix.SYS_WRITE, statusFD, uintptr(unsafe.Pointer(&p.rec)), unsafe.Sizeof(p.rec))
	if n > 0 && n <= uintptr(len(p.stat)) {
		syscall.RawSyscall(unix.SYS_WRITE, statusFD, uintptr(unsafe.Pointer(&p.stat[0])), n)
	}
	syscall.RawSyscall(unix.SYS_CLOSE, statusFD, 0, 0)
	for {
		_, _, errno = syscall.RawSyscall6(unix.SYS_WAIT4, pid, uintptr(unsafe.Pointer(&p.wstatus)), 0, 0, 0, 0)
		if errno != syscall.EINTR {
			break
		}
	}
	if errno != 0 {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 1, 0, 0)
	}
	if p.wstatus&0x7f == 0 {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, uintptr(p.wstatus>>8&0xff), 0, 0)
	}
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, uintptr(128+p.wstatus&0x7f), 0, 0)

failed:
	p.rec.Errno = uint32(errno)
	syscall.RawSyscall(unix.SYS_WRITE, statusFD, uintptr(unsafe.Pointer(&p.rec)), unsafe.Sizeof(p.rec))
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, 1, 0, 0)
}

// observerExec runs in the observer, born inside the new time namespace:
// default signal handlers and the old mask back, then exec.
//
//go:nosplit
//go:norace
func observerExec(p *timensPlan) {
	syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
	for sig := uintptr(1); sig <= 64; sig++ {
		if sig != uintptr(unix.SIGKILL) && sig != uintptr(unix.SIGSTOP) {
			syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&p.defaultAction)), 0, sigsetSize, 0, 0)
		}
	}
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&p.oldMask)), 0, sigsetSize, 0, 0)
	syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(p.exe)), uintptr(unsafe.Pointer(&p.argv[0])), uintptr(unsafe.Pointer(&p.envv[0])))
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
}
