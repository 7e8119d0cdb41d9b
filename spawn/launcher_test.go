package spawn

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseLaunchers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		err  string
	}{
		{"", "go", ""},
		{"all", "go,unshare,bwrap,runc,crun", ""},
		{"unshare, bwrap", "unshare,bwrap", ""},
		{"BWRAP", "bwrap", ""},
		{"docker", "", `unknown launcher "docker"`},
		{"runc,runc", "", "given twice"},
	} {
		got, err := ParseLaunchers(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseLaunchers(%q) = %v, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != c.want {
			t.Errorf("ParseLaunchers(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
}

// TestExpresses pins each launcher's documented facts: what it always
// makes, what it cannot make, and what it refused when tried.
func TestExpresses(t *testing.T) {
	root := func(name string) *Launcher { return &Launcher{Name: name, Path: "/bin/" + name} }
	rootless := func(name string) *Launcher {
		return &Launcher{Name: name, Path: "/bin/" + name, rootless: true, notUID0: true}
	}
	uid0InUserNS := func(name string) *Launcher { return &Launcher{Name: name, Path: "/bin/" + name, rootless: true} }
	runcNoTime := root(LauncherRunc)
	runcNoTime.refusedKinds = map[Kind]string{Time: `namespace {"time" ""} does not exist`}
	for _, c := range []struct {
		l      *Launcher
		set    Set
		ok     bool
		reason string
	}{
		{root(LauncherUnshare), All, true, ""},
		{root(LauncherUnshare), None, true, ""},
		{root(LauncherBwrap), SetOf(UTS), false, "always makes a mount namespace"},
		{root(LauncherBwrap), SetOf(MNT, Time), false, "no option for a time namespace"},
		{root(LauncherBwrap), SetOf(MNT, UTS), true, ""},
		{rootless(LauncherBwrap), SetOf(MNT, UTS), false, "always makes a user namespace"},
		{rootless(LauncherBwrap), SetOf(MNT, UTS, User), true, ""},
		{uid0InUserNS(LauncherBwrap), SetOf(MNT, UTS), true, ""},
		{uid0InUserNS(LauncherRunc), SetOf(MNT, PID), false, "without CAP_SYS_ADMIN"},
		{root(LauncherRunc), SetOf(PID), false, "always makes a mount namespace"},
		{root(LauncherRunc), SetOf(MNT, User), false, "pid namespace of its own"},
		{root(LauncherRunc), SetOf(MNT, User, PID), true, ""},
		{runcNoTime, SetOf(MNT, Time), false, "does not exist"},
		{rootless(LauncherCrun), SetOf(MNT, User, PID), false, "without CAP_SYS_ADMIN"},
		{&Launcher{Name: LauncherCrun, Refused: "cgroups in hybrid mode not supported"}, SetOf(MNT), false, "hybrid"},
		{nil, All, true, ""},
	} {
		ok, reason := c.l.Expresses(Options{Set: c.set})
		if ok != c.ok || !strings.Contains(reason, c.reason) {
			t.Errorf("%v expresses %s = %v %q; want %v with %q", c.l, c.set, ok, reason, c.ok, c.reason)
		}
	}
	ok, reason := root(LauncherUnshare).Expresses(Options{Set: SetOf(User), UIDMap: []IDMap{{0, 100000, 65536}}})
	if ok || !strings.Contains(reason, "--map-user") {
		t.Errorf("unshare with a range map: %v %q", ok, reason)
	}
	ok, reason = root(LauncherUnshare).Expresses(Options{Set: SetOf(Time), Actions: Actions{BoottimeOffset: time.Millisecond}})
	if ok || !strings.Contains(reason, "whole seconds") {
		t.Errorf("unshare with a fractional offset: %v %q", ok, reason)
	}
	if pid, ppid, listed := root(LauncherBwrap).ProbePIDInside(); pid != 2 || ppid != 1 || len(listed) != 2 {
		t.Errorf("bwrap's probe inside: %d %d %v; want 2 1 [1 2]", pid, ppid, listed)
	}
	if pid, ppid, listed := (*Launcher)(nil).ProbePIDInside(); pid != 1 || ppid != 0 || len(listed) != 1 {
		t.Errorf("the built-in launcher's probe inside: %d %d %v; want 1 0 [1]", pid, ppid, listed)
	}
}

// TestOCIBundleConfig checks the config.json written for a set: every kind
// of the set with mount always, the maps, the offsets split as the kernel
// takes them, and the probe as the process.
func TestOCIBundleConfig(t *testing.T) {
	opts := Options{Set: SetOf(UTS, User, PID, Time), UIDMap: []IDMap{{0, 1000, 1}}, GIDMap: []IDMap{{0, 1000, 1}},
		Actions: Actions{MonotonicOffset: -1500 * time.Millisecond, BoottimeOffset: 9 * 24 * time.Hour}}
	data, err := ociBundleConfig(opts, "/b/rootfs", []string{"-hostname", "x"}, []string{"CAP_SYS_ADMIN"}, "/nsverify-oci-1")
	if err != nil {
		t.Fatal(err)
	}
	var c ociConfig
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ns := range c.Linux.Namespaces {
		types = append(types, ns.Type)
	}
	if got := strings.Join(types, ","); got != "uts,pid,mount,user,time" {
		t.Errorf("namespaces %s", got)
	}
	if c.Linux.UIDMappings[0] != (ociIDMapping{ContainerID: 0, HostID: 1000, Size: 1}) {
		t.Errorf("uid mappings %v", c.Linux.UIDMappings)
	}
	if m := c.Linux.TimeOffsets["monotonic"]; m.Secs != -2 || m.Nanosecs != 500000000 {
		t.Errorf("monotonic offset %+v, want -2 s and 500000000 ns", m)
	}
	if b := c.Linux.TimeOffsets["boottime"]; b.Secs != 9*24*3600 || b.Nanosecs != 0 {
		t.Errorf("boottime offset %+v", b)
	}
	if strings.Join(c.Process.Args, " ") != "/nsprobe -hostname x" || c.Root.Path != "/b/rootfs" || c.Linux.CgroupsPath != "/nsverify-oci-1" {
		t.Errorf("process %v, root %v, cgroups path %q", c.Process.Args, c.Root, c.Linux.CgroupsPath)
	}
}
