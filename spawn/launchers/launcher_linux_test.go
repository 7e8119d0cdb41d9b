package launchers

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsverify/nsverify/spawn"
)

// findOrSkip finds a launcher, skipping the test where it is not installed
// or refuses to run on this machine.
func findOrSkip(t *testing.T, name string) *Launcher {
	t.Helper()
	l, err := Find(name, "", probePath)
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
	for _, k := range []spawn.Kind{spawn.UTS, spawn.Net, spawn.PID, spawn.MNT} {
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
	for _, name := range []string{Unshare, Bwrap} {
		t.Run(name, func(t *testing.T) {
			l := findOrSkip(t, name)
			set := spawn.SetOf(spawn.UTS, spawn.PID, spawn.MNT)
			var heldNS string
			opts := spawn.Options{Probe: probePath, Set: set, Launcher: l, Actions: spawn.Actions{Hostname: "nsv-launched"},
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
// a spawn.NotExpressibleError, given before anything runs.
func TestLauncherRefusesWhatItCannotExpress(t *testing.T) {
	bwrap := &Launcher{name: Bwrap, Path: "/nonexistent/bwrap"}
	_, err := spawn.Run(context.Background(), spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.UTS), Launcher: bwrap})
	var ne *spawn.NotExpressibleError
	if !errors.As(err, &ne) || !errors.Is(err, spawn.ErrNotExpressible) || !strings.Contains(ne.Reason, "mount namespace") {
		t.Fatalf("bwrap without mnt: got %v", err)
	}
	unshare := withHelp(t, &Launcher{name: Unshare, Path: "/nonexistent/unshare"}, "unshare-2.38.1")
	_, err = spawn.Run(context.Background(), spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.Time), Launcher: unshare, Actions: spawn.Actions{MonotonicOffset: 1500 * time.Millisecond}})
	if !errors.As(err, &ne) || !strings.Contains(ne.Reason, "whole seconds") {
		t.Fatalf("unshare with a fractional offset: got %v", err)
	}
}

// TestFindSaysWhyNot: an unknown launcher is an error; a missing
// program is a launcher that refuses, with a reason a user can act on.
func TestFindSaysWhyNot(t *testing.T) {
	if _, err := Find("docker", "", probePath); err == nil || !strings.Contains(err.Error(), `unknown launcher "docker"`) {
		t.Errorf("Find(docker): %v", err)
	}
	l, err := Find(Bwrap, "/nonexistent/bwrap", probePath)
	if err != nil || !strings.Contains(l.Refused, "/nonexistent/bwrap --version failed") {
		t.Errorf("a bwrap that is not there: %+v, %v", l, err)
	}
	if ok, reason := l.Expresses(spawn.Options{Set: spawn.SetOf(spawn.MNT)}); ok || reason != l.Refused {
		t.Errorf("a refused launcher expresses mnt: %v %q", ok, reason)
	}
	t.Setenv("PATH", t.TempDir())
	l, err = Find(Crun, "", probePath)
	if err != nil || !strings.Contains(l.Refused, "crun is not on PATH; install it (package crun)") {
		t.Errorf("crun off PATH: %+v, %v", l, err)
	}
}

// TestTrialsRecordOnlyStatedRefusals: a failed trial is n/a only where the
// runtime says so; otherwise the launcher, or the kind, is broken.
func TestTrialsRecordOnlyStatedRefusals(t *testing.T) {
	l := &Launcher{name: Runc}
	l.recordKindTrial(spawn.Time, `runc run failed: namespace {"time" ""} does not exist`)
	l.recordKindTrial(spawn.IPC, "its container printed no report: decode probe report: EOF")
	if _, ok := l.refusedKinds[spawn.Time]; !ok || len(l.refusedKinds) != 1 {
		t.Errorf("refused kinds %v, want time alone", l.refusedKinds)
	}
	if _, ok := l.brokenKinds[spawn.IPC]; !ok || len(l.brokenKinds) != 1 {
		t.Errorf("broken kinds %v, want ipc alone", l.brokenKinds)
	}

	hybrid := &Launcher{name: Crun}
	hybrid.recordBaseTrial("cgroups in hybrid mode not supported, drop all controllers from cgroupv2")
	if !strings.Contains(hybrid.Refused, "hybrid") || hybrid.Broken != "" {
		t.Errorf("crun on a hybrid layout: refused %q, broken %q", hybrid.Refused, hybrid.Broken)
	}
	crashed := &Launcher{name: Crun}
	crashed.recordBaseTrial("signal: segmentation fault, with nothing on stderr or stdout")
	if crashed.Refused != "" || !strings.Contains(crashed.Broken, "segmentation fault") {
		t.Errorf("crun that crashed: refused %q, broken %q", crashed.Refused, crashed.Broken)
	}
}

// TestRunFailsOnABrokenKind: spawn.Run through a launcher whose trial with a
// kind failed fails, before anything runs, with the trial's error naming
// the kind, and is not n/a.
func TestRunFailsOnABrokenKind(t *testing.T) {
	runc := &Launcher{name: Runc, Path: "/nonexistent/runc", brokenKinds: map[spawn.Kind]string{spawn.IPC: "its container printed no report: EOF"}}
	_, err := spawn.Run(context.Background(), spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.MNT, spawn.PID, spawn.IPC), Launcher: runc})
	var te *spawn.TrialError
	if !errors.As(err, &te) || te.Kind != spawn.IPC || errors.Is(err, spawn.ErrNotExpressible) || !strings.Contains(err.Error(), "ipc: runc failed its trial") {
		t.Fatalf("runc with a broken ipc trial: got %v", err)
	}
	if _, _, err := runc.BareCommand(spawn.SetOf(spawn.MNT, spawn.IPC), probePath); !errors.As(err, &te) {
		t.Errorf("bare command with a broken ipc trial: got %v", err)
	}
}
