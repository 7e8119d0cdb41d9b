package nsprobe

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// sayHello sends one byte on the unix socket fd and waits for the caller's
// answer, then closes fd.
//
// The caller set SO_PASSCRED on its end, so the kernel attaches this
// process's credentials to the byte, with the pid translated into the
// caller's pid namespace: the caller learns the probe's pid as it sees it,
// whatever launcher (unshare, bwrap, an OCI runtime) stood between them and
// whatever pid namespace the probe is in. Until it answers, the probe has
// done nothing, so the caller can look at it from outside, alive.
func sayHello(fd int) error {
	defer unix.Close(fd)
	if err := unix.Sendmsg(fd, []byte{'h'}, nil, nil, 0); err != nil {
		return fmt.Errorf("say hello on descriptor %d: %w", fd, err)
	}
	var answer [1]byte
	n, err := unix.Read(fd, answer[:])
	if err != nil {
		return fmt.Errorf("wait for the caller's answer on descriptor %d: %w", fd, err)
	}
	if n == 0 {
		return fmt.Errorf("wait for the caller's answer on descriptor %d: the caller closed it", fd)
	}
	return nil
}
