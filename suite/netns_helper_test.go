//go:build linux

package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// netnsHelperEnv, when set, makes this test binary do one network
// namespace task in a child of the suite and exit: make a named network
// namespace, or send a UDP echo from inside one. The suite itself never
// calls setns (netns.NewNamed and netns.Set both do, on the calling
// thread); this child may, on a locked thread, since it exits at once.
const netnsHelperEnv = "NSVERIFY_NETNS_HELPER"

var _ = role(netnsHelperEnv, func(v string) int { return netnsHelper(v, os.Stdout) })

// netnsTask is one task of the helper.
type netnsTask struct {
	// Make, when set, is the name of a network namespace to make and pin
	// at /run/netns/<Make>, with a veth pair named Link (and Link+"p")
	// inside it.
	Make string `json:"make,omitempty"`
	Link string `json:"link,omitempty"`
	// EchoFrom and EchoTo: send a UDP datagram from inside the network
	// namespace at the path EchoFrom to the address EchoTo, and wait for
	// it to come back.
	EchoFrom string `json:"echo_from,omitempty"`
	EchoTo   string `json:"echo_to,omitempty"`
}

// netnsOutcome is what the helper prints.
type netnsOutcome struct {
	NS    probes.NSID `json:"ns"`
	Reply string      `json:"reply,omitempty"`
	Error string      `json:"error,omitempty"`
	// Step and Errno say how an echo failed, so that a negative control
	// can tell "no route to the peer" from a helper that never got as
	// far as trying: Step is the echo step that failed (one of the
	// echoStep constants), Errno the kernel's answer there, 0 when there
	// was none (a deadline passed, a reply did not match).
	Step  echoStep      `json:"step,omitempty"`
	Errno syscall.Errno `json:"errno,omitempty"`
}

// echoStep names a step of an echo, in the order echoFrom takes them.
type echoStep string

const (
	echoOpen  echoStep = "open the network namespace"
	echoEnter echoStep = "enter the network namespace"
	echoDial  echoStep = "connect the UDP socket"
	echoSend  echoStep = "send the datagram"
	echoRead  echoStep = "read the reply"
	echoMatch echoStep = "compare the reply"
)

// echoError is an echo that failed at Step.
type echoError struct {
	Step echoStep
	Err  error
}

func (e *echoError) Error() string { return string(e.Step) + ": " + e.Err.Error() }
func (e *echoError) Unwrap() error { return e.Err }

func netnsHelper(spec string, stdout io.Writer) int {
	var t netnsTask
	var out netnsOutcome
	err := json.Unmarshal([]byte(spec), &t)
	if err == nil {
		// Every namespace change below is this thread's, which is never
		// handed back: the process exits with it.
		runtime.LockOSThread()
		switch {
		case t.Make != "":
			out.NS, err = makeNamedNetns(t.Make, t.Link)
		case t.EchoFrom != "":
			out.Reply, err = echoFrom(t.EchoFrom, t.EchoTo)
			var failed *echoError
			if errors.As(err, &failed) {
				out.Step = failed.Step
				var errno syscall.Errno
				if errors.As(err, &errno) {
					out.Errno = errno
				}
			}
		default:
			err = errors.New("netns helper: no task")
		}
	}
	if err != nil {
		out.Error = err.Error()
	}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		return 1
	}
	return 0
}

// makeNamedNetns makes the namespace with netns.NewNamed (which moves
// this thread into it and bind-mounts it at /run/netns/name), adds the
// veth pair inside, and returns its identity.
func makeNamedNetns(name, link string) (probes.NSID, error) {
	h, err := netns.NewNamed(name)
	if err != nil {
		return probes.NSID{}, fmt.Errorf("make named network namespace %s: %w", name, err)
	}
	defer h.Close()
	if link != "" {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: link}, PeerName: link + "p"}
		if err := netlink.LinkAdd(veth); err != nil {
			return probes.NSID{}, fmt.Errorf("add link %s in %s: %w", link, name, err)
		}
	}
	return nsidOf(h)
}

// echoFrom sends one datagram to addr from inside the namespace at path
// and waits for it to come back. Every error is an *echoError naming the
// step that failed, with the errno still reachable.
func echoFrom(path, addr string) (string, error) {
	fail := func(step echoStep, err error) (string, error) {
		return "", &echoError{Step: step, Err: err}
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		return fail(echoOpen, fmt.Errorf("open %s: %w", path, err))
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		return fail(echoEnter, fmt.Errorf("setns into %s: %w", path, err))
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return fail(echoDial, fmt.Errorf("dial %s: %w", addr, err))
	}
	defer conn.Close()
	msg := "nsverify echo " + randomHex(4)
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return fail(echoSend, fmt.Errorf("set deadline: %w", err))
	}
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fail(echoSend, fmt.Errorf("send to %s: %w", addr, err))
	}
	buf := make([]byte, 256)
	n, err := conn.Read(buf)
	if err != nil {
		return fail(echoRead, fmt.Errorf("read the echo from %s: %w", addr, err))
	}
	if got := string(buf[:n]); got != msg {
		return got, &echoError{Step: echoMatch, Err: fmt.Errorf("echo from %s is %q, sent %q", addr, got, msg)}
	}
	return string(buf[:n]), nil
}

func nsidOf(h netns.NsHandle) (probes.NSID, error) {
	return probes.FstatNSID(int(h))
}

// runNetnsHelper runs the helper with t and returns what it printed.
func runNetnsHelper(ctx context.Context, t netnsTask) netnsOutcome {
	GinkgoHelper()
	spec, err := json.Marshal(t)
	Expect(err).NotTo(HaveOccurred(), "net: encode the task")
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = []string{netnsHelperEnv + "=" + string(spec)}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, GinkgoWriter
	Expect(cmd.Run()).To(Succeed(), "net: run the network namespace helper for %+v", t)
	var out netnsOutcome
	Expect(json.Unmarshal(stdout.Bytes(), &out)).To(Succeed(), "net: read the helper's outcome %q", stdout.String())
	return out
}

// NamedNetns makes a network namespace pinned at /run/netns/<name> from a
// helper child, with a veth pair named link inside when link is not
// empty, and deletes it (and /run/netns, if it made it and it is empty)
// when the spec ends.
func NamedNetns(ctx context.Context, link string) (name string, id probes.NSID) {
	GinkgoHelper()
	needs(features.NeedOver(spawn.MNT, spawn.CapSysAdmin, "pin a network namespace at /run/netns"))
	name = "nsverify-" + randomHex(6)
	_, err := os.Stat(netnsDir)
	madeDir := errors.Is(err, fs.ErrNotExist)
	DeferCleanup(func() {
		if err := netns.DeleteNamed(name); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.EINVAL) {
			Fail(fmt.Sprintf("net: delete the named network namespace %s: %v", name, err))
		}
		if madeDir {
			_ = os.Remove(netnsDir) // fails, harmlessly, unless empty
		}
	})
	out := runNetnsHelper(ctx, netnsTask{Make: name, Link: link})
	Expect(out.Error).To(BeEmpty(), "net: make the named network namespace %s", name)
	return name, out.NS
}

// netnsDir is where ip netns and netns.NewNamed pin network namespaces.
const netnsDir = "/run/netns"
