package spawn

import (
	"encoding/json"
	"errors"
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
	data, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var got Launcher
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Broken != "b" || got.RefusedKinds()[Time] != "t" || got.BrokenKinds()[IPC] != "i" {
		t.Errorf("decoded %+v from %s", got, data)
	}
}
