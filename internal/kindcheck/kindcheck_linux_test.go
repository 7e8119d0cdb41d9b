package kindcheck

import (
	"context"
	"testing"
)

// TestFlagsAreTheKernels pins the table against clone(2)'s values, since
// the point of the table is to be this package's own.
func TestFlagsAreTheKernels(t *testing.T) {
	want := map[string]uintptr{
		"uts": 0x04000000, "ipc": 0x08000000, "pid": 0x20000000, "mnt": 0x00020000,
		"user": 0x10000000, "net": 0x40000000, "cgroup": 0x02000000, "time": 0x00000080,
	}
	if len(flags) != len(Kinds) {
		t.Fatalf("flags has %d kinds, Kinds %d", len(flags), len(Kinds))
	}
	for _, k := range Kinds {
		if flags[k] != want[k] {
			t.Errorf("flag of %s = %#x, want %#x", k, flags[k], want[k])
		}
	}
}

// TestCheck runs the check on this machine: every kind gets a result with
// evidence, and where the facts say a kind must be usable, it was made.
func TestCheck(t *testing.T) {
	r, err := Check(context.Background())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(r.Kinds) != len(Kinds) {
		t.Fatalf("Check returned %d kinds, want %d", len(r.Kinds), len(Kinds))
	}
	for i, res := range r.Kinds {
		if res.Kind != Kinds[i] || res.Evidence == "" {
			t.Errorf("result %d = %+v, want kind %s with evidence", i, res, Kinds[i])
		}
		t.Logf("%s: can %v: %s", res.Kind, res.Can, res.Evidence)
		if must, why := r.MustBeUsable(res.Kind); must && !res.Direct {
			t.Errorf("%s: %s, yet unshare failed: %s", res.Kind, why, res.Evidence)
		}
	}
	// A process always has the kinds that every kernel with /proc/self/ns
	// has had from the start, so the entries are read correctly.
	for _, k := range []string{"uts", "ipc", "net"} {
		if res, _ := r.Kind(k); !res.Present {
			t.Errorf("%s: /proc/self/ns/%s reported missing", k, k)
		}
	}
}
