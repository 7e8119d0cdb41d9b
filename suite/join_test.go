//go:build linux

package suite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// expectJoined asserts every kind of the child c, as the host reads it: a
// joined kind is the holder's namespace and not the host's; a kind made
// new differs from both; every other kind is the host's. The oracle of a
// joined kind compares with the namespace's holder, not with the host.
func expectJoined(c *Child, h *Holder, joined, made spawn.Set) {
	GinkgoHelper()
	for _, kind := range spawn.All.Kinds() {
		if _, ok := host.NS[string(kind)]; !ok {
			continue // a kind this kernel lacks
		}
		// BeIsolatedFrom and BeSharedWith first: they fail where the
		// probe's reading and the host's differ.
		switch {
		case joined.Has(kind):
			Expect(c).To(BeIsolatedFrom(host, kind))
			Expect(c.Result.Outside.NS[string(kind)]).To(Equal(h.NS(kind)), "%s: the probe joined the holder's %s namespace, and the host reads another", kind, kind)
		case made.Has(kind):
			Expect(c).To(BeIsolatedFrom(host, kind))
			if h.Set.Has(kind) {
				Expect(c.Result.Outside.NS[string(kind)]).NotTo(Equal(h.NS(kind)), "%s: the probe made a new %s namespace, and the host reads the holder's", kind, kind)
			}
		default:
			Expect(c).To(BeSharedWith(host, kind))
		}
	}
}

func linkNames(r *probes.Report) []string {
	if r.Links == nil {
		return nil
	}
	return r.Links.Names
}

var _ = Describe("joining namespaces another process holds", Label("join"), func() {
	var m Markers
	BeforeEach(func() { m = NewMarkers() })

	Context("by /proc/PID/ns paths, one setns per kind", func() {
		It("puts the probe in the holder's uts, ipc and net namespaces, where it sees the holder's hostname, queue and link, while an unjoined probe sees none of them", func(ctx SpecContext) {
			h := StartHolder(spawn.SetOf(spawn.UTS, spawn.IPC, spawn.Net), holdActions{Hostname: m.Hostname, MsgKey: m.ChildQueueKey, Link: m.ChildLink}, nil, nil)
			joined := spawn.SetOf(spawn.UTS, spawn.IPC, spawn.Net)
			opts := spawn.Options{Probe: probePath, Join: spawn.Join{Paths: map[spawn.Kind]string{}}}
			for _, k := range joined.Kinds() {
				opts.Join.Paths[k] = h.Path(k)
			}
			c := RunChild(ctx, opts, m)
			r := c.Report
			expectJoined(c, h, joined, spawn.None)
			Expect(r.Launcher).NotTo(BeNil(), "uts: the report does not say a stage joined")
			// Which kinds, not in which order: the order is the kernel's
			// rule, judged as an ordinary user below, where it matters.
			Expect(r.Launcher.Joined).To(ConsistOf("ipc", "uts", "net"), "ipc, uts, net: the stage joined other kinds than the three asked for")
			Expect(r.Hostname).To(Equal(m.Hostname), "uts: the joined probe does not see the holder's hostname")
			Expect(msgKeys(r.IPC)).To(ContainElement(m.ChildQueueKey), "ipc: the joined probe does not see the holder's queue")
			Expect(linkNames(r)).To(ContainElement(m.ChildLink), "net: the joined probe does not see the holder's link")

			control := RunChild(ctx, spawn.Options{Probe: probePath}, m).Report
			Expect(control.Hostname).NotTo(Equal(m.Hostname), "uts: a probe that joined nothing sees the holder's hostname")
			Expect(msgKeys(control.IPC)).NotTo(ContainElement(m.ChildQueueKey), "ipc: a probe that joined nothing sees the holder's queue")
			Expect(linkNames(control)).NotTo(ContainElement(m.ChildLink), "net: a probe that joined nothing sees the holder's link")
		})

		It("joins a user namespace first and becomes its root, so that the maps read back are the holder's", func(ctx SpecContext) {
			uidMap, gidMap := spawn.CallerMaps()
			h := StartHolder(spawn.SetOf(spawn.User, spawn.UTS), holdActions{Hostname: m.Hostname}, uidMap, gidMap)
			joined := spawn.SetOf(spawn.User, spawn.UTS)
			opts := spawn.Options{Probe: probePath, Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.User: h.Path(spawn.User), spawn.UTS: h.Path(spawn.UTS)}}}
			c := RunChild(ctx, opts, m)
			r := c.Report
			expectJoined(c, h, joined, spawn.None)
			Expect(r.Launcher.Joined).To(Equal([]string{"user", "uts"}), "user: the stage did not join user first")
			Expect(r.User).NotTo(BeNil(), "user: no user observation; errors: %v", r.Errors)
			holderMap, err := readIDMap("/proc/" + strconv.Itoa(h.PID) + "/uid_map")
			Expect(err).NotTo(HaveOccurred(), "user: read the holder's uid map")
			Expect(r.User.UIDMap).To(Equal(holderMap), "user: the joined probe's uid map is not the holder's")
			Expect(r.User.UID).To(Equal(0), "user: the probe is not uid 0 of the joined user namespace")
			Expect(r.Hostname).To(Equal(m.Hostname), "uts: the joined probe does not see the holder's hostname")
		})

		It("keeps the host's user namespace when it joins only the holder's uts namespace", func(ctx SpecContext) {
			// setns into a uts namespace needs CAP_SYS_ADMIN over the
			// caller's own user namespace too, which an ordinary user lacks.
			needs(features.CanCreate(spawn.SetOf(spawn.UTS)))
			uidMap, gidMap := spawn.CallerMaps()
			h := StartHolder(spawn.SetOf(spawn.User, spawn.UTS), holdActions{Hostname: m.Hostname}, uidMap, gidMap)
			control := RunChild(ctx, spawn.Options{Probe: probePath, Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.UTS: h.Path(spawn.UTS)}}}, m)
			Expect(control.Report.Hostname).To(Equal(m.Hostname), "uts: a probe that joined the holder's uts does not see its hostname")
			Expect(control).To(BeSharedWith(host, spawn.User))
			Expect(control.Result.Outside.UIDMap).To(Equal(host.UIDMap), "user: the host reads another uid map than its own for a probe that joined only uts")
			Expect(control.Report.User).NotTo(BeNil(), "user: no user observation; errors: %v", control.Report.Errors)
			Expect(control.Report.User.UIDMap).To(Equal(host.UIDMap), "user: the probe that joined only uts reports another uid map than the host's")
		})
	})

	Context("as an ordinary user, into namespaces a user namespace of that user owns", func() {
		// The kernel's rule behind the probe's join order: setns into
		// any kind but user needs CAP_SYS_ADMIN over the user namespace
		// that owns the target and over the caller's own user namespace.
		// Root holds both everywhere, so only an ordinary user shows the
		// rule: it holds every capability in a user namespace it made
		// (as its owner) but none in its own, the initial one, until it
		// has joined the one it made.
		It("is refused each kind (EPERM at its setns) before it has joined their user namespace, and gets all of them when it joins user first, as the probe's order does", func(ctx SpecContext) {
			owned := spawn.SetOf(spawn.UTS, spawn.IPC, spawn.Net, spawn.MNT, spawn.Cgroup)
			needsKinds(owned.With(spawn.User))
			holder, cred := startOrdinaryHolder(ctx, owned)
			path := func(k spawn.Kind) string { return "/proc/" + strconv.Itoa(holder) + "/ns/" + string(k) }

			for _, k := range owned.Kinds() {
				code, stdout, stderr := runProbeAs(ctx, cred, "-"+probes.FlagJoin, string(k)+"="+path(k), "ns")
				Expect(code).To(Equal(1), "%s: an ordinary user joined the %s namespace of its own user namespace without joining that first (exit %d, report %s, stderr %s)", k, k, code, stdout, stderr)
				Expect(stderr).To(ContainSubstring("setns into the %s namespace at %s: %s", k, path(k), syscall.EPERM), "%s: the probe failed, but not with EPERM at the setns into %s, which is the kernel's rule", k, k)
			}

			all := []string{string(spawn.User) + "=" + path(spawn.User)}
			for _, k := range owned.Kinds() {
				all = append(all, string(k)+"="+path(k))
			}
			code, stdout, stderr := runProbeAs(ctx, cred, "-"+probes.FlagJoin, strings.Join(all, ","), "ns")
			Expect(code).To(Equal(0), "user: an ordinary user given its user namespace and %s could not join them: the probe joined some kind before user (stderr %s)", owned, stderr)
			r, err := probes.DecodeReport(bytes.NewBufferString(stdout))
			Expect(err).NotTo(HaveOccurred(), "user: read the report of the probe that joined %s", owned)
			for _, k := range owned.With(spawn.User).Kinds() {
				want, err := probes.StatNSID(path(k))
				Expect(err).NotTo(HaveOccurred(), "%s: read the holder's %s namespace", k, k)
				Expect(r.NS[string(k)]).To(Equal(want), "%s: the probe that joined as an ordinary user is not in the holder's %s namespace", k, k)
			}
		})

		It("joins user before every kind a user namespace owns, which is every other kind", func() {
			// Every kind but user is owned by a user namespace, so the rule
			// above puts user first; a kind missing from the order would
			// never be joined at all.
			var kinds []string
			for _, k := range spawn.All.Kinds() {
				kinds = append(kinds, string(k))
			}
			Expect(probes.JoinOrder).To(ConsistOf(kinds), "user: the probe's join order does not name every kind once")
			Expect(probes.JoinOrder[0]).To(Equal(string(spawn.User)), "user: the probe's join order %v joins %s before the user namespace that owns it", probes.JoinOrder, probes.JoinOrder[0])
		})
	})

	Context("by a pidfd, several kinds in one setns, besides a new namespace", func() {
		It("puts the probe in the holder's uts, net and pid namespaces, below the holder's pid 1, and in an ipc namespace of its own", func(ctx SpecContext) {
			if ok, why := spawn.PidfdJoin(features.Kernel); !ok {
				Skip(why)
			}
			h := StartHolder(spawn.SetOf(spawn.UTS, spawn.Net, spawn.PID), holdActions{Hostname: m.Hostname, Link: m.ChildLink}, nil, nil)
			joined := spawn.SetOf(spawn.UTS, spawn.Net, spawn.PID)
			opts := PlanFor(spawn.SetOf(spawn.IPC), m)
			opts.Join = spawn.Join{PID: h.PID, Kinds: joined}
			c := RunChild(ctx, opts, m)
			r := c.Report
			expectJoined(c, h, joined, spawn.SetOf(spawn.IPC))
			Expect(r.PID).To(BeNumerically(">", 1), "pid: the joined probe is pid 1, the holder's own number")
			Expect(r.NSpid).To(Equal([]int{c.Result.HostPID, r.PID}), "pid: NSpid does not list the host's pid and the joined namespace's")
			Expect(r.Hostname).To(Equal(m.Hostname), "uts: the joined probe does not see the holder's hostname")
			Expect(linkNames(r)).To(ContainElement(m.ChildLink), "net: the joined probe does not see the holder's link")
			Expect(msgKeys(r.IPC)).To(ContainElement(m.ChildQueueKey), "ipc: the probe's queue is not in its new ipc namespace")

			control := RunChild(ctx, PlanFor(spawn.SetOf(spawn.IPC), NewMarkers()), m)
			Expect(control).To(BeSharedWith(host, spawn.PID))
			Expect(linkNames(control.Report)).NotTo(ContainElement(m.ChildLink), "net: a probe that joined nothing sees the holder's link")
		})
	})

	Context("with a wrong combination", Label("badinput"), func() {
		It("refuses a path of another kind, and a kind both made and joined, before anything is cloned", func() {
			self := "/proc/" + strconv.Itoa(os.Getpid()) + "/ns/"
			for _, c := range []struct {
				opts spawn.Options
				want string
			}{
				{spawn.Options{Probe: probePath, Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.UTS: self + "net"}}}, "is a net namespace"},
				{spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.Net), Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.Net: self + "net"}}}, "net is both in the set to create"},
				{spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.User), Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.Net: self + "net"}}}, "holds no capability"},
			} {
				res, err := spawn.Run(context.Background(), c.opts)
				Expect(err).To(MatchError(ContainSubstring(c.want)), "%s: the join %v with set %s was not refused as bad input", kindsOf(c.opts.Join), c.opts.Join, c.opts.Set)
				var cloned *spawn.Error
				Expect(errors.As(err, &cloned)).To(BeFalse(), "%s: the refusal came after a clone: %v", kindsOf(c.opts.Join), err)
				Expect(res).To(BeNil(), "%s: a refused join returned a result", kindsOf(c.opts.Join))
			}
		})
	})
})

func kindsOf(j spawn.Join) spawn.Set { return j.Set() }

// ordinaryUID is the id the kernel-rule spec runs as when the suite is
// root: the overflow id, nobody, which owns nothing else on the host.
const ordinaryUID = 65534

// ordinaryCred returns the credential of an ordinary user to run as: nil
// when the suite is already one (it runs as itself), nobody when it is
// root.
func ordinaryCred() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	return &syscall.Credential{Uid: ordinaryUID, Gid: ordinaryUID, Groups: []uint32{}}
}

// startOrdinaryHolder starts, as an ordinary user, a process in a new user
// namespace and new namespaces of owned, which that user namespace owns,
// and returns its pid and the credential it runs with. It is made by
// util-linux unshare(1), not by spawn or the probe: the user namespace
// must be made by the ordinary user itself to be owned by it, and Go's
// clone runs in the (root) parent. It ends with the spec.
func startOrdinaryHolder(ctx context.Context, owned spawn.Set) (int, *syscall.Credential) {
	GinkgoHelper()
	needs(unprivilegedUserns())
	unshare, err := exec.LookPath("unshare")
	needs(err == nil, "user: util-linux unshare(1) is not on PATH, and it makes the ordinary user's namespaces for this spec; install util-linux")
	args := []string{"--user", "--map-root-user"}
	for _, k := range owned.Kinds() {
		flag := map[spawn.Kind]string{spawn.UTS: "--uts", spawn.IPC: "--ipc", spawn.Net: "--net", spawn.MNT: "--mount", spawn.Cgroup: "--cgroup"}[k]
		Expect(flag).NotTo(BeEmpty(), "%s: the ordinary user's holder cannot make a %s namespace without a fork", k, k)
		args = append(args, flag)
	}
	// The holder says it is ready once unshare has made and mapped the
	// namespaces and exec'd the shell, and holds them until its stdin
	// closes.
	args = append(args, "--", "/bin/sh", "-c", "echo ready && exec cat")
	cmd := exec.Command(unshare, args...)
	cred := ordinaryCred()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdin, err := cmd.StdinPipe()
	Expect(err).NotTo(HaveOccurred(), "user: pipe to the ordinary user's holder")
	// A pipe of our own rather than StdoutPipe: the line is read while
	// Wait runs, which StdoutPipe does not allow.
	stdout, w, err := os.Pipe()
	Expect(err).NotTo(HaveOccurred(), "user: pipe from the ordinary user's holder")
	defer stdout.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Start()
	w.Close()
	Expect(err).NotTo(HaveOccurred(), "user: start unshare as an ordinary user")
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	kill := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	DeferCleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			kill()
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			// unshare failed before the shell ran, though the machine
			// allows ordinary users user namespaces: say why once it has
			// exited, and its stderr is complete.
			<-exited
			Fail(fmt.Sprintf("user: an ordinary user could not make its namespaces (unshare %s: %v: %s)", strings.Join(args, " "), waitErr, strings.TrimSpace(stderr.String())))
		}
	case <-ctx.Done():
		kill()
		Fail("user: the spec ended before the ordinary user's holder said it was ready; stderr: " + stderr.String())
	case <-time.After(10 * time.Second):
		kill()
		Fail("user: the ordinary user's holder did not say it was ready within 10s; stderr: " + stderr.String())
	}
	return cmd.Process.Pid, cred
}

// unprivilegedUserns says whether this machine lets an ordinary user make
// a user namespace, from the sysctls and boot parameter that forbid it
// (the preflight's reading), and if not, why and what to do.
func unprivilegedUserns() (bool, string) {
	switch {
	case features.UserNamespaceEnable == "N":
		return false, "user: user namespaces are off (user_namespace.enable=N); boot with user_namespace.enable=1"
	case features.Limits[spawn.User] == 0:
		return false, "user: /proc/sys/user/max_user_namespaces is 0; write a positive limit to it"
	case features.UnprivilegedUsernsClone == 0:
		return false, "user: kernel.unprivileged_userns_clone is 0, so only root may make user namespaces; set it to 1"
	case features.AppArmorRestrictUnprivilegedUserns == 1:
		return false, "user: kernel.apparmor_restrict_unprivileged_userns is 1, so an ordinary user's user namespace holds no capability; set it to 0"
	}
	return true, ""
}

// runProbeAs runs the probe with args as cred (as the suite itself when
// nil), bounded, and returns its exit code, stdout and stderr.
func runProbeAs(ctx context.Context, cred *syscall.Credential, args ...string) (int, string, string) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(ctx, spawn.DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, probePath, args...)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		Fail(fmt.Sprintf("user: run the probe %q as an ordinary user (%+v): %v", args, cred, err))
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}
