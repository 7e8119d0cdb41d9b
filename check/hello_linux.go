package check

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// helloListener is the host's unix socket at {hello}. The first process
// that connects is taken for the probe: the kernel says who it is
// (SO_PEERCRED, its pid as this process's pid namespace sees it), the host
// reads it from /proc while it waits for the answer, and its report comes
// back on the same connection.
type helloListener struct {
	path string
	ln   *net.UnixListener
	done chan heard
}

// heard is what the listener learnt.
type heard struct {
	// hello is true once a process connected and said hello.
	hello   bool
	pid     int
	uid     uint32
	outside *probes.Outside
	report  *probes.Report
	err     error
}

// listenHello binds the socket at path, open to every user: a sandbox
// may run the probe as another uid than nsverify's.
func listenHello(path string) (*helloListener, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on the hello socket: %w", err)
	}
	if err := os.Chmod(path, 0o777); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("open the hello socket to every user: %w", err)
	}
	return &helloListener{path: path, ln: ln, done: make(chan heard, 1)}, nil
}

// serve waits for the probe on a goroutine of its own; held is called
// with its pid while it waits, after the host read it. The report is read
// until deadline.
func (h *helloListener) serve(held func(pid int), deadline time.Time, withOwners bool) {
	go func() { h.done <- h.accept(held, deadline, withOwners) }()
}

func (h *helloListener) accept(held func(pid int), deadline time.Time, withOwners bool) heard {
	conn, err := h.ln.AcceptUnix()
	if err != nil {
		return heard{err: fmt.Errorf("wait for the probe's hello: %w", err)}
	}
	// Only the first is the probe; nothing else is waited for.
	_ = h.ln.Close()
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(deadline)
	var cred *unix.Ucred
	raw, err := conn.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
		if cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return heard{err: fmt.Errorf("ask the kernel who connected to the hello socket: %w", err)}
	}
	var b [1]byte
	if n, err := conn.Read(b[:]); n != 1 || b[0] != 'h' {
		return heard{err: fmt.Errorf("read the probe's hello: got %q: %v", b[:n], err)} //nolint:errorlint // err may be nil here
	}
	res := heard{hello: true, pid: int(cred.Pid), uid: cred.Uid}
	if cred.Pid <= 0 {
		res.err = errors.New("read the probe's hello: the kernel gave pid 0: the probe runs in a pid namespace nsverify cannot see; run nsverify where the sandbox's host is, not inside a container")
		return res
	}
	res.outside = probes.ReadOutside(res.pid, withOwners)
	if held != nil {
		held(res.pid)
	}
	if _, err := conn.Write([]byte{'g'}); err != nil {
		res.err = fmt.Errorf("answer the probe's hello: %w", err)
		return res
	}
	res.report, err = probes.DecodeReport(conn)
	if err != nil {
		res.err = fmt.Errorf("read the probe's report from the hello socket: %w", err)
	}
	return res
}

// stop closes the listener, which ends a wait for a hello that never came.
func (h *helloListener) stop() { _ = h.ln.Close() }
