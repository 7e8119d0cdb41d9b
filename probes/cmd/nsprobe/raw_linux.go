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

// The pieces every raw forked child of the probe shares: the stage that
// enters namespaces before the observer (stage_linux.go) and the setns and
// nesting children of the confinement actions (confine_raw_linux.go).
//
// A forked copy of a multi-threaded Go process owns one thread and a
// runtime that believes it owns many. Between the fork and exec or exit it
// may only make raw system calls: never allocate, grow its stack, take a
// lock or run a signal handler. Every function here is nosplit for that
// reason, and everything the child reads is prepared before the fork.

// sigsetSize is the kernel's sigset_t size on every architecture Go builds
// this probe for but mips (64 signals).
const sigsetSize = 8

// sigState is the signal mask saved around a raw fork. Every signal is
// blocked on the forking thread across the fork, so the child, which
// inherits the mask, never runs one of the runtime's handlers.
type sigState struct {
	allSignals, oldMask uint64
}

func newSigState() sigState { return sigState{allSignals: ^uint64(0)} }

// blockSignals blocks every signal on this thread and saves the old mask.
//
//go:nosplit
//go:norace
func blockSignals(s *sigState) {
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&s.allSignals)), uintptr(unsafe.Pointer(&s.oldMask)), sigsetSize, 0, 0)
}

// restoreSignals puts the saved mask back.
//
//go:nosplit
//go:norace
func restoreSignals(s *sigState) {
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&s.oldMask)), 0, sigsetSize, 0, 0)
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

// rawExitGroup ends the raw child with code.
//
//go:nosplit
//go:norace
func rawExitGroup(code uintptr) {
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, code, 0, 0)
}

// rawWaitExit waits for pid and exits with its status, as a shell does:
// the exit code, or 128 plus the signal that killed it.
//
//go:nosplit
//go:norace
func rawWaitExit(pid uintptr, wstatus *int32) {
	var errno syscall.Errno
	for {
		_, _, errno = syscall.RawSyscall6(unix.SYS_WAIT4, pid, uintptr(unsafe.Pointer(wstatus)), 0, 0, 0, 0)
		if errno != syscall.EINTR {
			break
		}
	}
	if errno != 0 {
		rawExitGroup(1)
	}
	if *wstatus&0x7f == 0 {
		rawExitGroup(uintptr(*wstatus >> 8 & 0xff))
	}
	rawExitGroup(uintptr(128 + *wstatus&0x7f))
}

// writeRaw writes data to the file at path with raw system calls.
//
//go:nosplit
//go:norace
func writeRaw(path *byte, data []byte) syscall.Errno {
	fd, _, errno := syscall.RawSyscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(path)), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	_, _, errno = syscall.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)))
	syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	return errno
}

// atFDCWD is AT_FDCWD in a variable: converting the negative constant to
// a uintptr would not compile.
var atFDCWD = unix.AT_FDCWD

// readFull reads len(buf) bytes, or fails saying how many came.
func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			return n, fmt.Errorf("got %d of %d bytes: %w", n, len(buf), err)
		}
	}
	return n, nil
}
