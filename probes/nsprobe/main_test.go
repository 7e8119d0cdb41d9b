//go:build linux

package nsprobe

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// probePath is the nsprobe binary, built once for all tests.
var probePath string

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Getenv(helperProbeEnv), os.Getenv(helperMntEnv), os.Args[1:]))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	var err error
	if probePath, err = testbuild.Static(context.Background(), testbuild.Probe); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = testbuild.Remove(probePath) }()
	return m.Run()
}

// probeRun is one finished probe.
type probeRun struct {
	pid            int
	exit           int
	stdout, stderr string
	report         *probes.Report
}

// runProbe runs the probe with attr (clone flags, maps) and args. Every
// child dies with the test (Pdeathsig) and within 20 seconds.
func runProbe(t *testing.T, attr *syscall.SysProcAttr, args ...string) probeRun {
	t.Helper()
	return runProbeWith(t, attr, nil, args...)
}

// runProbeEnv runs the probe with env added to the test's environment.
func runProbeEnv(t *testing.T, env []string, args ...string) probeRun {
	t.Helper()
	return runProbeWith(t, nil, env, args...)
}

func runProbeWith(t *testing.T, attr *syscall.SysProcAttr, env []string, args ...string) probeRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, probePath, args...)
	cmd.Env = append(os.Environ(), env...)
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	attr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr = attr
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nsprobe %q: %v", args, err)
	}
	r := probeRun{pid: cmd.Process.Pid}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("nsprobe %q did not finish within 20 s; stderr: %s", args, stderr.String())
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.exit = exit.ExitCode()
	case err != nil:
		t.Fatalf("wait for nsprobe %q: %v", args, err)
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	return r
}

// runReport runs the probe and decodes its report; it must exit 0.
func runReport(t *testing.T, attr *syscall.SysProcAttr, args ...string) probeRun {
	t.Helper()
	r := runProbe(t, attr, args...)
	if r.exit != 0 {
		t.Fatalf("nsprobe %q exited %d; stderr: %s", args, r.exit, r.stderr)
	}
	rep, err := probes.DecodeReport(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatalf("nsprobe %q: %v; stderr: %s", args, err, r.stderr)
	}
	r.report = rep
	return r
}

// requireRoot skips a test that creates namespaces other than user outside
// a new user namespace, or maps uid 0, where this process lacks the
// capabilities over its own user namespace that they need.
func requireRoot(t *testing.T) {
	t.Helper()
	p := spawn.ReadPrivilege()
	if ok, reason := p.CanCreate(spawn.All.Without(spawn.User)); !ok {
		t.Skip(reason)
	}
	root := []spawn.IDMap{{Inside: 0, Outside: 0, Count: 1}}
	if ok, reason := p.CanMapIDs(root, root); !ok {
		t.Skip(reason)
	}
}

// requireNS skips a test that needs a new namespace of kind where this
// machine cannot create one, with the preflight's reason and remedy.
func requireNS(t *testing.T, kind string) {
	t.Helper()
	if _, err := os.Lstat("/proc/self/ns/" + kind); err != nil {
		t.Skipf("this kernel has no %s namespaces (/proc/self/ns/%s is missing); it needs a newer kernel", kind, kind)
	}
	if ok, reason := spawn.Detect(probePath).Supports(spawn.SetOf(spawn.Kind(kind))); !ok {
		t.Skip(reason)
	}
}

// ownNS returns the test's own namespace identities, as the probe reports
// them.
func ownNS(t *testing.T) map[string]probes.NSID {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/ns")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]probes.NSID{}
	for _, e := range entries {
		id, err := probes.StatNSID("/proc/self/ns/" + e.Name())
		if err != nil {
			t.Fatalf("stat own %s namespace: %v", e.Name(), err)
		}
		ids[e.Name()] = id
	}
	return ids
}

// host is what the tests read of the host around a probe.
type host struct {
	hostname, domainname string
	mountinfo            string
	msgKeys              []int32
}

func readHost(t *testing.T) host {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/sysvipc/msg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	queues, err := probes.ParseSysvIPC(f)
	if err != nil {
		t.Fatal(err)
	}
	h := host{
		hostname:   unix.ByteSliceToString(u.Nodename[:]),
		domainname: unix.ByteSliceToString(u.Domainname[:]),
		mountinfo:  string(mountinfo),
	}
	for _, q := range queues {
		h.msgKeys = append(h.msgKeys, q.Key)
	}
	return h
}

func hostHasLink(t *testing.T, name string) bool {
	t.Helper()
	_, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return false
	}
	if err != nil {
		t.Fatalf("look up link %s: %v", name, err)
	}
	return true
}

func clockNow(t *testing.T, id int32) time.Duration {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

func TestWithoutNamespacesTheProbeSeesTheHost(t *testing.T) {
	h := readHost(t)
	r := runReport(t, nil)
	rep := r.report
	if rep.Schema != probes.Schema {
		t.Errorf("schema %d, want %d", rep.Schema, probes.Schema)
	}
	own := ownNS(t)
	for kind, want := range own {
		if got, ok := rep.NS[kind]; !ok || got != want {
			t.Errorf("ns %s = %v (present %v), the test's is %v", kind, got, ok, want)
		}
	}
	if len(rep.NS) != len(own) {
		t.Errorf("the probe reports %d namespaces, the test has %d: %v", len(rep.NS), len(own), rep.NS)
	}
	if rep.PID != r.pid || rep.PPID != os.Getpid() {
		t.Errorf("pid, ppid = %d, %d; the test started %d from %d", rep.PID, rep.PPID, r.pid, os.Getpid())
	}
	if rep.Hostname != h.hostname || rep.Domainname != h.domainname {
		t.Errorf("names = %q, %q; the host's are %q, %q", rep.Hostname, rep.Domainname, h.hostname, h.domainname)
	}
	if rep.Links == nil || !slices.Contains(rep.Links.Names, "lo") || rep.Links.Count != len(rep.Links.Names) {
		t.Errorf("links = %+v, want lo among them", rep.Links)
	}
	if rep.Proc == nil || rep.Proc.Self != strconv.Itoa(r.pid) || !slices.IsSorted(rep.Proc.PIDs) {
		t.Errorf("proc = %+v: want the probe at its pid %d in the host's /proc, and a sorted listing", rep.Proc, r.pid)
	}
	// The host has more processes than a report lists; the listing says
	// it is cut, and is cut at the bound.
	if n := countPIDs(t); rep.Proc != nil && n > probes.ProcListMax+8 && (rep.Proc.Complete || len(rep.Proc.PIDs) != probes.ProcListMax) {
		t.Errorf("proc lists %d pids, complete=%v, of a /proc with %d; want %d and not complete", len(rep.Proc.PIDs), rep.Proc.Complete, n, probes.ProcListMax)
	}
	if rep.IPC == nil || rep.User == nil || rep.Clock == nil || len(rep.Cgroup) == 0 {
		t.Errorf("observations missing: ipc %v, user %v, clock %v, cgroup %v", rep.IPC, rep.User, rep.Clock, rep.Cgroup)
	}
	if rep.User != nil && (rep.User.UID != os.Getuid() || rep.User.GID != os.Getgid() || rep.User.CapEff == "") {
		t.Errorf("user = %+v, want uid %d gid %d", rep.User, os.Getuid(), os.Getgid())
	}
	if len(rep.Errors) != 0 || len(rep.Actions) != 0 || rep.Launcher != nil {
		t.Errorf("errors %v, actions %v, launcher %v; want none", rep.Errors, rep.Actions, rep.Launcher)
	}
	if strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Errorf("the report is not one line: %q", r.stdout)
	}
}

func TestASubcommandObservesOnlyItsPart(t *testing.T) {
	rep := runReport(t, nil, "hostname").report
	if rep.Hostname == "" || len(rep.NS) != 0 || rep.PID != 0 || rep.Links != nil || rep.Proc != nil {
		t.Errorf("hostname alone reported %+v", rep)
	}
}

func TestBadUsageExitsTwoHavingDoneNothing(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, "unknown subcommand"},
		{[]string{"-frobnicate"}, "flag provided but not defined"},
		{[]string{"-msgq", "0"}, "IPC_PRIVATE"},
		{[]string{"-msgq", "not-a-number"}, "not a 32-bit decimal integer"},
		{[]string{"-hostname", strings.Repeat("h", 65)}, "at most 64"},
		{[]string{"-marker-link", "nsverify-marker0"}, "at most 15"},
		{[]string{"-monotonic-offset", "168h"}, "without -timens"},
		{[]string{"ns", "pid"}, "unexpected argument"},
		{[]string{"-hostname", "x", "-parent-ns", "mnt=nonsense"}, "not DEV:INO"},
	}
	for _, c := range cases {
		r := runProbe(t, nil, c.args...)
		if r.exit != 2 {
			t.Errorf("nsprobe %q exited %d, want 2", c.args, r.exit)
		}
		if r.stdout != "" {
			t.Errorf("nsprobe %q printed a report on bad usage: %s", c.args, r.stdout)
		}
		if !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "nsprobe -h") {
			t.Errorf("nsprobe %q: stderr %q does not say %q and where to look", c.args, r.stderr, c.want)
		}
	}
}

func TestActionsStayInsideNewNamespaces(t *testing.T) {
	requireRoot(t)
	// Fresh names every run, so that a leftover of an earlier run can
	// neither hide a leak nor turn this test into a skip.
	key, link, name := randomKey(t), "nsvm"+randomHex(t, 4), "nsv-"+randomHex(t, 4)
	before := readHost(t)
	if slices.Contains(before.msgKeys, key) || hostHasLink(t, link) || before.hostname == name {
		t.Fatalf("the random key %d, link %s or name %s is already on the host", key, link, name)
	}
	// Should the probe leak, the test fails and leaves nothing behind.
	t.Cleanup(func() { removeLeaks(t, key, link) })

	own := ownNS(t)
	parents := fmt.Sprintf("uts=%s,ipc=%s,net=%s", own["uts"].String(), own["ipc"].String(), own["net"].String())
	attr := &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET}
	rep := runReport(t, attr, "-hostname", name, "-msgq", strconv.Itoa(int(key)), "-mount-proc", "-marker-link", link,
		"-parent-ns", "mnt="+own["mnt"].String(), "-parent-ns", parents).report

	if len(rep.Errors) != 0 {
		t.Errorf("errors: %v", rep.Errors)
	}
	wantActions := map[string]string{"hostname": "done", "msgq": "done", "mount-proc": "done", "marker-link": "done"}
	if !maps.Equal(rep.Actions, wantActions) {
		t.Errorf("actions = %v, want %v", rep.Actions, wantActions)
	}
	if rep.PID != 1 || rep.PPID != 0 {
		t.Errorf("pid, ppid = %d, %d; want 1, 0", rep.PID, rep.PPID)
	}
	if rep.Hostname != name {
		t.Errorf("hostname = %q, want %q", rep.Hostname, name)
	}
	if rep.IPC == nil || !slices.ContainsFunc(rep.IPC.Msg, func(o probes.IPCObject) bool { return o.Key == key }) {
		t.Errorf("ipc = %+v, want a queue with key %d", rep.IPC, key)
	}
	if rep.Proc == nil || !slices.Equal(rep.Proc.PIDs, []int{1}) {
		t.Errorf("proc = %+v, want only pid 1", rep.Proc)
	}
	// A bridge, or a veth pair where the kernel has no bridge.
	if rep.Links == nil || !slices.Equal(rep.Links.Names, []string{"lo", link}) &&
		!slices.Equal(rep.Links.Names, sorted("lo", link, peerName(link))) {
		t.Errorf("links = %+v, want lo and %s only", rep.Links, link)
	}
	for _, kind := range []string{"uts", "ipc", "mnt", "pid_for_children", "net"} {
		if rep.NS[kind] == own[kind] {
			t.Errorf("the probe's %s namespace is the test's", kind)
		}
	}

	after := readHost(t)
	if slices.Contains(after.msgKeys, key) {
		t.Errorf("the host has the probe's queue %d", key)
	}
	if hostHasLink(t, link) {
		t.Errorf("the host has the probe's link %s", link)
	}
	if after.hostname != before.hostname || after.domainname != before.domainname {
		t.Errorf("the host's names changed from %q, %q to %q, %q", before.hostname, before.domainname, after.hostname, after.domainname)
	}
	// Only proc mounts, what -mount-proc makes: other tests of the module
	// run beside this one and may mount their own for a while.
	if b, a := procMounts(before.mountinfo), procMounts(after.mountinfo); !slices.Equal(b, a) {
		t.Errorf("the host's proc mounts changed:\nbefore:\n%s\nafter:\n%s", strings.Join(b, "\n"), strings.Join(a, "\n"))
	}
}

// procMounts returns the lines of mountinfo that mount a proc.
func procMounts(mountinfo string) []string {
	var out []string
	for _, l := range strings.Split(mountinfo, "\n") {
		if _, fields, ok := strings.Cut(l, " - "); ok && strings.HasPrefix(fields, "proc ") {
			out = append(out, l)
		}
	}
	return out
}

// countPIDs counts the pids in this test's /proc.
func countPIDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			n++
		}
	}
	return n
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// randomKey is a positive SysV key other than IPC_PRIVATE (0).
func randomKey(t *testing.T) int32 {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		if k := int32(binary.LittleEndian.Uint32(b[:]) & 0x7fffffff); k != 0 {
			return k
		}
	}
}

// removeLeaks removes a queue or link that a probe left on the host, and
// fails the test if there was one.
func removeLeaks(t *testing.T, key int32, link string) {
	if l, err := netlink.LinkByName(link); err == nil {
		t.Errorf("removing the link %s a probe left on the host", link)
		if err := netlink.LinkDel(l); err != nil {
			t.Errorf("remove link %s: %v", link, err)
		}
	}
	f, err := os.Open("/proc/sysvipc/msg")
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	queues, err := probes.ParseSysvIPC(f)
	if err != nil {
		t.Error(err)
		return
	}
	for _, q := range queues {
		if q.Key != key {
			continue
		}
		t.Errorf("removing the queue %d a probe left on the host", key)
		if err := probes.MsgRemove(q.ID); err != nil {
			t.Errorf("remove queue %d: %v", key, err)
		}
	}
}

func TestMountProcIsRefusedOutsideANewMountNamespace(t *testing.T) {
	own := ownNS(t)
	check := func(t *testing.T, wantMsg string, args ...string) {
		before := readHost(t)
		rep := runReport(t, nil, args...).report
		if got := rep.Errors["proc"]; !strings.Contains(got, wantMsg) {
			t.Errorf("errors[proc] = %q, want it to say %q", got, wantMsg)
		}
		if rep.Proc != nil {
			t.Errorf("after a refused mount the probe listed /proc: %v", rep.Proc)
		}
		if _, ok := rep.Actions["mount-proc"]; ok {
			t.Errorf("actions = %v, the mount is recorded as done", rep.Actions)
		}
		if rep.Hostname == "" || len(rep.NS) == 0 {
			t.Errorf("the other observations are missing: %+v", rep)
		}
		if after := readHost(t); after.mountinfo != before.mountinfo {
			t.Errorf("the mount table changed:\nbefore:\n%s\nafter:\n%s", before.mountinfo, after.mountinfo)
		}
	}
	t.Run("in the parent's, with no parent given", func(t *testing.T) {
		// The test's own mount namespace: init's where the test runs as
		// root on the host, one whose novelty it cannot tell in a user
		// namespace of its own. Either way a refusal.
		check(t, "mount proc: refused: ", "-mount-proc")
	})
	t.Run("in the parent's named by -parent-ns", func(t *testing.T) {
		check(t, "mount proc: refused: not in a new mount namespace", "-mount-proc", "-parent-ns", "mnt="+own["mnt"].String())
	})
	// With no parent given, only init's namespace tells; these run in the
	// helper's namespaces, never the host's.
	t.Run("in init's, with no parent given", func(t *testing.T) {
		rep := runInHelper(t, "fork", "-mount-proc").report
		if got := rep.Errors["proc"]; !strings.Contains(got, "mount proc: refused: not in a new mount namespace; it is init's") {
			t.Errorf("errors[proc] = %q, want a refusal naming init's namespace", got)
		}
		if rep.Proc != nil || rep.Actions["mount-proc"] != "" {
			t.Errorf("proc %v, actions %v after a refusal", rep.Proc, rep.Actions)
		}
	})
	t.Run("as pid 1 of its /proc, with no parent given", func(t *testing.T) {
		// Here init is the probe itself, which says nothing about whether
		// the namespace is new.
		rep := runInHelper(t, "exec", "-mount-proc").report
		if got := rep.Errors["proc"]; !strings.Contains(got, "mount proc: refused: cannot tell whether the mount namespace is new") {
			t.Errorf("errors[proc] = %q, want a refusal for want of knowledge", got)
		}
		if rep.PID != 1 || rep.Proc != nil || rep.Actions["mount-proc"] != "" {
			t.Errorf("pid %d, proc %v, actions %v; want pid 1 and a refusal", rep.PID, rep.Proc, rep.Actions)
		}
	})
}

// The test binary doubles as a helper that stands in for the host: cloned
// into new mount and pid namespaces, it makes its mount namespace private,
// mounts its own /proc (so it is pid 1 there, init), and runs the probe in
// those namespaces. A probe that wrongly mounted would change only the
// helper's namespace, which dies with it.
const (
	helperEnv      = "NSPROBE_TEST_HELPER" // "fork": run the probe as pid 2; "exec": become it, as pid 1
	helperProbeEnv = "NSPROBE_TEST_PROBE"
	helperMntEnv   = "NSPROBE_TEST_PARENT_MNT" // the test's mount namespace, DEV:INO
)

func helper(mode, probe, parentMnt string, args []string) int {
	own, err := probes.StatNSID("/proc/self/ns/mnt")
	if err != nil || parentMnt == "" || own.String() == parentMnt {
		fmt.Fprintf(os.Stderr, "helper: not in a new mount namespace (%v); refusing to mount anything\n", err)
		return 3
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "helper: not pid 1 of a new pid namespace; refusing to mount anything")
		return 3
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "helper: make / private:", err)
		return 3
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		fmt.Fprintln(os.Stderr, "helper: mount proc:", err)
		return 3
	}
	argv := append([]string{probe}, args...)
	if mode == "exec" {
		err := syscall.Exec(probe, argv, os.Environ())
		fmt.Fprintln(os.Stderr, "helper: exec probe:", err)
		return 3
	}
	before, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: read mountinfo:", err)
		return 3
	}
	cmd := exec.Command(probe, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "helper: run probe:", err)
		return 3
	}
	if after, err := os.ReadFile("/proc/self/mountinfo"); err != nil || !bytes.Equal(after, before) {
		fmt.Fprintf(os.Stderr, "helper: the probe changed its parent's mount table (%v)\n", err)
		return 4
	}
	return 0
}

// runInHelper runs the probe with args under the helper in mode.
func runInHelper(t *testing.T, mode string, args ...string) probeRun {
	t.Helper()
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe", args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperProbeEnv+"="+probePath, helperMntEnv+"="+ownNS(t)["mnt"].String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS | unix.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper %s with nsprobe %q: %v; stderr: %s", mode, args, err, stderr.String())
	}
	rep, err := probes.DecodeReport(&stdout)
	if err != nil {
		t.Fatalf("helper %s with nsprobe %q: %v; stderr: %s", mode, args, err, stderr.String())
	}
	return probeRun{report: rep, stderr: stderr.String()}
}

func TestTimeOffsetsShiftTheObserversClocks(t *testing.T) {
	requireRoot(t)
	requireNS(t, "time")
	const mono, boot = 168 * time.Hour, 216 * time.Hour
	own := ownNS(t)
	// A single-threaded stage unshares, writes the offsets and forks the
	// observer: with -newpid the observer is pid 1 of a pid namespace of
	// its own, without it a process the host knows by the pid reported.
	for _, newPID := range []bool{false, true} {
		t.Run(fmt.Sprintf("newpid=%v", newPID), func(t *testing.T) {
			args := []string{"-timens", "-monotonic-offset", mono.String(), "-boottime-offset", boot.String()}
			if newPID {
				args = append(args, "-newpid")
			}
			monoBefore, bootBefore := clockNow(t, unix.CLOCK_MONOTONIC), clockNow(t, unix.CLOCK_BOOTTIME)
			r := runReport(t, nil, args...)
			rep := r.report
			expectShifted(t, rep, monoBefore, bootBefore, mono, boot)
			if rep.Launcher == nil || rep.Actions["timens"] == "" {
				t.Fatalf("launcher = %+v, actions = %v; want the observer started by the launcher, inside the namespace", rep.Launcher, rep.Actions)
			}
			if rep.Launcher.StageThreads != 1 {
				t.Errorf("the stage that unshared the time namespace had %d threads, want 1", rep.Launcher.StageThreads)
			}
			if rep.NS["time"] == own["time"] {
				t.Error("the observer's time namespace is the host's")
			}
			if newPID && (rep.PID != 1 || rep.PPID != 0) {
				t.Errorf("with -newpid the observer's pid, ppid = %d, %d; want 1, 0", rep.PID, rep.PPID)
			}
			if newPID && rep.NS["pid"] == own["pid"] {
				t.Error("with -newpid the observer's pid namespace is the host's")
			}
			if !newPID && (rep.PID != rep.Launcher.ObserverPID || rep.PID == r.pid || rep.NS["pid"] != own["pid"]) {
				t.Errorf("pid = %d, launcher saw %d, the test started %d; want the observer, a process of the host's pid namespace other than the launcher", rep.PID, rep.Launcher.ObserverPID, r.pid)
			}
			if len(rep.Errors) != 0 {
				t.Errorf("errors: %v", rep.Errors)
			}
		})
	}
}

// With -timens-exec the probe unshares, writes the offsets and execs itself
// in place, where Linux 6.2 or later puts the new image inside: the
// observer is the process the caller started, in the pid namespace it was
// cloned into.
func TestTimeOffsetsShiftTheClocksOfAnObserverExecdInPlace(t *testing.T) {
	requireRoot(t)
	requireNS(t, "time")
	if rel := kernelRelease(t); !spawn.TimeNSOnExec(rel) {
		t.Skipf("kernel %s does not move a task into its time namespace for children on exec (Linux 6.2 or later does)", rel)
	}
	const mono, boot = 168 * time.Hour, 216 * time.Hour
	own := ownNS(t)
	for _, newPID := range []bool{false, true} {
		t.Run(fmt.Sprintf("clone-newpid=%v", newPID), func(t *testing.T) {
			attr := &syscall.SysProcAttr{}
			if newPID {
				attr.Cloneflags = unix.CLONE_NEWPID
			}
			monoBefore, bootBefore := clockNow(t, unix.CLOCK_MONOTONIC), clockNow(t, unix.CLOCK_BOOTTIME)
			r := runReport(t, attr, "-timens", "-timens-exec", "-monotonic-offset", mono.String(), "-boottime-offset", boot.String())
			rep := r.report
			expectShifted(t, rep, monoBefore, bootBefore, mono, boot)
			if rep.Launcher != nil || !strings.Contains(rep.Actions["timens"], "exec") {
				t.Errorf("launcher = %+v, actions = %v; want the probe exec'd in place, inside the namespace", rep.Launcher, rep.Actions)
			}
			if rep.NS["time"] == own["time"] || rep.NS["time_for_children"] != rep.NS["time"] {
				t.Errorf("the observer's time namespace is %v (for children %v), the host's %v; want a new one, its own for children too", rep.NS["time"], rep.NS["time_for_children"], own["time"])
			}
			if newPID && (rep.PID != 1 || rep.PPID != 0) {
				t.Errorf("cloned with a new pid namespace, the observer's pid, ppid = %d, %d; want 1, 0", rep.PID, rep.PPID)
			}
			if !newPID && rep.PID != r.pid {
				t.Errorf("pid = %d, the test started %d; want the same process", rep.PID, r.pid)
			}
			if len(rep.Errors) != 0 {
				t.Errorf("errors: %v", rep.Errors)
			}
		})
	}
}

func kernelRelease(t *testing.T) string {
	t.Helper()
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	return unix.ByteSliceToString(uts.Release[:])
}

// Kernels before the time namespace rework refuse a new thread to a task
// whose time namespace for children is not its own, and the Go runtime
// starts threads when it likes. So whatever unshares the time namespace
// must stay single-threaded until the observer is forked: run the launch
// with the runtime pressed to want threads (many Ps, a collection at every
// allocation) and count the stage's threads each time.
func TestTheTimeNamespaceStageNeverHasASecondThread(t *testing.T) {
	requireRoot(t)
	requireNS(t, "time")
	for i := range 20 {
		r := runProbeEnv(t, []string{"GOMAXPROCS=64", "GOGC=1", "GODEBUG=gcstoptheworld=1"}, "pid", "-timens", "-monotonic-offset", "1h", "-newpid")
		if r.exit != 0 {
			t.Fatalf("run %d: nsprobe exited %d; stderr: %s", i, r.exit, r.stderr)
		}
		rep, err := probes.DecodeReport(strings.NewReader(r.stdout))
		if err != nil {
			t.Fatalf("run %d: %v; stderr: %s", i, err, r.stderr)
		}
		if rep.Launcher == nil || rep.Launcher.StageThreads != 1 {
			t.Fatalf("run %d: launcher = %+v; want a stage with exactly 1 thread", i, rep.Launcher)
		}
	}
}

func TestATimeNamespaceThatCannotBePreparedIsReported(t *testing.T) {
	// As root the kernel refuses an offset that would take the monotonic
	// clock below zero; without root it refuses the unshare. Either way no
	// observer may start in a namespace without the offsets asked for.
	r := runReport(t, nil, "-timens", "-monotonic-offset", "-100000h", "-newpid")
	rep := r.report
	if rep.Errors["clock"] == "" {
		t.Errorf("errors = %v, want clock to say the time namespace failed", rep.Errors)
	}
	if rep.Launcher != nil || rep.PID != r.pid || rep.Actions["timens"] != "" {
		t.Errorf("launcher %+v, pid %d, actions %v: an observer was started (the probe is %d)", rep.Launcher, rep.PID, rep.Actions, r.pid)
	}
	if rep.Clock == nil || rep.Hostname == "" {
		t.Errorf("the probe did not observe in place: %+v", rep)
	}
}

func TestATimeNamespaceThatCannotBePreparedForAnExecInPlaceIsReported(t *testing.T) {
	r := runReport(t, nil, "-timens", "-timens-exec", "-monotonic-offset", "-100000h")
	rep := r.report
	if rep.Errors["clock"] == "" {
		t.Errorf("errors = %v, want clock to say the time namespace failed", rep.Errors)
	}
	if rep.PID != r.pid || rep.Actions["timens"] != "" {
		t.Errorf("pid %d, actions %v: the probe (%d) entered a time namespace without the offsets asked for", rep.PID, rep.Actions, r.pid)
	}
	if rep.Clock == nil || rep.Hostname == "" {
		t.Errorf("the probe did not observe in place: %+v", rep)
	}
}

func TestAUserNamespaceWithoutPIDCannotMountProc(t *testing.T) {
	requireRoot(t)
	requireNS(t, "user")
	h := readHost(t)
	own := ownNS(t)
	rootMap := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	attr := &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
		UidMappings: rootMap,
		GidMappings: rootMap,
	}
	rep := runReport(t, attr, "-mount-proc", "-parent-ns", "mnt="+own["mnt"].String()+",user="+own["user"].String()).report
	// The new mount namespace is the probe's own, but the pid namespace
	// /proc would show belongs to the host's user namespace, where the
	// probe has no capability: the kernel refuses, the probe reports it.
	if got := rep.Errors["proc"]; !strings.Contains(got, "operation not permitted") {
		t.Errorf("errors[proc] = %q, want operation not permitted", got)
	}
	if rep.Proc != nil {
		t.Errorf("proc = %+v after a refused mount", rep.Proc)
	}
	if rep.Hostname != h.hostname {
		t.Errorf("hostname = %q, the host's is %q", rep.Hostname, h.hostname)
	}
	if rep.NS["user"] == own["user"] || rep.NS["mnt"] == own["mnt"] || rep.NS["uts"] != own["uts"] {
		t.Errorf("ns = %v, want new user and mnt and the host's uts (%v)", rep.NS, own)
	}
	want := []probes.IDRange{{0, 0, 1}}
	if rep.User == nil || rep.User.UID != 0 || rep.User.GID != 0 ||
		!slices.Equal(rep.User.UIDMap, want) || !slices.Equal(rep.User.GIDMap, want) || rep.User.Setgroups != "deny" {
		t.Errorf("user = %+v, want uid and gid 0 with the map %v and setgroups deny", rep.User, want)
	}
	if len(rep.Errors) != 1 {
		t.Errorf("errors = %v, want only proc", rep.Errors)
	}
	if after := readHost(t); after.mountinfo != h.mountinfo {
		t.Errorf("the host's mount table changed:\nbefore:\n%s\nafter:\n%s", h.mountinfo, after.mountinfo)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// expectShifted checks that rep's clocks read ahead of the host's, read
// just before it (monoBefore, bootBefore), by the offsets given.
func expectShifted(t *testing.T, rep *probes.Report, monoBefore, bootBefore, mono, boot time.Duration) {
	t.Helper()
	if rep.Clock == nil {
		t.Fatalf("no clocks; errors: %v", rep.Errors)
	}
	for _, c := range []struct {
		name        string
		got, before time.Duration
		offset      time.Duration
	}{
		{"monotonic", time.Duration(rep.Clock.MonotonicNS), monoBefore, mono},
		{"boottime", time.Duration(rep.Clock.BoottimeNS), bootBefore, boot},
	} {
		shift := c.got - c.before
		if shift < c.offset-time.Second || shift >= c.offset+time.Minute {
			t.Errorf("the observer's %s clock is %s ahead of the host's, want %s", c.name, shift, c.offset)
		}
	}
}
