//go:build !linux

package spawn

import "testing"

func TestCloneFlagsAreZeroOffLinux(t *testing.T) {
	for _, k := range kinds {
		if !k.Valid() {
			t.Errorf("%s is not valid", k)
		}
		if f := k.CloneFlag(); f != 0 {
			t.Errorf("%s has clone flag %#x on a system without namespaces", k, f)
		}
	}
	if All.CloneFlags() != 0 {
		t.Errorf("All.CloneFlags() = %#x, want 0", All.CloneFlags())
	}
}
