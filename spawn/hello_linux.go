package spawn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// helloSocket is the host's side of the hello handshake, one mechanism for
// the built-in launcher and every other: the child is passed one end of a
// unix socket as descriptor 3 (-hello-fd 3), says hello on it before it
// acts and waits for the answer. The kernel attaches the sender's pid as
// this process's pid namespace sees it (SCM_CREDENTIALS), whatever launcher
// and pid namespaces stand between them; while the child waits, the host
// reads it from its own /proc (probes.ReadOutside), then answers.
type helloSocket struct {
	fd     int
	ours   *os.File
	theirs *os.File
	done   chan helloResult
}

type helloResult struct {
	pid     int
	outside *probes.Outside
	err     error
}

// newHelloSocket makes the socket pair. Both ends are close-on-exec; the
// child's end reaches it only as an extra file (descriptor 3).
func newHelloSocket() (*helloSocket, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("make hello socket: %w", err)
	}
	h := &helloSocket{fd: fds[0], ours: os.NewFile(uintptr(fds[0]), "hello"), theirs: os.NewFile(uintptr(fds[1]), "hello-probe")}
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		h.close()
		return nil, fmt.Errorf("make hello socket: set SO_PASSCRED: %w", err)
	}
	return h, nil
}

// listen waits, on a goroutine of its own, for the child's hello; then
// reads the child from outside, calls held, and answers. Call it once the
// child started, after closing this process's copy of the child's end.
func (h *helloSocket) listen(held func(pid int)) {
	h.done = make(chan helloResult, 1)
	go func() { h.done <- awaitHello(h.fd, held) }()
}

// closeTheirs closes this process's copy of the child's end: once every
// process holding it is gone, a read still waiting for a hello ends.
func (h *helloSocket) closeTheirs() {
	if h.theirs != nil {
		h.theirs.Close()
		h.theirs = nil
	}
}

// result returns what listen learnt. Call it once the child is gone:
// shutting the socket down wakes a read still waiting for a hello that
// never came.
func (h *helloSocket) result() helloResult {
	_ = unix.Shutdown(h.fd, unix.SHUT_RDWR)
	return <-h.done
}

// close closes both ends.
func (h *helloSocket) close() {
	h.closeTheirs()
	h.ours.Close()
}

// runLaunched starts the probe through a launcher other than the built-in
// one and returns its report, with the hello handshake (helloSocket) the
// built-in launcher uses too.
func runLaunched(ctx context.Context, opts Options, timeout time.Duration) (*Result, error) {
	l := opts.Launcher
	name := l.Name()
	args, err := probeArgs(opts)
	if err != nil {
		return nil, &Error{Set: opts.Set, Op: "prepare probe", Err: err}
	}
	lc, err := l.Command(opts, args)
	if err != nil {
		// A kind whose trial failed for a reason the runtime did not
		// state as a refusal is that kind's failure, named first.
		var trial *TrialError
		errors.As(err, &trial)
		e := &Error{Set: opts.Set, Op: "prepare " + name, Err: err}
		if trial != nil {
			e.Kind = trial.Kind
		}
		return nil, e
	}
	if lc.Done != nil {
		defer lc.Done()
	}
	argv := lc.Argv
	if len(argv) == 0 {
		return nil, &Error{Set: opts.Set, Op: "prepare " + name, Err: errors.New("the launcher gave no command to run")}
	}

	hello, err := newHelloSocket()
	if err != nil {
		return nil, &Error{Set: opts.Set, Op: "make hello socket", Err: err}
	}
	defer hello.close()

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = opts.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.ExtraFiles = []*os.File{hello.theirs}
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if opts.CgroupDir != "" && !lc.OwnCgroup {
		// A launcher program (unshare, bwrap) is started in the cgroup,
		// as the built-in launcher's child is, and the cgroup namespace
		// it makes is rooted there.
		f, err := os.Open(opts.CgroupDir)
		if err != nil {
			return nil, &Error{Set: opts.Set, Op: "prepare " + name, Err: fmt.Errorf("open cgroup: %w", err)}
		}
		defer f.Close()
		attr.UseCgroupFD, attr.CgroupFD = true, int(f.Fd())
	}
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	all := argv
	if err := cmd.Start(); err != nil {
		return nil, &Error{Set: opts.Set, Op: "start " + name, Err: err, Args: all}
	}
	hello.closeTheirs()
	hello.listen(opts.WhileHeld)
	waitErr := cmd.Wait()
	h := hello.result()
	if waitErr != nil && ctx.Err() != nil {
		return nil, &Error{Set: opts.Set, Op: "wait for " + name, Err: fmt.Errorf("killed its process group after %s: %w", timeout, ctx.Err()), Stderr: stderr.String(), Args: all}
	}
	if waitErr != nil {
		return nil, &Error{Set: opts.Set, Op: "run the probe through " + name, Err: waitErr, Stderr: stderr.String(), Args: all}
	}
	report, err := probes.DecodeReport(&stdout)
	if err != nil {
		return nil, &Error{Set: opts.Set, Op: "read probe report", Err: err, Stderr: stderr.String(), Args: all}
	}
	if h.err != nil {
		return nil, &Error{Set: opts.Set, Op: "hear the probe's hello through " + name, Err: h.err, Stderr: stderr.String(), Args: all}
	}
	return &Result{Set: opts.Set, Report: report, PID: cmd.Process.Pid, HostPID: h.pid, Outside: h.outside, Args: all, Launcher: name}, nil
}

// awaitHello reads the probe's hello on fd, with the credentials the kernel
// attached, reads the probe from outside, calls held with its pid, and
// answers.
func awaitHello(fd int, held func(pid int)) helloResult {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return helloResult{err: fmt.Errorf("read hello: %w", err)}
		}
		if n == 0 {
			return helloResult{err: errors.New("read hello: the probe never said hello: it never ran, or whatever started it did not pass it descriptor 3")}
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) == 0 {
			return helloResult{err: fmt.Errorf("read hello: no credentials came with it: %v", err)} //nolint:errorlint // err may be nil here, which %w would print as %!w(<nil>)
		}
		cred, err := unix.ParseUnixCredentials(&msgs[0])
		if err != nil {
			return helloResult{err: fmt.Errorf("read hello credentials: %w", err)}
		}
		if cred.Pid <= 0 {
			return helloResult{err: fmt.Errorf("read hello: the kernel gave pid %d: the probe runs in no pid namespace this process can see", cred.Pid)}
		}
		res := helloResult{pid: int(cred.Pid), outside: probes.ReadOutside(int(cred.Pid), HasNSIoctls())}
		if held != nil {
			held(int(cred.Pid))
		}
		if _, err := unix.Write(fd, []byte{'g'}); err != nil {
			res.err = fmt.Errorf("answer hello: %w", err)
		}
		return res
	}
}
