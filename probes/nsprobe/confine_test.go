//go:build linux

package nsprobe

import (
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

func TestConfineFlagsRejectBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-nest", "net=3"},
		{"-nest", "user=0"},
		{"-nest", "user=65"},
		{"-nest", "user"},
		{"-remove-msgq", "0"},
		{"-signal-pid", "0"},
		{"-try-link", "a/b"},
		{"-try-hostname", strings.Repeat("h", 65)},
		{"-timens", "-try-setgroups"},
	} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("parseArgs(%q) succeeded, want a usage error", args)
		}
	}
}

// checkedCalls are the attempts whose refusal and control are one call,
// with the kind each acts on and the call text the probe must record.
var checkedCalls = []struct {
	name string
	kind spawn.Kind
	call string
}{
	{probes.AttemptSethostname, spawn.UTS, probes.SethostnameCall("nsprobe-never")},
	{probes.AttemptAddLink, spawn.Net, probes.AddLinkCall("nsvnever0")},
	{probes.AttemptMountProc, spawn.MNT, probes.MountProcCall()},
}

var checkedCallArgs = []string{"-try-hostname", "nsprobe-never", "-try-link", "nsvnever0", "-try-mount-proc"}

// checkCalls asserts that rep records each checked call as made, answered
// with the permitted errno where permitted says so and EPERM elsewhere.
func checkCalls(t *testing.T, where string, rep *probes.Report, permitted func(spawn.Kind) bool) {
	t.Helper()
	if rep.Confine == nil {
		t.Fatalf("%s: no confinement attempts; errors: %v", where, rep.Errors)
	}
	for _, c := range checkedCalls {
		a := rep.Confine.Attempts[c.name]
		want := "EPERM"
		if permitted(c.kind) {
			want = probes.PermittedAnswer[c.name]
		}
		if a.Result != want || a.Call != c.call {
			t.Errorf("%s: %s: %+v, want %s from the call %s", where, c.name, a, want, c.call)
		}
	}
}

func TestCheckedCallsAreAnsweredByCapabilityInTheTestsNamespaces(t *testing.T) {
	// The calls are made wherever the probe runs, the test's own
	// namespaces (the host's, as root) included: their invalid argument
	// keeps the kernel from acting where it permits them. The kernel's
	// answer follows the capability over each namespace, which
	// ReadPrivilege reads independently of the probe.
	p := spawn.ReadPrivilege()
	host, _ := os.Hostname()
	procMounts := procMountCount(t)
	rep := runReport(t, nil, append([]string{"pid"}, checkedCallArgs...)...).report
	checkCalls(t, "in the test's namespaces", rep, p.CanChange)
	// Only what these calls could have made is looked for: other tests
	// may add links and mounts of their own meanwhile.
	if now, _ := os.Hostname(); now != host {
		t.Errorf("the hostname changed from %q to %q", host, now)
	}
	kept := probes.OverlongLinkName("nsvnever0")[:probes.MaxLinkNameLen]
	if links := hostLinks(t); slices.Contains(links, kept) || slices.Contains(links, "nsvnever0") {
		t.Errorf("a link the probe asked for is in the test's network namespace: %q", links)
	}
	if now := procMountCount(t); now != procMounts {
		t.Errorf("/proc is mounted %d times, %d before the probe", now, procMounts)
	}
}

// procMountCount counts the mounts on /proc in the test's mount table.
func procMountCount(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatalf("read mountinfo: %v", err)
	}
	n := 0
	for line := range strings.SplitSeq(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/proc" {
			n++
		}
	}
	return n
}

func TestCheckedCallsAreRefusedSharedAndPermittedOwned(t *testing.T) {
	requireNS(t, "user")
	if ok, reason := spawn.ReadPrivilege().CanCreate(spawn.SetOf(spawn.User)); !ok {
		t.Skip(reason)
	}
	maps := func(attr *syscall.SysProcAttr) *syscall.SysProcAttr {
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		return attr
	}
	// Root of a new user namespace that shares uts, net and mnt holds no
	// capability over them: every call is refused.
	shared := maps(&syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER})
	rep := runReport(t, shared, append([]string{"pid"}, checkedCallArgs...)...).report
	checkCalls(t, "from a new user namespace sharing uts, net and mnt", rep, func(spawn.Kind) bool { return false })
	// With new ones it owns (and a pid namespace, whose /proc it may
	// mount), the same calls are permitted and rejected for their
	// argument.
	owned := maps(&syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWUTS | unix.CLONE_NEWNET | unix.CLONE_NEWNS | unix.CLONE_NEWPID})
	rep = runReport(t, owned, append([]string{"pid"}, checkedCallArgs...)...).report
	checkCalls(t, "from a new user namespace owning new uts, net, mnt and pid", rep, func(spawn.Kind) bool { return true })
}

// hostLinks lists the names of the links in the test's network namespace.
func hostLinks(t *testing.T) []string {
	t.Helper()
	ls, err := netlink.LinkList()
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names
}

func TestSetnsHostRefusesEveryJoinAndAllowsTheControls(t *testing.T) {
	requireNS(t, "user")
	rep := runReport(t, nil, "pid", "-setns-host").report
	for _, k := range setnsKinds {
		if _, err := probes.StatNSID("/proc/self/ns/" + k.name); err != nil {
			continue
		}
		if a := rep.Confine.Attempts["setns "+k.name]; a.Result != "EPERM" {
			t.Errorf("setns %s: %+v, want EPERM", k.name, a)
		}
		if a, ok := rep.Confine.Attempts["setns own "+k.name]; k.control && (!ok || a.Result != probes.Allowed) {
			t.Errorf("setns own %s: %+v, want allowed", k.name, a)
		}
	}
}

func TestNestMakesTheDepthAsked(t *testing.T) {
	requireNS(t, "user")
	for _, kind := range []string{"user"} {
		rep := runReport(t, nil, "pid", "-nest", kind+"=3").report
		if n := rep.Confine.Nest; n == nil || n.Created != 4 || n.Next != "" {
			t.Errorf("nest %s=3: %+v, errors %v; want 4 created (3 and the one more), none refused", kind, n, rep.Errors)
		}
	}
}

func TestRewriteUIDMapIsRefused(t *testing.T) {
	rep := runReport(t, nil, "pid", "-rewrite-uid-map").report
	if a := rep.Confine.Attempts["rewrite uid_map"]; a.Result != "EPERM" {
		t.Errorf("rewrite uid_map: %+v, want EPERM", a)
	}
}
