package spawn

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidateIDMaps(t *testing.T) {
	cases := []struct {
		name    string
		maps    []IDMap
		wantMsg string // empty: valid
	}{
		{"root to root", RootMap(0), ""},
		{"unprivileged range", []IDMap{{0, 100000, 65536}}, ""},
		{"identity", identityMap(), ""},
		{"two disjoint ranges", []IDMap{{0, 1000, 1}, {1, 100000, 65536}}, ""},
		{"empty", nil, "the map is empty"},
		{"zero count", []IDMap{{0, 0, 0}}, "count of 0"},
		{"past the top inside", []IDMap{{4294967295, 0, 1}}, "goes past id 4294967294"},
		{"past the top outside", []IDMap{{0, 4294967290, 10}}, "goes past id"},
		{"overlap inside", []IDMap{{0, 1000, 10}, {5, 5000, 10}}, "overlap inside"},
		{"overlap outside", []IDMap{{0, 1000, 10}, {100, 1005, 10}}, "overlap outside"},
	}
	for _, c := range cases {
		err := ValidateIDMaps(c.maps)
		switch {
		case c.wantMsg == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.name, err)
		case c.wantMsg != "" && err == nil:
			t.Errorf("%s: accepted, want an error saying %q", c.name, c.wantMsg)
		case c.wantMsg != "" && !strings.Contains(err.Error(), c.wantMsg):
			t.Errorf("%s: error %q does not say %q", c.name, err, c.wantMsg)
		}
	}
}

func TestOptionsAreRejectedBeforeAnythingIsCloned(t *testing.T) {
	long := strings.Repeat("h", 65)
	cases := []struct {
		name    string
		opts    Options
		wantMsg string
	}{
		{"no probe", Options{Set: SetOf(UTS)}, "no probe path"},
		{"hostname too long", Options{Probe: "p", Set: SetOf(UTS), Actions: Actions{Hostname: long}}, "at most 64"},
		{"domainname too long", Options{Probe: "p", Set: SetOf(UTS), Actions: Actions{Domainname: long}}, "at most 64"},
		{"hostname without uts", Options{Probe: "p", Set: SetOf(IPC), Actions: Actions{Hostname: "x"}}, "needs the uts kind"},
		{"link name too long", Options{Probe: "p", Set: SetOf(Net), Actions: Actions{MarkerLink: "a-very-long-link-name"}}, "at most 15"},
		{"link without net", Options{Probe: "p", Set: SetOf(UTS), Actions: Actions{MarkerLink: "m0"}}, "needs the net kind"},
		{"queue without ipc", Options{Probe: "p", Set: SetOf(UTS), Actions: Actions{MsgQueueKey: 7}}, "needs the ipc kind"},
		{"offsets without time", Options{Probe: "p", Set: SetOf(UTS), Actions: Actions{MonotonicOffset: time.Hour}}, "need the time kind"},
		{"maps without user", Options{Probe: "p", Set: SetOf(UTS), UIDMap: RootMap(0)}, "no user kind"},
		{"bad uid map", Options{Probe: "p", Set: SetOf(User), UIDMap: []IDMap{{0, 0, 0}}}, "uid map: validate id map"},
		{"bad gid map", Options{Probe: "p", Set: SetOf(User), GIDMap: []IDMap{{0, 0, 5}, {1, 9, 1}}}, "gid map: validate id map"},
	}
	for _, c := range cases {
		// A probe path that cannot exist: if validation let the options
		// through, Run would fail differently, naming a clone failure.
		if c.opts.Probe != "" {
			c.opts.Probe = "/nonexistent/nsprobe"
		}
		_, err := Run(t.Context(), c.opts)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.wantMsg) || strings.Contains(err.Error(), "clone probe") {
			t.Errorf("%s: error %q does not say %q before cloning", c.name, err, c.wantMsg)
		}
	}
}

// identityMap maps every id to itself, so root in the new user namespace
// is root outside too (as the walk-through's 0→0 map, but for all ids).
// Only tests need it: a caller that may map every id is root already.
func identityMap() []IDMap { return []IDMap{{Inside: 0, Outside: 0, Count: math.MaxUint32}} }
