package launchers

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsverify/nsverify/spawn"
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

func TestParse(t *testing.T) {
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
		got, err := Parse(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Parse(%q) = %v, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != c.want {
			t.Errorf("Parse(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
}

// TestExpresses pins each launcher's documented facts: what it always
// makes, what it cannot make, and what it refused when tried.
func TestExpresses(t *testing.T) {
	help := map[string]string{Unshare: "unshare-2.38.1", Bwrap: "bwrap-0.8.0"}
	root := func(name string) *Launcher {
		l := &Launcher{name: name, Path: "/bin/" + name}
		if h, ok := help[name]; ok {
			withHelp(t, l, h)
		}
		return l
	}
	oldUnshare := withHelp(t, &Launcher{name: Unshare, Path: "/bin/unshare", Version: "unshare from util-linux 2.23.2"}, "unshare-2.23.2")
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
	runcNoTime := root(Runc)
	runcNoTime.refusedKinds = map[spawn.Kind]string{spawn.Time: `namespace {"time" ""} does not exist`}
	runcBrokenIPC := root(Runc)
	runcBrokenIPC.brokenKinds = map[spawn.Kind]string{spawn.IPC: "its container printed no report: EOF"}
	runcBroken := root(Runc)
	runcBroken.Broken = "exit status 1, with nothing on stderr or stdout"
	for _, c := range []struct {
		l      *Launcher
		set    spawn.Set
		ok     bool
		reason string
	}{
		{root(Unshare), spawn.All, true, ""},
		{root(Unshare), spawn.None, true, ""},
		{root(Bwrap), spawn.SetOf(spawn.UTS), false, "always makes a mount namespace"},
		{root(Bwrap), spawn.SetOf(spawn.MNT, spawn.Time), false, "no option for a time namespace"},
		{root(Bwrap), spawn.SetOf(spawn.MNT, spawn.UTS), true, ""},
		{rootless(Bwrap), spawn.SetOf(spawn.MNT, spawn.UTS), false, "always makes a user namespace"},
		{rootless(Bwrap), spawn.SetOf(spawn.MNT, spawn.UTS, spawn.User), true, ""},
		{uid0InUserNS(Bwrap), spawn.SetOf(spawn.MNT, spawn.UTS), true, ""},
		{uid0InUserNS(Runc), spawn.SetOf(spawn.MNT, spawn.PID), false, "without CAP_SYS_ADMIN"},
		{root(Runc), spawn.SetOf(spawn.PID), false, "always makes a mount namespace"},
		{root(Runc), spawn.SetOf(spawn.MNT, spawn.User), false, "pid namespace of its own"},
		{root(Runc), spawn.SetOf(spawn.MNT, spawn.User, spawn.PID), true, ""},
		{runcNoTime, spawn.SetOf(spawn.MNT, spawn.Time), false, "does not exist"},
		// A failed trial is no reason for n/a: the run fails instead.
		{runcBrokenIPC, spawn.SetOf(spawn.MNT, spawn.IPC), true, ""},
		{runcBroken, spawn.SetOf(spawn.MNT, spawn.PID), true, ""},
		{rootless(Crun), spawn.SetOf(spawn.MNT, spawn.User, spawn.PID), false, "without CAP_SYS_ADMIN"},
		{&Launcher{name: Crun, Refused: "cgroups in hybrid mode not supported"}, spawn.SetOf(spawn.MNT), false, "hybrid"},
		{nil, spawn.All, true, ""},
		// util-linux 2.23: no --cgroup, --time or --map-user, and the
		// caller's id as 0 through --map-root-user.
		{oldUnshare, spawn.SetOf(spawn.UTS, spawn.IPC, spawn.PID, spawn.MNT, spawn.User, spawn.Net), true, ""},
		{oldUnshare, spawn.SetOf(spawn.UTS, spawn.Cgroup), false, "unshare (unshare from util-linux 2.23.2) has no --cgroup option (its --help does not list it), so it cannot make a cgroup namespace"},
		{oldUnshare, spawn.SetOf(spawn.PID, spawn.Time), false, "has no --time option"},
		{&Launcher{name: Unshare, Path: "/bin/unshare"}, spawn.SetOf(spawn.UTS), false, "has no --uts option"},
		{withHelp(t, &Launcher{name: Bwrap, Path: "/bin/bwrap"}, "unshare-2.23.2"), spawn.SetOf(spawn.MNT, spawn.UTS), false, "has no --unshare-uts option"},
	} {
		ok, reason := c.l.Expresses(spawn.Options{Set: c.set})
		if ok != c.ok || !strings.Contains(reason, c.reason) {
			t.Errorf("%v expresses %s = %v %q; want %v with %q", c.l, c.set, ok, reason, c.ok, c.reason)
		}
	}
	ok, reason := root(Unshare).Expresses(spawn.Options{Set: spawn.SetOf(spawn.User), UIDMap: []spawn.IDMap{{Inside: 0, Outside: 100000, Count: 65536}}})
	if ok || !strings.Contains(reason, "--map-user") {
		t.Errorf("unshare with a range map: %v %q", ok, reason)
	}
	ok, reason = root(Unshare).Expresses(spawn.Options{Set: spawn.SetOf(spawn.Time), Actions: spawn.Actions{BoottimeOffset: time.Millisecond}})
	if ok || !strings.Contains(reason, "whole seconds") {
		t.Errorf("unshare with a fractional offset: %v %q", ok, reason)
	}
	for _, c := range []struct {
		uid, gid []spawn.IDMap
		ok       bool
		reason   string
	}{
		{nil, nil, true, ""},
		{spawn.RootMap(uint32(os.Geteuid())), spawn.RootMap(uint32(os.Getegid())), true, ""},
		{[]spawn.IDMap{{Inside: 7, Outside: uint32(os.Geteuid()), Count: 1}}, nil, false, "--map-root-user maps the caller's own id to 0 only"},
		{[]spawn.IDMap{{Inside: 0, Outside: 100000, Count: 65536}}, nil, false, "--map-root-user maps the caller's own id to 0"},
	} {
		ok, reason := oldUnshare.Expresses(spawn.Options{Set: spawn.SetOf(spawn.UTS, spawn.User), UIDMap: c.uid, GIDMap: c.gid})
		if ok != c.ok || !strings.Contains(reason, c.reason) {
			t.Errorf("unshare 2.23 with maps %v %v: %v %q; want %v with %q", c.uid, c.gid, ok, reason, c.ok, c.reason)
		}
	}
	noOffsets := withHelp(t, &Launcher{name: Unshare, Path: "/bin/unshare"}, "unshare-2.38.1")
	delete(noOffsets.options, "--monotonic")
	if ok, _ := noOffsets.Expresses(spawn.Options{Set: spawn.SetOf(spawn.Time)}); !ok {
		t.Error("an unshare without --monotonic cannot make a time namespace without offsets")
	}
	if ok, reason := noOffsets.Expresses(spawn.Options{Set: spawn.SetOf(spawn.Time), Actions: spawn.Actions{MonotonicOffset: time.Hour}}); ok || !strings.Contains(reason, "has no --monotonic option") {
		t.Errorf("an unshare without --monotonic with offsets: %v %q", ok, reason)
	}
	if pid, ppid, listed := root(Bwrap).ProbePIDInside(); pid != 2 || ppid != 1 || len(listed) != 2 {
		t.Errorf("bwrap's probe inside: %d %d %v; want 2 1 [1 2]", pid, ppid, listed)
	}
	if pid, ppid, listed := (*Launcher)(nil).ProbePIDInside(); pid != 1 || ppid != 0 || len(listed) != 1 {
		t.Errorf("the built-in launcher's probe inside: %d %d %v; want 1 0 [1]", pid, ppid, listed)
	}
}

// TestTrialFailure: a kind whose trial failed without a stated refusal
// fails every set holding it, naming the kind first; a launcher whose
// trial without other kinds failed fails every set, naming itself. Neither
// is a spawn.NotExpressibleError.
func TestTrialFailure(t *testing.T) {
	runc := &Launcher{name: Runc, Path: "/bin/runc", brokenKinds: map[spawn.Kind]string{spawn.IPC: "its container printed no report: EOF"}}
	for _, c := range []struct {
		l    *Launcher
		set  spawn.Set
		want string
	}{
		{runc, spawn.SetOf(spawn.MNT, spawn.PID, spawn.IPC), "ipc: runc failed its trial in new mount, pid and ipc namespaces: its container printed no report: EOF"},
		{runc, spawn.SetOf(spawn.MNT, spawn.UTS), ""},
		{&Launcher{name: Crun, Broken: "signal: killed"}, spawn.SetOf(spawn.MNT), "crun: failed its trial in new mount and pid namespaces: signal: killed"},
		{nil, spawn.All, ""},
	} {
		err := c.l.TrialFailure(c.set)
		if c.want == "" {
			if err != nil {
				t.Errorf("%v in %s: %v, want no failure", c.l, c.set, err)
			}
			continue
		}
		var te *spawn.TrialError
		if !errors.As(err, &te) || errors.Is(err, spawn.ErrNotExpressible) || err.Error() != c.want {
			t.Errorf("%v in %s: %v, want a *spawn.TrialError %q", c.l, c.set, err, c.want)
		}
	}
}

// TestLauncherJSONKeepsTrials: the processes the suite hands a launcher to
// see what its trials found, failures included.
func TestLauncherJSONKeepsTrials(t *testing.T) {
	l := &Launcher{name: Runc, Path: "/bin/runc", Broken: "b",
		refusedKinds: map[spawn.Kind]string{spawn.Time: "t"}, brokenKinds: map[spawn.Kind]string{spawn.IPC: "i"}}
	l.setOptions([]string{"--kill-child", "--fork"})
	data, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var got Launcher
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Broken != "b" || got.RefusedKinds()[spawn.Time] != "t" || got.BrokenKinds()[spawn.IPC] != "i" || !got.HasOption("--kill-child") || len(got.Options()) != 2 {
		t.Errorf("decoded %+v from %s", got, data)
	}
}
