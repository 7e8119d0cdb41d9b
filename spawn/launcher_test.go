package spawn

import (
	"strings"
	"testing"
)

// TestNeedsBuiltin: joins, confinement actions and single observations go
// through the built-in launcher alone, naming the launcher that cannot;
// new namespaces with the ordinary actions go through any.
func TestNeedsBuiltin(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{Set: All, Actions: Actions{Hostname: "h", MountProc: true}}, ""},
		{Options{Set: SetOf(UTS), Join: Join{Paths: map[Kind]string{IPC: "/proc/1/ns/ipc"}}}, "bwrap is given new namespaces only"},
		{Options{Set: SetOf(User), Actions: Actions{Confine: Confine{TrySetgroups: true}}}, "run through the built-in launcher"},
		{Options{Set: None, Subcommand: "pid"}, "run through the built-in launcher"},
	} {
		got := c.opts.NeedsBuiltin("bwrap")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q, want %q", c.opts, got, c.want)
		}
	}
}

// TestTrialErrorNamesTheKindFirst: a failed trial reads as an oracle's
// failure does, the kind first; without a kind, the launcher first.
func TestTrialErrorNamesTheKindFirst(t *testing.T) {
	if got := (&TrialError{Launcher: "runc", Kind: Time, Reason: "r"}).Error(); got != "time: runc failed its trial in new mount, pid and time namespaces: r" {
		t.Errorf("with a kind: %q", got)
	}
	if got := (&TrialError{Launcher: "crun", Reason: "r"}).Error(); got != "crun: failed its trial in new mount and pid namespaces: r" {
		t.Errorf("without a kind: %q", got)
	}
}
