package testbuild

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStaticBuildsAReachableBinaryAndRemoveDeletesIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the preflight command")
	}
	path, err := Static(t.Context(), Preflight)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, filepath.Dir(path)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s has mode %v, want 0755", p, fi.Mode().Perm())
		}
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("the build directory is still there: %v", err)
	}
}

func TestRemoveRefusesOtherPaths(t *testing.T) {
	for _, p := range []string{"", "nsprobe", "/usr/bin/env", filepath.Join(t.TempDir(), "nsprobe")} {
		if err := Remove(p); err == nil {
			t.Errorf("Remove(%q) took it", p)
		}
	}
}
