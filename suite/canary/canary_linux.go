package canary

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// settle bounds how long Results waits for visits already queued on the
// listeners: they arrived before the child ended, so they are there.
const settle = 200 * time.Millisecond

// Planted is one child's set of canaries, from Plant until Remove.
type Planted struct {
	spec probes.Canaries

	abstract, tcp *listener
	shmID         int
	mqueue        string
	process       *exec.Cmd
	// The mount canary: base is a private tmpfs planted with the rest,
	// mount the tmpfs mounted below it while the child is held.
	base, mount string
	mounted     bool
	noMount     string
	failures    map[string]string
}

// Plant plants every canary for one child. What cannot be planted is
// reported by Results with the reason; an error means nothing is left
// planted.
func Plant(opts Options) (*Planted, error) {
	p := &Planted{shmID: -1, noMount: opts.NoMount, failures: map[string]string{}}
	p.spec.Token = "nsverify-" + randomHex(8)
	id := randomHex(6)
	var err error
	if p.abstract, err = listen("unix", "@nsverify-canary-"+id); err != nil {
		p.Remove()
		return nil, err
	}
	p.spec.Abstract = strings.TrimPrefix(p.abstract.addr, "@")
	if p.tcp, err = listen("tcp", "127.0.0.1:0"); err != nil {
		p.Remove()
		return nil, err
	}
	p.spec.TCP = p.tcp.addr
	key := int32(binary.NativeEndian.Uint32(randomBytes(4)) | 1)
	if p.shmID, err = unix.SysvShmGet(int(key), 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600); err != nil {
		p.shmID = -1
		p.Remove()
		return nil, fmt.Errorf("plant a SysV segment: %w", err)
	}
	p.spec.SysVKey = key
	name := "nsverify-canary-" + id
	// Whatever uid a sandbox runs the probe as may leave its token (a
	// refusal would count as reached with no visit the host can see);
	// only the host reads the queue.
	if err := probes.MqOpen(name, 0o622); err != nil {
		p.Remove()
		return nil, fmt.Errorf("plant a POSIX queue: %w", err)
	}
	p.mqueue, p.spec.Mqueue = name, name
	if opts.Probe != "" {
		if err := p.startProcess(opts.Probe, opts.ProbeLead); err != nil {
			p.Remove()
			return nil, err
		}
	} else {
		p.failures[probes.CanaryProcess] = "no probe was given to start as the host's process"
	}
	if opts.Mount {
		if err := p.plantMountBase(id); err != nil {
			p.Remove()
			return nil, err
		}
	} else if p.noMount == "" {
		p.noMount = "not asked for"
	}
	return p, nil
}

// Args returns the probe's flag that names the canaries.
func (p *Planted) Args() []string {
	return []string{"-" + probes.FlagCanaries, p.spec.String()}
}

// Spec is where the canaries are.
func (p *Planted) Spec() probes.Canaries { return p.spec }

// WhileHeld makes the mount canary: a tmpfs mounted, in the host's mount
// namespace, below the private base, once the child's mount namespace
// exists (the child waits after its hello). A child with a mount namespace
// of its own holds a copy of the base made before, which this mount never
// reaches; a child sharing the host's sees it.
func (p *Planted) WhileHeld(int) {
	if p.base == "" || p.mounted {
		return
	}
	if err := unix.Mount("nsverify-canary", p.mount, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=16k,mode=0755"); err != nil {
		p.failures[probes.CanaryMount] = fmt.Sprintf("mount the canary tmpfs on %s: %v", p.mount, err)
		return
	}
	p.mounted = true
	file := filepath.Join(p.mount, "canary")
	err := os.WriteFile(file, nil, 0o666)
	if err == nil {
		err = os.Chmod(file, 0o666)
	}
	if err != nil {
		p.failures[probes.CanaryMount] = fmt.Sprintf("make the canary file: %v", err)
	}
}

// Results returns each canary's outcome for the child whose report r is,
// judged by what the host saw where it can see a visit. Call it once the
// child has ended, before Remove.
func (p *Planted) Results(r *probes.Report) []Result {
	attempts := map[string]probes.CanaryAttempt{}
	if r != nil && r.Canaries != nil {
		attempts = r.Canaries
	}
	var out []Result
	add := func(name, where string, hostSaw *bool, hostText string) {
		res := Result{Name: name, Kind: probes.CanaryKinds[name], Where: where, Planted: true}
		if why, ok := p.failures[name]; ok {
			res.Planted, res.Reason = false, why
			out = append(out, res)
			return
		}
		a, tried := attempts[name]
		judgeOne(&res, a, tried, hostSaw, hostText)
		out = append(out, res)
	}
	saw := func(v bool) *bool { return &v }

	n := p.abstract.visits(p.spec.Token)
	add(probes.CanaryAbstract, "@"+p.spec.Abstract, saw(n > 0), visitText(n, "connections carrying the token", p.abstract.peers))
	n = p.tcp.visits(p.spec.Token)
	add(probes.CanaryTCP, p.spec.TCP, saw(n > 0), visitText(n, "connections carrying the token", nil))
	add(probes.CanarySysV, fmt.Sprintf("key %#x", uint32(p.spec.SysVKey)), nil, "")
	got, err := receiveAll(p.mqueue, p.spec.Token)
	if err != nil {
		p.failures[probes.CanaryMqueue] = err.Error()
	}
	add(probes.CanaryMqueue, "/"+p.mqueue, saw(got > 0), visitText(got, "messages carrying the token", nil))
	if p.base == "" {
		p.failures[probes.CanaryMount] = "not planted: " + p.noMount
	}
	fileVisits := 0
	if p.mounted {
		b, err := os.ReadFile(filepath.Join(p.mount, "canary"))
		if err != nil {
			p.failures[probes.CanaryMount] = fmt.Sprintf("read the canary file: %v", err)
		}
		fileVisits = bytes.Count(b, []byte(p.spec.Token))
	}
	add(probes.CanaryMount, p.spec.File, saw(fileVisits > 0), visitText(fileVisits, "lines carrying the token in the file", nil))
	where := "no process"
	if p.process != nil {
		where = "pid " + strconv.Itoa(p.spec.PID)
	}
	add(probes.CanaryProcess, where, nil, "")
	sortResults(out)
	return out
}

// visitText says what the host saw.
func visitText(n int, what string, peers func() []int) string {
	s := fmt.Sprintf("%d %s", n, what)
	if peers != nil {
		if pids := peers(); len(pids) > 0 {
			s += fmt.Sprintf(", from pids %v", pids)
		}
	}
	return s
}

// Remove takes away everything planted. It is safe to call twice.
func (p *Planted) Remove() {
	for _, l := range []*listener{p.abstract, p.tcp} {
		if l != nil {
			l.close()
		}
	}
	if p.shmID >= 0 {
		_, _ = unix.SysvShmCtl(p.shmID, unix.IPC_RMID, nil)
		p.shmID = -1
	}
	if p.mqueue != "" {
		_ = probes.MqUnlink(p.mqueue)
		p.mqueue = ""
	}
	if p.process != nil {
		_ = p.process.Process.Kill()
		_ = p.process.Wait()
		p.process = nil
	}
	if p.mounted {
		_ = unix.Unmount(p.mount, unix.MNT_DETACH)
		p.mounted = false
	}
	if p.base != "" {
		_ = unix.Unmount(p.base, unix.MNT_DETACH)
		_ = os.RemoveAll(p.base)
		p.base = ""
	}
}

// startProcess starts the probe as the host's process canary, and waits
// until it says its pid.
func (p *Planted) startProcess(probe string, lead []string) error {
	cmd := exec.Command(probe, append(slices.Clone(lead), "-"+probes.FlagDescendant)...)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("plant a host process: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("plant a host process: %w", err)
	}
	p.process = cmd
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("plant a host process: it never said its pid: %w", err)
	}
	if strings.TrimSpace(line) != strconv.Itoa(cmd.Process.Pid) {
		return fmt.Errorf("plant a host process: it says it is pid %q, and it was started as %d", strings.TrimSpace(line), cmd.Process.Pid)
	}
	p.spec.PID = cmd.Process.Pid
	return nil
}

// plantMountBase mounts a private tmpfs at a new directory, with an empty
// directory inside where WhileHeld mounts the canary. Private, so that a
// copy of it in a mount namespace made later receives nothing mounted
// below it here, whatever the propagation of the host's root.
func (p *Planted) plantMountBase(id string) error {
	base, err := os.MkdirTemp("", "nsverify-canary-"+id+"-")
	if err != nil {
		return fmt.Errorf("plant the mount canary: %w", err)
	}
	if err := unix.Mount("nsverify-canary", base, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=16k,mode=0755"); err != nil {
		_ = os.Remove(base)
		return fmt.Errorf("plant the mount canary: mount tmpfs on %s: %w", base, err)
	}
	p.base = base
	if err := unix.Mount("", base, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("plant the mount canary: make %s private: %w", base, err)
	}
	p.mount = filepath.Join(base, "m")
	if err := os.Mkdir(p.mount, 0o755); err != nil {
		return fmt.Errorf("plant the mount canary: %w", err)
	}
	p.spec.File = filepath.Join(p.mount, "canary")
	return nil
}

// listener accepts visits and counts the lines that carry a token.
type listener struct {
	addr string
	ln   net.Listener
	done chan struct{}

	mu    sync.Mutex
	lines []string
	pids  []int
}

func listen(network, addr string) (*listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("plant a %s listener at %s: %w", network, addr, err)
	}
	l := &listener{addr: ln.Addr().String(), ln: ln, done: make(chan struct{})}
	go l.serve()
	return l, nil
}

func (l *listener) serve() {
	defer close(l.done)
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.read(conn)
	}
}

// read takes the visitor's line, and for a unix socket the pid the kernel
// gives of its peer.
func (l *listener) read(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if uc, ok := conn.(*net.UnixConn); ok {
		if raw, err := uc.SyscallConn(); err == nil {
			_ = raw.Control(func(fd uintptr) {
				if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
					l.mu.Lock()
					l.pids = append(l.pids, int(cred.Pid))
					l.mu.Unlock()
				}
			})
		}
	}
	b, _ := io.ReadAll(io.LimitReader(conn, 256))
	l.mu.Lock()
	l.lines = append(l.lines, strings.TrimSpace(string(b)))
	l.mu.Unlock()
}

// visits waits for the visits already queued, stops listening, and counts
// those that carried token.
func (l *listener) visits(token string) int {
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if line == token {
			n++
		}
	}
	return n
}

func (l *listener) peers() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.pids...)
}

// stop lets visits queued before now be accepted, then closes.
func (l *listener) stop() {
	type deadliner interface{ SetDeadline(time.Time) error }
	if d, ok := l.ln.(deadliner); ok {
		_ = d.SetDeadline(time.Now().Add(settle))
	} else {
		_ = l.ln.Close()
	}
	<-l.done
	_ = l.ln.Close()
}

func (l *listener) close() {
	_ = l.ln.Close()
	<-l.done
}

// receiveAll empties the queue name and counts the messages that are
// token.
func receiveAll(name, token string) (int, error) {
	path, err := syscall.BytePtrFromString(name)
	if err != nil {
		return 0, err
	}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(path)), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0, 0, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("open the canary queue: %w", errno)
	}
	defer unix.Close(int(fd))
	buf := make([]byte, 8192)
	n := 0
	for {
		got, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
		if errors.Is(errno, unix.EAGAIN) {
			return n, nil
		}
		if errno != 0 {
			return n, fmt.Errorf("read the canary queue: %w", errno)
		}
		if strings.TrimSpace(string(buf[:got])) == token {
			n++
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("canary: read random bytes: %v", err))
	}
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }
