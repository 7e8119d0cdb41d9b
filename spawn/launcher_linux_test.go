package spawn

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// findOrSkip finds a launcher, skipping the test where it is not installed
// or refuses to run on this machine.
func findOrSkip(t *testing.T, name string) *Launcher {
	t.Helper()
	l, err := FindLauncher(name, "", probePath)
	if err != nil {
		t.Fatalf("find %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	if l.Refused != "" {
		t.Skip(l.Refused)
	}
	return l
}

// TestLaunchersStartTheProbeInTheirSet runs the probe through unshare and
// bwrap in a set they express and checks the host learns the probe's
// pid from its hello while the probe is alive, and the probe is in the
// namespaces asked for and not in the others.
func TestLaunchersStartTheProbeInTheirSet(t *testing.T) {
	requireRoot(t)
	self := map[string]string{}
	for _, k := range []Kind{UTS, Net, PID, MNT} {
		link, err := os.Readlink("/proc/self/ns/" + string(k))
		if err != nil {
			t.Fatal(err)
		}
		self[string(k)] = link
	}
	// Not the OCI runtimes: runc bind-mounts its binary on the host for a
	// moment at every start, and `go test ./...` runs this package beside
	// the suite, whose mount oracles would see it. The suite's matrix runs
	// them, alone.
	for _, name := range []string{LauncherUnshare, LauncherBwrap} {
		t.Run(name, func(t *testing.T) {
			l := findOrSkip(t, name)
			set := SetOf(UTS, PID, MNT)
			var heldNS string
			opts := Options{Probe: probePath, Set: set, Launcher: l, Actions: Actions{Hostname: "nsv-launched"},
				WhileHeld: func(pid int) { heldNS, _ = os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/uts") }}
			if ok, reason := l.Expresses(opts); !ok {
				t.Skip(reason)
			}
			res, err := runChild(t, context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			r := res.Report
			wantPID, wantPPID, _ := l.ProbePIDInside()
			if r.PID != wantPID || r.PPID != wantPPID {
				t.Errorf("pid %d ppid %d inside, want %d %d", r.PID, r.PPID, wantPID, wantPPID)
			}
			if res.HostPID <= 1 || res.HostPID == res.PID {
				t.Errorf("host pid %d (launcher %d): the hello gave no pid of the probe's own", res.HostPID, res.PID)
			}
			if heldNS == "" || heldNS == self["uts"] {
				t.Errorf("the host saw the held probe in uts namespace %q, its own is %q", heldNS, self["uts"])
			}
			if r.Hostname != "nsv-launched" {
				t.Errorf("hostname %q inside, errors %v", r.Hostname, r.Errors)
			}
			host, _ := os.Hostname()
			if host == "nsv-launched" {
				t.Fatal("the host's hostname changed")
			}
			if res.Launcher != name {
				t.Errorf("result names launcher %q", res.Launcher)
			}
		})
	}
}

// TestLauncherRefusesWhatItCannotExpress: a set a launcher cannot make is
// a NotExpressibleError, given before anything runs.
func TestLauncherRefusesWhatItCannotExpress(t *testing.T) {
	bwrap := &Launcher{Name: LauncherBwrap, Path: "/nonexistent/bwrap"}
	_, err := Run(context.Background(), Options{Probe: probePath, Set: SetOf(UTS), Launcher: bwrap})
	var ne *NotExpressibleError
	if !errors.As(err, &ne) || !errors.Is(err, ErrNotExpressible) || !strings.Contains(ne.Reason, "mount namespace") {
		t.Fatalf("bwrap without mnt: got %v", err)
	}
	unshare := withHelp(t, &Launcher{Name: LauncherUnshare, Path: "/nonexistent/unshare"}, "unshare-2.38.1")
	_, err = Run(context.Background(), Options{Probe: probePath, Set: SetOf(Time), Launcher: unshare, Actions: Actions{MonotonicOffset: 1500 * time.Millisecond}})
	if !errors.As(err, &ne) || !strings.Contains(ne.Reason, "whole seconds") {
		t.Fatalf("unshare with a fractional offset: got %v", err)
	}
}

// TestUnshareArgvUsesTheOptionsItHas: a current unshare is asked for the
// caller's maps with --map-user and --map-group and ends the probe with
// --kill-child; util-linux 2.23, which has neither, is asked with
// --map-root-user and nothing it would refuse.
func TestUnshareArgvUsesTheOptionsItHas(t *testing.T) {
	opts := Options{Probe: "/p", Set: SetOf(UTS, PID, User)}
	for _, c := range []struct {
		help      string
		want, not []string
	}{
		{"unshare-2.38.1", []string{"--uts", "--pid", "--user", "--map-user=0", "--map-group=0", "--fork", "--kill-child"}, []string{"--map-root-user"}},
		{"unshare-2.23.2", []string{"--uts", "--pid", "--user", "--map-root-user", "--fork"}, []string{"--map-user=0", "--map-group=0", "--kill-child"}},
	} {
		l := withHelp(t, &Launcher{Name: LauncherUnshare, Path: "/bin/unshare"}, c.help)
		if ok, reason := l.Expresses(opts); !ok {
			t.Fatalf("%s cannot express %s: %s", c.help, opts.Set, reason)
		}
		argv, _, err := l.launcherArgv(opts, []string{"-x"})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !slices.Contains(argv, w) {
				t.Errorf("%s: argv %q has no %s", c.help, argv, w)
			}
		}
		for _, n := range c.not {
			if slices.Contains(argv, n) {
				t.Errorf("%s: argv %q has %s, which it does not list", c.help, argv, n)
			}
		}
		if tail := argv[len(argv)-3:]; !slices.Equal(tail, []string{"--", "/p", "-x"}) {
			t.Errorf("%s: argv %q does not end with the probe and its arguments", c.help, argv)
		}
		if l.OCI() || l.Builtin() {
			t.Errorf("%s: unshare is taken for an OCI runtime or the built-in launcher", c.help)
		}
	}
	if got, _, _ := withHelp(t, &Launcher{Name: LauncherUnshare, Path: "/bin/unshare"}, "unshare-2.38.1").launcherArgv(Options{Probe: "/p", Set: SetOf(Time)}, nil); slices.Contains(got, "--monotonic") {
		t.Errorf("a time namespace without offsets is asked for offsets: %q", got)
	}
}

func TestRuntimeMessage(t *testing.T) {
	runc := `time="2026-12-02T02:02:44Z" level=error msg="runc run failed: namespace {\"time\" \"\"} does not exist"`
	if got := runtimeMessage("warning\n" + runc + "\n"); got != `runc run failed: namespace {"time" ""} does not exist` {
		t.Errorf("runc: %q", got)
	}
	if got := runtimeMessage("cgroups in hybrid mode not supported, drop all controllers from cgroupv2\n"); got != "cgroups in hybrid mode not supported, drop all controllers from cgroupv2" {
		t.Errorf("crun: %q", got)
	}
}

// TestFindLauncherSaysWhyNot: an unknown launcher is an error; a missing
// program is a launcher that refuses, with a reason a user can act on.
func TestFindLauncherSaysWhyNot(t *testing.T) {
	if _, err := FindLauncher("docker", "", probePath); err == nil || !strings.Contains(err.Error(), `unknown launcher "docker"`) {
		t.Errorf("FindLauncher(docker): %v", err)
	}
	l, err := FindLauncher(LauncherBwrap, "/nonexistent/bwrap", probePath)
	if err != nil || !strings.Contains(l.Refused, "/nonexistent/bwrap --version failed") {
		t.Errorf("a bwrap that is not there: %+v, %v", l, err)
	}
	if ok, reason := l.Expresses(Options{Set: SetOf(MNT)}); ok || reason != l.Refused {
		t.Errorf("a refused launcher expresses mnt: %v %q", ok, reason)
	}
	t.Setenv("PATH", t.TempDir())
	l, err = FindLauncher(LauncherCrun, "", probePath)
	if err != nil || !strings.Contains(l.Refused, "crun is not on PATH; install it (package crun)") {
		t.Errorf("crun off PATH: %+v, %v", l, err)
	}
}

// TestTrialsRecordOnlyStatedRefusals: a failed trial is n/a only where the
// runtime says so; otherwise the launcher, or the kind, is broken.
func TestTrialsRecordOnlyStatedRefusals(t *testing.T) {
	l := &Launcher{Name: LauncherRunc}
	l.recordKindTrial(Time, `runc run failed: namespace {"time" ""} does not exist`)
	l.recordKindTrial(IPC, "its container printed no report: decode probe report: EOF")
	if _, ok := l.refusedKinds[Time]; !ok || len(l.refusedKinds) != 1 {
		t.Errorf("refused kinds %v, want time alone", l.refusedKinds)
	}
	if _, ok := l.brokenKinds[IPC]; !ok || len(l.brokenKinds) != 1 {
		t.Errorf("broken kinds %v, want ipc alone", l.brokenKinds)
	}

	hybrid := &Launcher{Name: LauncherCrun}
	hybrid.recordBaseTrial("cgroups in hybrid mode not supported, drop all controllers from cgroupv2")
	if !strings.Contains(hybrid.Refused, "hybrid") || hybrid.Broken != "" {
		t.Errorf("crun on a hybrid layout: refused %q, broken %q", hybrid.Refused, hybrid.Broken)
	}
	crashed := &Launcher{Name: LauncherCrun}
	crashed.recordBaseTrial("signal: segmentation fault, with nothing on stderr or stdout")
	if crashed.Refused != "" || !strings.Contains(crashed.Broken, "segmentation fault") {
		t.Errorf("crun that crashed: refused %q, broken %q", crashed.Refused, crashed.Broken)
	}
}

// TestRunFailsOnABrokenKind: Run through a launcher whose trial with a
// kind failed fails, before anything runs, with the trial's error naming
// the kind, and is not n/a.
func TestRunFailsOnABrokenKind(t *testing.T) {
	runc := &Launcher{Name: LauncherRunc, Path: "/nonexistent/runc", brokenKinds: map[Kind]string{IPC: "its container printed no report: EOF"}}
	_, err := Run(context.Background(), Options{Probe: probePath, Set: SetOf(MNT, PID, IPC), Launcher: runc})
	var te *TrialError
	if !errors.As(err, &te) || te.Kind != IPC || errors.Is(err, ErrNotExpressible) || !strings.Contains(err.Error(), "ipc: runc failed its trial") {
		t.Fatalf("runc with a broken ipc trial: got %v", err)
	}
	if _, _, err := runc.BareCommand(SetOf(MNT, IPC), probePath); !errors.As(err, &te) {
		t.Errorf("bare command with a broken ipc trial: got %v", err)
	}
}
