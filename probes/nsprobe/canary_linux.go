//go:build linux

package nsprobe

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// canaryTimeout bounds a connection to a canary: one on the host's
// loopback answers at once, and one the child cannot reach fails at once
// (no route, no such socket).
const canaryTimeout = 2 * time.Second

// tryCanaries tries to reach each canary the host planted, leaving the
// token where it gets in, so that the host sees the visit itself. Being
// refused (EACCES, EPERM) by an object it can see counts as reaching it:
// the object is in the child's view, which is what isolation denies.
func tryCanaries(c *probes.Canaries, r *probes.Report) {
	if c == nil {
		return
	}
	r.Canaries = map[string]probes.CanaryAttempt{}
	note := func(name string, err error, what string) {
		reached := err == nil || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)
		detail := what + ": ok"
		if err != nil {
			detail = fmt.Sprintf("%s: %v", what, err)
		}
		r.Canaries[name] = probes.CanaryAttempt{Reached: reached, Detail: detail}
	}
	token := []byte(c.Token + "\n")
	if c.Abstract != "" {
		note(probes.CanaryAbstract, dialAndSay("unix", "@"+c.Abstract, token), "connect to @"+c.Abstract)
	}
	if c.TCP != "" {
		note(probes.CanaryTCP, dialAndSay("tcp", c.TCP, token), "connect to "+c.TCP)
	}
	if c.SysVKey != 0 {
		_, err := unix.SysvShmGet(int(c.SysVKey), 0, 0)
		note(probes.CanarySysV, err, fmt.Sprintf("shmget(%#x)", uint32(c.SysVKey)))
	}
	if c.Mqueue != "" {
		note(probes.CanaryMqueue, sendToMqueue(c.Mqueue, token), "mq_open(/"+c.Mqueue+")")
	}
	if c.File != "" {
		note(probes.CanaryMount, appendTo(c.File, token), "open "+c.File)
	}
	if c.PID != 0 {
		note(probes.CanaryProcess, unix.Kill(c.PID, 0), fmt.Sprintf("kill(%d, 0)", c.PID))
	}
}

// dialAndSay connects and writes the token.
func dialAndSay(network, addr string, token []byte) error {
	conn, err := net.DialTimeout(network, addr, canaryTimeout)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			var sysErr *os.SyscallError
			if errors.As(opErr.Err, &sysErr) {
				return sysErr.Err
			}
		}
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(canaryTimeout))
	_, err = conn.Write(token)
	return err
}

// sendToMqueue opens the POSIX queue name for writing, without creating
// it, and sends the token.
func sendToMqueue(name string, token []byte) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	defer unix.Close(int(fd))
	if _, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, fd, uintptr(unsafe.Pointer(&token[0])), uintptr(len(token)), 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// appendTo appends the token to an existing file.
func appendTo(path string, token []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			return pathErr.Err
		}
		return err
	}
	defer f.Close()
	_, err = f.Write(token)
	return err
}
