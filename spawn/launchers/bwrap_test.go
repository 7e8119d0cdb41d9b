package launchers

import (
	"slices"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/spawn"
)

// TestBwrapTablesCoverEveryKind: each kind is made by one option of
// bwrap's, or always made, or never: no kind falls between its tables.
func TestBwrapTablesCoverEveryKind(t *testing.T) {
	for _, k := range spawn.All.Kinds() {
		_, opt := bwrapKindOption[k]
		_, always := bwrapAlways[k]
		_, never := bwrapNever[k]
		n := 0
		for _, in := range []bool{opt, always, never} {
			if in {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: option %v, always %v, never %v; want exactly one", k, opt, always, never)
		}
	}
}

// TestBwrapCommand: bwrap is given the host's root, the option of each
// kind of the set but mnt, the ids inside with user, every capability,
// --die-with-parent where it has it, then the probe and its arguments.
func TestBwrapCommand(t *testing.T) {
	l := withHelp(t, &Launcher{name: Bwrap, Path: "/bin/bwrap"}, "bwrap-0.8.0")
	opts := spawn.Options{Probe: "/p", Set: spawn.SetOf(spawn.UTS, spawn.PID, spawn.MNT, spawn.User), UIDMap: spawn.RootMap(1000), GIDMap: spawn.RootMap(1000)}
	c, err := l.Command(opts, []string{"-x"})
	if err != nil {
		t.Fatal(err)
	}
	want := "/bin/bwrap --dev-bind / / --unshare-uts --unshare-pid --unshare-user --uid 0 --gid 0 --cap-add ALL --die-with-parent -- /p -x"
	if got := strings.Join(c.Argv, " "); got != want || c.OwnCgroup || c.Done != nil {
		t.Errorf("bwrap in %s: %q (own cgroup %v); want %q", opts.Set, got, c.OwnCgroup, want)
	}
	if slices.Contains(c.Argv, "--unshare-mnt") {
		t.Errorf("bwrap is asked for the mount namespace it always makes: %q", c.Argv)
	}
	if pid, ppid, listed := l.ProbePIDInside(); pid != 2 || ppid != 1 || !slices.Equal(listed, []int{1, 2}) {
		t.Errorf("bwrap's probe inside: %d %d %v; want 2 1 [1 2]", pid, ppid, listed)
	}
}
