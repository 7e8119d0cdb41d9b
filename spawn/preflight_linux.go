package spawn

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// userNSChild is what the preflight's child in a new user namespace reads,
// prepared before the fork: after it, the child may only make raw system
// calls (see probes' RawFork).
type userNSChild struct {
	sig probes.SigState
	// name is the hostname the child sets: the one this process has, so
	// that the call changes nothing, wherever it lands. It ends in a NUL
	// that is not passed, so that it has a first byte to point at even
	// when empty.
	name []byte
}

// tryUserNSCapability clones a child into a new user namespace and a new
// uts namespace that user namespace owns, where the child sets the
// hostname: the one call that needs a capability there (CAP_SYS_ADMIN
// over the uts namespace) and has no effect outside. The child runs no
// program, so it keeps the full set of capabilities a new user namespace
// gives its first process whatever the id maps; it exits with the
// sethostname's errno, 0 on success. It dies with this process and within
// detectTimeout.
func tryUserNSCapability() userNSTrial {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return userNSTrial{err: fmt.Errorf("read own hostname: %w", err)}
	}
	c := &userNSChild{sig: probes.NewSigState(), name: append([]byte(unix.ByteSliceToString(uts.Nodename[:])), 0)}
	// The child's parent death signal follows the thread that forks it,
	// and the mask saved and put back must be this thread's.
	runtime.LockOSThread()
	syscall.ForkLock.Lock()
	rawPID, errno := forkUserNSChild(c)
	syscall.ForkLock.Unlock()
	runtime.UnlockOSThread()
	runtime.KeepAlive(c)
	if errno != 0 {
		return userNSTrial{err: fmt.Errorf("clone(CLONE_NEWUSER|CLONE_NEWUTS): %w", errno)}
	}
	pid := int(rawPID)
	waited := make(chan struct{})
	defer close(waited)
	go func() {
		select {
		case <-time.After(detectTimeout):
			_ = unix.Kill(pid, unix.SIGKILL)
		case <-waited:
		}
	}()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return userNSTrial{cloned: true, err: fmt.Errorf("wait for the child in a new user namespace: %w", err)}
		}
		break
	}
	switch {
	case ws.Signaled():
		return userNSTrial{cloned: true, err: fmt.Errorf("the child in a new user namespace was killed by %v before it set the hostname", ws.Signal())}
	case ws.ExitStatus() != 0:
		return userNSTrial{cloned: true, err: fmt.Errorf("sethostname: %w", syscall.Errno(ws.ExitStatus()))}
	}
	return userNSTrial{cloned: true}
}

// forkUserNSChild forks into new user and uts namespaces; the child runs
// userNSChildMain and never returns.
//
//go:nosplit
//go:norace
func forkUserNSChild(c *userNSChild) (uintptr, syscall.Errno) {
	probes.BlockSignals(&c.sig)
	pid, errno := probes.RawFork(unix.CLONE_NEWUSER | unix.CLONE_NEWUTS)
	if errno == 0 && pid == 0 {
		userNSChildMain(c)
	}
	probes.RestoreSignals(&c.sig)
	return pid, errno
}

// userNSChildMain sets the hostname and exits with the errno.
//
//go:nosplit
//go:norace
func userNSChildMain(c *userNSChild) {
	syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
	_, _, errno := syscall.RawSyscall(unix.SYS_SETHOSTNAME, uintptr(unsafe.Pointer(&c.name[0])), uintptr(len(c.name)-1), 0)
	probes.RawExitGroup(uintptr(errno))
}
