//go:build linux

package suite

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// holderEnv, when set, makes this test binary hold the namespaces it was
// cloned into instead of running the suite: it does the actions the value
// names, prints one line of JSON and waits for its stdin to close. The
// join specs join the namespaces of such a holder.
const holderEnv = "NSVERIFY_HOLDER"

var _ = role(holderEnv, func(v string) int { return hold(v, os.Stdin, os.Stdout) })

// holdActions are what a holder does in its namespaces before it waits.
type holdActions struct {
	Hostname string `json:"hostname,omitempty"`
	MsgKey   int32  `json:"msg_key,omitempty"`
	Link     string `json:"link,omitempty"`
	// Echo serves UDP echo on port 7 of every address of the holder's
	// network namespace until it exits.
	Echo bool `json:"echo,omitempty"`
	// Host holds the host's namespaces, where the holder refuses to act.
	Host map[string]probes.NSID `json:"host,omitempty"`
}

// holdReady is the holder's one line: an error, or nothing.
type holdReady struct {
	Error string `json:"error,omitempty"`
}

// hold runs in the holder. Each action is done only where the holder's
// namespace of its kind is not the host's (the suite passes its
// identities), so a holder cloned without a flag never changes the host.
func hold(spec string, stdin io.Reader, stdout io.Writer) int {
	var a holdActions
	err := json.Unmarshal([]byte(spec), &a)
	if err == nil {
		err = holdAct(a)
	}
	ready := holdReady{}
	if err != nil {
		ready.Error = err.Error()
	}
	if err := json.NewEncoder(stdout).Encode(ready); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, stdin)
	return 0
}

func holdAct(a holdActions) error {
	newNS := func(kind string) error {
		own, err := probes.StatNSID("/proc/self/ns/" + kind)
		if err != nil {
			return fmt.Errorf("read own %s namespace: %w", kind, err)
		}
		hostNS, ok := a.Host[kind]
		if !ok {
			return fmt.Errorf("hold: the host's %s namespace was not given; the holder changes nothing it cannot compare", kind)
		}
		if own == hostNS {
			return fmt.Errorf("hold: the %s namespace is the host's; the holder was cloned without it and changes nothing", kind)
		}
		return nil
	}
	if a.Hostname != "" {
		if err := newNS("uts"); err != nil {
			return err
		}
		if err := unix.Sethostname([]byte(a.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if a.MsgKey != 0 {
		if err := newNS("ipc"); err != nil {
			return err
		}
		if _, err := probes.MsgGet(a.MsgKey, unix.IPC_CREAT|unix.IPC_EXCL|0o600); err != nil {
			return fmt.Errorf("create queue: %w", err)
		}
	}
	if a.Link != "" {
		if err := newNS("net"); err != nil {
			return err
		}
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a.Link}, PeerName: a.Link + "p"}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("add link %s: %w", a.Link, err)
		}
	}
	if a.Echo {
		if err := newNS("net"); err != nil {
			return err
		}
		conn, err := net.ListenPacket("udp", ":7")
		if err != nil {
			return fmt.Errorf("listen for udp echo: %w", err)
		}
		go serveEcho(conn)
	}
	return nil
}

// serveEcho sends every datagram back where it came from.
func serveEcho(conn net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		_, _ = conn.WriteTo(buf[:n], from)
	}
}

// holderDeadline bounds the wait for a holder to say it is ready: a
// deadline, generous for a loaded machine, not a timing.
const holderDeadline = 30 * time.Second

// Holder is a process of the suite that holds namespaces for a spec.
type Holder struct {
	PID  int
	Set  spawn.Set
	Acts holdActions
}

// StartHolder starts a holder cloned into set (with uid and gid maps when
// set has user) that does acts there. It is stopped, by closing its stdin
// and, past a deadline, by SIGKILL to its pid, when the spec ends.
func StartHolder(set spawn.Set, acts holdActions, uidMap, gidMap []spawn.IDMap) *Holder {
	GinkgoHelper()
	needsCreate(set)
	needsKinds(set)
	acts.Host = host.NS
	spec, err := json.Marshal(acts)
	Expect(err).NotTo(HaveOccurred(), "%s: encode the holder's actions", set)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{holderEnv + "=" + string(spec)}
	attr := &syscall.SysProcAttr{Cloneflags: set.CloneFlags(), Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if set.Has(spawn.User) {
		attr.UidMappings, attr.GidMappings = sysProcMaps(uidMap), sysProcMaps(gidMap)
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	cmd.SysProcAttr = attr
	stdin, err := cmd.StdinPipe()
	Expect(err).NotTo(HaveOccurred(), "%s: pipe to the holder", set)
	stdout, err := cmd.StdoutPipe()
	Expect(err).NotTo(HaveOccurred(), "%s: pipe from the holder", set)
	cmd.Stderr = GinkgoWriter
	Expect(cmd.Start()).To(Succeed(), "%s: start a holder", set)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	DeferCleanup(func() {
		stdin.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
	}()
	var ready holdReady
	select {
	case l := <-line:
		Expect(json.Unmarshal([]byte(l), &ready)).To(Succeed(), "%s: read the holder's line %q", set, l)
	case <-time.After(holderDeadline):
		Fail(fmt.Sprintf("%s: the holder did not say it was ready within %s", set, holderDeadline))
	}
	Expect(ready.Error).To(BeEmpty(), "%s: the holder failed", set)
	return &Holder{PID: cmd.Process.Pid, Set: set, Acts: acts}
}

// NS returns the identity of the holder's namespace of kind, read from
// the host.
func (h *Holder) NS(kind spawn.Kind) probes.NSID {
	GinkgoHelper()
	id, err := probes.StatNSID(h.Path(kind))
	Expect(err).NotTo(HaveOccurred(), "%s: read the holder's namespace", kind)
	return id
}

// Path is where the host finds the holder's namespace of kind.
func (h *Holder) Path(kind spawn.Kind) string {
	return "/proc/" + strconv.Itoa(h.PID) + "/ns/" + string(kind)
}

func sysProcMaps(maps []spawn.IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(maps))
	for i, m := range maps {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.Inside), HostID: int(m.Outside), Size: int(m.Count)}
	}
	return out
}
