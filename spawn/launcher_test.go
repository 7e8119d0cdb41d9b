package spawn

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// helpOptions reads the options of a launcher's --help kept in testdata.
func helpOptions(t testing.TB, name string) []string {
	t.Helper()
	help, err := os.ReadFile("testdata/" + name + ".help")
	if err != nil {
		t.Fatal(err)
	}
	return parseHelpOptions(string(help))
}

// withHelp gives l the options of the --help kept in testdata as name.
func withHelp(t testing.TB, l *Launcher, name string) *Launcher {
	t.Helper()
	l.setOptions(helpOptions(t, name))
	return l
}

// TestParseHelpOptionsFindsWhatEachVersionHas: util-linux 2.23 has none of
// the options later unshares added; 2.38 has them all; bwrap 0.8 has what
// nsverify asks of it.
func TestParseHelpOptionsFindsWhatEachVersionHas(t *testing.T) {
	old := helpOptions(t, "unshare-2.23.2")
	want := []string{"--fork", "--help", "--ipc", "--map-root-user", "--mount", "--mount-proc", "--net", "--pid", "--propagation", "--setgroups", "--user", "--uts", "--version"}
	if !slices.Equal(old, want) {
		t.Errorf("unshare 2.23.2 lists %q, want %q", old, want)
	}
	current := helpOptions(t, "unshare-2.38.1")
	for _, opt := range []string{"--cgroup", "--time", "--map-user", "--map-group", "--map-users", "--map-groups", "--kill-child", "--monotonic", "--boottime", "--map-root-user"} {
		if !slices.Contains(current, opt) {
			t.Errorf("unshare 2.38.1: %s not found in %q", opt, current)
		}
		if opt != "--map-root-user" && slices.Contains(old, opt) {
			t.Errorf("unshare 2.23.2: %s found, which it does not have", opt)
		}
	}
	bwrap := helpOptions(t, "bwrap-0.8.0")
	for _, opt := range []string{"--unshare-user", "--unshare-cgroup", "--cap-add", "--die-with-parent", "--dev-bind", "--uid", "--gid"} {
		if !slices.Contains(bwrap, opt) {
			t.Errorf("bwrap 0.8.0: %s not found in %q", opt, bwrap)
		}
	}
	if got := parseHelpOptions("--a-b, x--not --c[=<d>] (implies --e)\n--f=<g>|<h>"); !slices.Equal(got, []string{"--a-b", "--c", "--e", "--f"}) {
		t.Errorf("parseHelpOptions = %q", got)
	}
}

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
	help := map[string]string{LauncherUnshare: "unshare-2.38.1", LauncherBwrap: "bwrap-0.8.0"}
	root := func(name string) *Launcher {
		l := &Launcher{Name: name, Path: "/bin/" + name}
		if h, ok := help[name]; ok {
			withHelp(t, l, h)
		}
		return l
	}
	oldUnshare := withHelp(t, &Launcher{Name: LauncherUnshare, Path: "/bin/unshare", Version: "unshare from util-linux 2.23.2"}, "unshare-2.23.2")
	rootless := func(name string) *Launcher {
		l := root(name)
		l.rootless, l.notUID0 = true, true
		return l
	}
	uid0InUserNS := func(name string) *Launcher {
		l := root(name)
		l.rootless = true
		return l
	}
	runcNoTime := root(LauncherRunc)
	runcNoTime.refusedKinds = map[Kind]string{Time: `namespace {"time" ""} does not exist`}
	runcBrokenIPC := root(LauncherRunc)
	runcBrokenIPC.brokenKinds = map[Kind]string{IPC: "its container printed no report: EOF"}
	runcBroken := root(LauncherRunc)
	runcBroken.Broken = "exit status 1, with nothing on stderr or stdout"
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
		// A failed trial is no reason for n/a: the run fails instead.
		{runcBrokenIPC, SetOf(MNT, IPC), true, ""},
		{runcBroken, SetOf(MNT, PID), true, ""},
		{rootless(LauncherCrun), SetOf(MNT, User, PID), false, "without CAP_SYS_ADMIN"},
		{&Launcher{Name: LauncherCrun, Refused: "cgroups in hybrid mode not supported"}, SetOf(MNT), false, "hybrid"},
		{nil, All, true, ""},
		// util-linux 2.23: no --cgroup, --time or --map-user, and the
		// caller's id as 0 through --map-root-user.
		{oldUnshare, SetOf(UTS, IPC, PID, MNT, User, Net), true, ""},
		{oldUnshare, SetOf(UTS, Cgroup), false, "unshare (unshare from util-linux 2.23.2) has no --cgroup option (its --help does not list it), so it cannot make a cgroup namespace"},
		{oldUnshare, SetOf(PID, Time), false, "has no --time option"},
		{&Launcher{Name: LauncherUnshare, Path: "/bin/unshare"}, SetOf(UTS), false, "has no --uts option"},
		{withHelp(t, &Launcher{Name: LauncherBwrap, Path: "/bin/bwrap"}, "unshare-2.23.2"), SetOf(MNT, UTS), false, "has no --unshare-uts option"},
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
	for _, c := range []struct {
		uid, gid []IDMap
		ok       bool
		reason   string
	}{
		{nil, nil, true, ""},
		{RootMap(uint32(os.Geteuid())), RootMap(uint32(os.Getegid())), true, ""},
		{[]IDMap{{Inside: 7, Outside: uint32(os.Geteuid()), Count: 1}}, nil, false, "--map-root-user maps the caller's own id to 0 only"},
		{[]IDMap{{0, 100000, 65536}}, nil, false, "--map-root-user maps the caller's own id to 0"},
	} {
		ok, reason := oldUnshare.Expresses(Options{Set: SetOf(UTS, User), UIDMap: c.uid, GIDMap: c.gid})
		if ok != c.ok || !strings.Contains(reason, c.reason) {
			t.Errorf("unshare 2.23 with maps %v %v: %v %q; want %v with %q", c.uid, c.gid, ok, reason, c.ok, c.reason)
		}
	}
	noOffsets := withHelp(t, &Launcher{Name: LauncherUnshare, Path: "/bin/unshare"}, "unshare-2.38.1")
	delete(noOffsets.options, "--monotonic")
	if ok, _ := noOffsets.Expresses(Options{Set: SetOf(Time)}); !ok {
		t.Error("an unshare without --monotonic cannot make a time namespace without offsets")
	}
	if ok, reason := noOffsets.Expresses(Options{Set: SetOf(Time), Actions: Actions{MonotonicOffset: time.Hour}}); ok || !strings.Contains(reason, "has no --monotonic option") {
		t.Errorf("an unshare without --monotonic with offsets: %v %q", ok, reason)
	}
	if pid, ppid, listed := root(LauncherBwrap).ProbePIDInside(); pid != 2 || ppid != 1 || len(listed) != 2 {
		t.Errorf("bwrap's probe inside: %d %d %v; want 2 1 [1 2]", pid, ppid, listed)
	}
	if pid, ppid, listed := (*Launcher)(nil).ProbePIDInside(); pid != 1 || ppid != 0 || len(listed) != 1 {
		t.Errorf("the built-in launcher's probe inside: %d %d %v; want 1 0 [1]", pid, ppid, listed)
	}
}

// TestTrialFailure: a kind whose trial failed without a stated refusal
// fails every set holding it, naming the kind first; a launcher whose
// trial without other kinds failed fails every set, naming itself. Neither
// is a NotExpressibleError.
func TestTrialFailure(t *testing.T) {
	runc := &Launcher{Name: LauncherRunc, Path: "/bin/runc", brokenKinds: map[Kind]string{IPC: "its container printed no report: EOF"}}
	for _, c := range []struct {
		l    *Launcher
		set  Set
		want string
	}{
		{runc, SetOf(MNT, PID, IPC), "ipc: runc failed its trial in new mount, pid and ipc namespaces: its container printed no report: EOF"},
		{runc, SetOf(MNT, UTS), ""},
		{&Launcher{Name: LauncherCrun, Broken: "signal: killed"}, SetOf(MNT), "crun: failed its trial in new mount and pid namespaces: signal: killed"},
		{nil, All, ""},
	} {
		err := c.l.TrialFailure(c.set)
		if c.want == "" {
			if err != nil {
				t.Errorf("%v in %s: %v, want no failure", c.l, c.set, err)
			}
			continue
		}
		var te *TrialError
		if !errors.As(err, &te) || errors.Is(err, ErrNotExpressible) || err.Error() != c.want {
			t.Errorf("%v in %s: %v, want a *TrialError %q", c.l, c.set, err, c.want)
		}
	}
}

// TestLauncherJSONKeepsTrials: the processes the suite hands a launcher to
// see what its trials found, failures included.
func TestLauncherJSONKeepsTrials(t *testing.T) {
	l := &Launcher{Name: LauncherRunc, Path: "/bin/runc", Broken: "b",
		refusedKinds: map[Kind]string{Time: "t"}, brokenKinds: map[Kind]string{IPC: "i"}}
	l.setOptions([]string{"--kill-child", "--fork"})
	data, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var got Launcher
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Broken != "b" || got.RefusedKinds()[Time] != "t" || got.BrokenKinds()[IPC] != "i" || !got.HasOption("--kill-child") || len(got.Options()) != 2 {
		t.Errorf("decoded %+v from %s", got, data)
	}
}
