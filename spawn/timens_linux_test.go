package spawn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsverify/nsverify/probes"
)

// Run makes a child's time namespace from its thread for time or in the
// child it forks, never for the rest of the caller: afterwards every
// thread of the caller is in its own time namespace, at most one (the
// thread for time) has another for its children, and a child started
// without time is in the caller's.
func TestMakingTimeLeavesTheCallerInItsTimeNamespace(t *testing.T) {
	requireRoot(t)
	requireKind(t, Time)
	own := ownNSID(t, "time")
	sets := []Set{SetOf(Time), SetOf(Time, Net)}
	if ok, _ := ReadPrivilege().CanCreate(SetOf(User)); ok {
		sets = append(sets, SetOf(Time, User))
	}
	for _, set := range sets {
		opts := Options{Probe: probePath, Set: set, Actions: Actions{MonotonicOffset: time.Hour}}
		if makerOfTime(t.Context(), opts) == timeByProbe {
			t.Skipf("on this kernel (before %s) the probe makes the time namespace, not Run", timeNSOnExecSince)
		}
		if set.Has(User) {
			opts.UIDMap, opts.GIDMap = CallerMaps()
		}
		if _, err := Run(t.Context(), opts); err != nil {
			t.Fatal(err)
		}
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
	res, err := Run(t.Context(), Options{Probe: probePath, Set: SetOf(Net)})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Report.NS["time"]; got != own {
		t.Errorf("a child started without time after children with it is in time namespace %v, not the caller's %v", got, own)
	}
}

// A step of the child Run forks that fails is named, with its errno,
// before anything is exec'd: here the probe's path, which does not exist.
func TestAForkedChildNamesTheStepThatFailed(t *testing.T) {
	requireRoot(t)
	requireKind(t, Time)
	opts := Options{Probe: filepath.Join(t.TempDir(), "no-probe"), Set: SetOf(Time, User), Actions: Actions{MonotonicOffset: time.Hour}}
	opts.UIDMap, opts.GIDMap = CallerMaps()
	if makerOfTime(t.Context(), opts) != timeByFork {
		t.Skipf("on this kernel (before %s) the probe makes the time namespace, not Run", timeNSOnExecSince)
	}
	_, err := Run(t.Context(), opts)
	var e *Error
	if !errors.As(err, &e) || e.Op != "clone probe" || !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "exec the probe") {
		t.Fatalf("Run with a missing probe = %v, want a clone error naming the exec and ENOENT", err)
	}
}
