package probes

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The pieces of a raw fork, which the probe's stages and spawn's start of
// a probe in user and time namespaces both make: a forked copy of a
// multi-threaded Go process owns one thread and a runtime that believes it
// owns many. Between the fork and exec or exit it may only make raw system
// calls: never allocate, grow its stack, take a lock or run a signal
// handler. Every function here is nosplit for that reason, and everything
// the child reads is prepared before the fork.

// SigsetSize is the kernel's sigset_t size on every architecture Go builds
// for but mips (64 signals).
const SigsetSize = 8

// SigState is the signal mask saved around a raw fork. Every signal is
// blocked on the forking thread across the fork, so the child, which
// inherits the mask, never runs one of the runtime's handlers; the child
// sets every handler to the default before it puts the mask back (see
// DefaultSignals).
type SigState struct {
	allSignals, oldMask uint64
	defaultAction       [4]uint64
}

// NewSigState returns a state ready for BlockSignals.
func NewSigState() SigState { return SigState{allSignals: ^uint64(0)} }

// BlockSignals blocks every signal on this thread and saves the old mask.
//
//go:nosplit
//go:norace
func BlockSignals(s *SigState) {
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&s.allSignals)), uintptr(unsafe.Pointer(&s.oldMask)), SigsetSize, 0, 0)
}

// RestoreSignals puts the saved mask back.
//
//go:nosplit
//go:norace
func RestoreSignals(s *SigState) {
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&s.oldMask)), 0, SigsetSize, 0, 0)
}

// DefaultSignals sets every signal's handler to the default, in a child
// about to exec: a signal arriving between its mask's restore and the exec
// must not run the runtime's handler in a copy the runtime does not know.
//
//go:nosplit
//go:norace
func DefaultSignals(s *SigState) {
	for sig := uintptr(1); sig <= 64; sig++ {
		if sig != uintptr(unix.SIGKILL) && sig != uintptr(unix.SIGSTOP) {
			syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&s.defaultAction)), 0, SigsetSize, 0, 0)
		}
	}
}

// RawFork is fork(2) by clone, with flags (CLONE_NEW* and the like) added:
// a copy of the address space, one thread.
//
//go:nosplit
//go:norace
func RawFork(flags uintptr) (uintptr, syscall.Errno) {
	var pid uintptr
	var errno syscall.Errno
	if runtime.GOARCH == "s390x" {
		pid, _, errno = syscall.RawSyscall6(unix.SYS_CLONE, 0, flags|uintptr(unix.SIGCHLD), 0, 0, 0, 0)
	} else {
		pid, _, errno = syscall.RawSyscall6(unix.SYS_CLONE, flags|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	}
	return pid, errno
}

// RawExitGroup ends the raw child with code.
//
//go:nosplit
//go:norace
func RawExitGroup(code uintptr) {
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, code, 0, 0)
}

// RawWriteFile writes data to the file at path with raw system calls.
//
//go:nosplit
//go:norace
func RawWriteFile(path *byte, data []byte) syscall.Errno {
	fd, _, errno := syscall.RawSyscall6(unix.SYS_OPENAT, uintptr(AtFDCWD), uintptr(unsafe.Pointer(path)), unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	_, _, errno = syscall.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)))
	syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	return errno
}

// AtFDCWD is AT_FDCWD in a variable: converting the negative constant to
// a uintptr would not compile.
var AtFDCWD = unix.AT_FDCWD
