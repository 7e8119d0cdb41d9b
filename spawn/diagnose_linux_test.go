package spawn

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/nsverify/nsverify/internal/testseam"
)

// TestRunWithoutMapsIsDiagnosed reproduces the walk-through's second
// failure: a child that asks for uid and gid 0 in a new user namespace
// that has no maps.
func TestRunWithoutMapsIsDiagnosed(t *testing.T) {
	requireKind(t, User)
	cases := []struct {
		name           string
		setgroupsAllow bool
		errno          syscall.Errno
	}{
		{"setgroups allowed fails in setgroups", true, syscall.EPERM},
		{"setgroups denied fails in setgid", false, syscall.EINVAL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := testseam.WithUserNS(t.Context(), testseam.UserNS{NoMaps: true, SetgroupsAllow: c.setgroupsAllow})
			res, err := runChild(t, ctx, Options{Probe: probePath, Set: SetOf(UTS, User)})
			// Every kernel with user namespaces refuses ids that are not
			// mapped (since 3.8): a child that ran means a map was written
			// although none was asked for.
			if err == nil {
				t.Fatalf("a child cloned into a new user namespace without maps ran: spawn wrote maps although testseam.UserNS.NoMaps was set (its user: %+v)", res.Report.User)
			}
			if !errors.Is(err, c.errno) {
				t.Fatalf("error %q does not wrap %v", err, c.errno)
			}
			for _, want := range []string{
				"spawn uts+user: clone probe: fork/exec " + probePath + ": " + c.errno.Error(),
				"likely cause: clone(CLONE_NEWUTS|CLONE_NEWUSER) failed with ",
				"the child asked for uid/gid 0 in a new user namespace that has no uid/gid map",
				"remedy: give uid and gid maps (e.g. 0 0 1)",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the message does not say %q:\n%s", want, err)
				}
			}
			t.Log(err)
		})
	}
}
