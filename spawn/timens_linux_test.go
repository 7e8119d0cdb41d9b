package spawn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsverify/nsverify/internal/testseam"
	"github.com/nsverify/nsverify/probes"
)

// Run makes a child's time namespace from its thread for time or in the
// child it forks, never for the rest of the caller: afterwards every
// thread of the caller is in its own time namespace, at most one (the
// thread for time) has another for its children, and a child started
// without time is in the caller's.
func TestMakingTimeLeavesTheCallerInItsTimeNamespace(t *testing.T) {
	requireKind(t, Time)
	own := ownNSID(t, "time")
	for _, set := range []Set{SetOf(Time), SetOf(Time, Net), SetOf(Time, User)} {
		opts := Options{Probe: probePath, Set: set, Actions: Actions{MonotonicOffset: time.Hour}}
		if maker, _ := makerOfTime(t.Context(), opts); maker.byProbe() {
			t.Skipf("on this kernel (before %s) the probe makes the time namespace, not Run", timeNSOnExecSince)
		}
		if set.Has(User) {
			opts.UIDMap, opts.GIDMap = CallerMaps()
		}
		// A set this machine cannot make skips alone; the others still
		// leave the caller to be looked at below.
		t.Run(set.String(), func(t *testing.T) {
			if _, err := runChild(t, t.Context(), opts); err != nil {
				t.Fatal(err)
			}
		})
	}
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		t.Fatal(err)
	}
	var forChildren []string
	for _, task := range tasks {
		id, err := probes.StatNSID(task + "/ns/time")
		if errors.Is(err, os.ErrNotExist) {
			continue // ended meanwhile
		}
		if err != nil {
			t.Fatal(err)
		}
		if id != own {
			t.Errorf("thread %s of the caller is in time namespace %v, not its own %v", filepath.Base(task), id, own)
		}
		if id, err := probes.StatNSID(task + "/ns/time_for_children"); err == nil && id != own {
			forChildren = append(forChildren, filepath.Base(task))
		}
	}
	if len(forChildren) > 1 {
		t.Errorf("threads %v of the caller have another time namespace for their children; only Run's thread for time may", forChildren)
	}
	res, err := runChild(t, t.Context(), Options{Probe: probePath, Set: SetOf(Net)})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Report.NS["time"]; got != own {
		t.Errorf("a child started without time after children with it is in time namespace %v, not the caller's %v", got, own)
	}
}

// A way of making a time namespace that cannot make the set asked for is
// refused before anything is cloned, saying why: the test seam forces only
// what Run itself might do.
func TestATimeWayThatCannotMakeTheSetIsRefused(t *testing.T) {
	opts := Options{Probe: "/nonexistent/nsprobe", Set: SetOf(Time, User), Actions: Actions{MonotonicOffset: time.Hour}}
	for _, c := range []struct {
		way  testseam.TimeNS
		opts Options
		want string
	}{
		{testseam.TimeNSThread, opts, "not the child's new one; use fork"},
		{testseam.TimeNSFork, Options{Probe: opts.Probe, Set: SetOf(Time), Actions: opts.Actions}, "only with user"},
		{"sideways", opts, "unknown way"},
	} {
		_, err := Run(testseam.WithTimeNS(t.Context(), c.way), c.opts)
		if !execEntersTimeNS() {
			c.want = "needs Linux " + timeNSOnExecSince
		}
		if c.way == "sideways" {
			c.want = "unknown way"
		}
		var e *Error
		if !errors.As(err, &e) || e.Op != "prepare probe" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("time made by %s in %s: %v, want a refusal before the clone saying %q", c.way, c.opts.Set, err, c.want)
		}
	}
	// Without offsets no way is needed, and none is refused.
	if m, err := makerOfTime(testseam.WithTimeNS(t.Context(), testseam.TimeNSThread), Options{Set: SetOf(Time, User)}); err != nil || m != timeByClone {
		t.Errorf("time without offsets: %s, %v; want the clone flag", m, err)
	}
}

// A step of the child Run forks that fails is named, with its errno,
// before anything is exec'd: here the probe's path, which does not exist.
func TestAForkedChildNamesTheStepThatFailed(t *testing.T) {
	requireKind(t, Time)
	opts := Options{Probe: filepath.Join(t.TempDir(), "no-probe"), Set: SetOf(Time, User), Actions: Actions{MonotonicOffset: time.Hour}}
	opts.UIDMap, opts.GIDMap = CallerMaps()
	if maker, _ := makerOfTime(t.Context(), opts); maker != timeByFork {
		t.Skipf("on this kernel (before %s) the probe makes the time namespace, not Run", timeNSOnExecSince)
	}
	_, err := runChild(t, t.Context(), opts)
	var e *Error
	if !errors.As(err, &e) || e.Op != "clone probe" || !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "exec the probe") {
		t.Fatalf("Run with a missing probe = %v, want a clone error naming the exec and ENOENT", err)
	}
}
