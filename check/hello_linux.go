package check

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// helloListener is the host's unix socket at {hello}. The first process
// that connects and says the probe's token is taken for the probe (others
// are turned away): the kernel says who it is
// (SO_PEERCRED, its pid as this process's pid namespace sees it), the host
// reads it from /proc while it waits for the answer, and its report comes
// back on the same connection.
type helloListener struct {
	path string
	// token is what the probe says with its hello (-hello-token).
	token string
	ln    *net.UnixListener
	done  chan heard
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
	token, err := randomToken()
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	return &helloListener{path: path, token: token, ln: ln, done: make(chan heard, 1)}, nil
}

// randomToken is a token no other process can guess.
func randomToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make the hello's token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// serve waits for the probe on a goroutine of its own; held is called
// with its pid while it waits, after the host read it. The report is read
// until deadline.
func (h *helloListener) serve(held func(pid int), deadline time.Time, withOwners bool) {
	go func() { h.done <- h.accept(held, deadline, withOwners) }()
}

func (h *helloListener) accept(held func(pid int), deadline time.Time, withOwners bool) heard {
	var strangers []string
	for {
		conn, err := h.ln.AcceptUnix()
		if err != nil {
			err = fmt.Errorf("wait for the probe's hello: %w", err)
			if len(strangers) > 0 {
				err = fmt.Errorf("%w; turned away, without the token: %s", err, strings.Join(strangers, ", "))
			}
			return heard{err: err}
		}
		res, stranger := h.hear(conn, held, deadline, withOwners)
		_ = conn.Close()
		if stranger == "" {
			return res
		}
		// Anyone may connect to the socket; only the probe knows the
		// token. Another is turned away, and the wait goes on.
		strangers = append(strangers, stranger)
	}
}

// helloWait bounds how long one connection may take to say its hello,
// so that a stranger who says nothing cannot hold the socket.
const helloWait = 5 * time.Second

// hear serves one connection. stranger, when not empty, says who
// connected without the probe's token.
func (h *helloListener) hear(conn *net.UnixConn, held func(pid int), deadline time.Time, withOwners bool) (res heard, stranger string) {
	var cred *unix.Ucred
	raw, err := conn.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
		if cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return heard{err: fmt.Errorf("ask the kernel who connected to the hello socket: %w", err)}, ""
	}
	who := fmt.Sprintf("pid %d, uid %d", cred.Pid, cred.Uid)
	helloBy := time.Now().Add(helloWait)
	if deadline.Before(helloBy) {
		helloBy = deadline
	}
	_ = conn.SetDeadline(helloBy)
	if err := readHello(conn, h.token); err != nil {
		return heard{}, fmt.Sprintf("%s (%v)", who, err)
	}
	// The probe: only now is the socket closed to others.
	_ = h.ln.Close()
	_ = conn.SetDeadline(deadline)
	res = heard{hello: true, pid: int(cred.Pid), uid: cred.Uid}
	if cred.Pid <= 0 {
		res.err = errors.New("read the probe's hello: the kernel gave pid 0: the probe runs in a pid namespace nsverify cannot see; run nsverify where the sandbox's host is, not inside a container")
		return res, ""
	}
	res.outside = probes.ReadOutside(res.pid, withOwners)
	if held != nil {
		held(res.pid)
	}
	if _, err := conn.Write([]byte{'g'}); err != nil {
		res.err = fmt.Errorf("answer the probe's hello: %w", err)
		return res, ""
	}
	res.report, err = probes.DecodeReport(conn)
	if err != nil {
		res.err = fmt.Errorf("read the probe's report from the hello socket: %w", err)
	}
	return res, ""
}

// readHello reads one hello, "h", the token and a newline, and fails
// unless the token is the one given.
func readHello(conn *net.UnixConn, token string) error {
	// One byte at a time: nothing after the newline may be consumed, the
	// report follows it.
	line := make([]byte, 0, probes.HelloTokenMax+2)
	var b [1]byte
	for len(line) < cap(line) {
		if _, err := conn.Read(b[:]); err != nil {
			return fmt.Errorf("read the hello: %w", err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	if len(line) == 0 || line[0] != 'h' {
		return fmt.Errorf("not a hello: %q", line)
	}
	if subtle.ConstantTimeCompare(line[1:], []byte(token)) != 1 {
		return errors.New("a hello without the probe's token")
	}
	return nil
}

// stop closes the listener, which ends a wait for a hello that never came.
func (h *helloListener) stop() { _ = h.ln.Close() }
