package launchers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsverify/nsverify/spawn"
)

// TestUnshareSpellsEveryKind: unshare has an option for each of the eight
// kinds, each its own.
func TestUnshareSpellsEveryKind(t *testing.T) {
	seen := map[string]spawn.Kind{}
	for _, k := range spawn.All.Kinds() {
		opt, ok := unshareKindOption[k]
		if !ok || !strings.HasPrefix(opt, "--") {
			t.Errorf("unshare spells %s as %q", k, opt)
		}
		if other, dup := seen[opt]; dup {
			t.Errorf("unshare spells %s and %s both as %s", other, k, opt)
		}
		seen[opt] = k
	}
}

// TestUnshareArgvUsesTheOptionsItHas: a current unshare is asked for the
// caller's maps with --map-user and --map-group and ends the probe with
// --kill-child; util-linux 2.23, which has neither, is asked with
// --map-root-user and nothing it would refuse.
func TestUnshareArgvUsesTheOptionsItHas(t *testing.T) {
	opts := spawn.Options{Probe: "/p", Set: spawn.SetOf(spawn.UTS, spawn.PID, spawn.User)}
	for _, c := range []struct {
		help      string
		want, not []string
	}{
		{"unshare-2.38.1", []string{"--uts", "--pid", "--user", "--map-user=0", "--map-group=0", "--fork", "--kill-child"}, []string{"--map-root-user"}},
		{"unshare-2.23.2", []string{"--uts", "--pid", "--user", "--map-root-user", "--fork"}, []string{"--map-user=0", "--map-group=0", "--kill-child"}},
	} {
		l := withHelp(t, &Launcher{name: Unshare, Path: "/bin/unshare"}, c.help)
		if ok, reason := l.Expresses(opts); !ok {
			t.Fatalf("%s cannot express %s: %s", c.help, opts.Set, reason)
		}
		c2, err := l.Command(opts, []string{"-x"})
		if err != nil {
			t.Fatal(err)
		}
		argv := c2.Argv
		if c2.OwnCgroup || c2.Done != nil {
			t.Errorf("%s: unshare is said to place the probe in its cgroup itself, or to leave something to remove", c.help)
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
	got, err := withHelp(t, &Launcher{name: Unshare, Path: "/bin/unshare"}, "unshare-2.38.1").Command(spawn.Options{Probe: "/p", Set: spawn.SetOf(spawn.Time)}, nil)
	if err != nil || slices.Contains(got.Argv, "--monotonic") {
		t.Errorf("a time namespace without offsets is asked for offsets: %+v, %v", got, err)
	}
	got, err = withHelp(t, &Launcher{name: Unshare, Path: "/bin/unshare"}, "unshare-2.38.1").Command(spawn.Options{Probe: "/p", Set: spawn.SetOf(spawn.Time),
		Actions: spawn.Actions{MonotonicOffset: -3 * time.Second, BoottimeOffset: 86400 * time.Second}}, nil)
	if err != nil || !strings.Contains(strings.Join(got.Argv, " "), "--monotonic -3 --boottime 86400") {
		t.Errorf("a time namespace with offsets: %+v, %v; want --monotonic -3 --boottime 86400", got, err)
	}
}
