package spawn

import (
	"strings"
	"testing"
)

func TestParseSetAcceptsEveryWrittenForm(t *testing.T) {
	cases := []struct {
		in   string
		want Set
	}{
		{"", None},
		{"none", None},
		{"NONE", None},
		{"all", All},
		{"uts", SetOf(UTS)},
		{"uts,ipc", SetOf(UTS, IPC)},
		{"uts+ipc", SetOf(UTS, IPC)},
		{"ipc+uts", SetOf(UTS, IPC)},
		{" net , user ", SetOf(User, Net)},
		{"uts+ipc+pid+mnt+user+net+cgroup+time", All},
	}
	for _, c := range cases {
		got, err := ParseSet(c.in)
		if err != nil {
			t.Errorf("ParseSet(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseSet(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseSetRejectsUnknownAndRepeatedKinds(t *testing.T) {
	cases := []struct{ in, wantMsg string }{
		{"uts,bogus", `unknown namespace kind; use one of uts ipc pid mnt user net cgroup time`},
		{"uts+uts", `kind "uts" is given twice`},
		{"mount", `unknown namespace kind`},
		{"+", `no kind given`},
	}
	for _, c := range cases {
		_, err := ParseSet(c.in)
		if err == nil {
			t.Errorf("ParseSet(%q) succeeded, want an error", c.in)
			continue
		}
		if !strings.Contains(err.Error(), c.wantMsg) {
			t.Errorf("ParseSet(%q) error %q does not say %q", c.in, err, c.wantMsg)
		}
	}
}

func TestSetPrintsInFixedOrder(t *testing.T) {
	if got := SetOf(Net, UTS, Time).String(); got != "uts+net+time" {
		t.Errorf("String() = %q, want uts+net+time", got)
	}
	if got := None.String(); got != "none" {
		t.Errorf("None.String() = %q, want none", got)
	}
	for _, s := range PowerSet(All) {
		back, err := ParseSet(s.String())
		if err != nil || back != s {
			t.Errorf("ParseSet(%q) = %v, %v; want %v", s.String(), back, err, s)
		}
	}
}

func TestPowerSetIsCompleteSortedAndDeterministic(t *testing.T) {
	sets := PowerSet(All)
	if len(sets) != 256 {
		t.Fatalf("PowerSet(All) has %d sets, want 256", len(sets))
	}
	seen := map[Set]bool{}
	for i, s := range sets {
		if seen[s] {
			t.Fatalf("set %s appears twice", s)
		}
		seen[s] = true
		if i > 0 && sets[i-1].Len() > s.Len() {
			t.Fatalf("%s (size %d) comes after %s (size %d)", s, s.Len(), sets[i-1], sets[i-1].Len())
		}
	}
	if sets[0] != None || sets[255] != All {
		t.Errorf("first and last are %s and %s, want none and all", sets[0], sets[255])
	}
	if sets[1] != SetOf(UTS) || sets[9] != SetOf(UTS, IPC) {
		t.Errorf("sets[1], sets[9] = %s, %s; want uts, uts+ipc", sets[1], sets[9])
	}
	again := PowerSet(All)
	for i := range sets {
		if sets[i] != again[i] {
			t.Fatalf("PowerSet is not deterministic at %d: %s vs %s", i, sets[i], again[i])
		}
	}
	sub := PowerSet(SetOf(UTS, Net))
	want := []Set{None, SetOf(UTS), SetOf(Net), SetOf(UTS, Net)}
	if len(sub) != len(want) {
		t.Fatalf("PowerSet(uts+net) = %v", sub)
	}
	for i := range want {
		if sub[i] != want[i] {
			t.Errorf("PowerSet(uts+net)[%d] = %s, want %s", i, sub[i], want[i])
		}
	}
}
