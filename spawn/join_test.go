package spawn

import (
	"slices"
	"strings"
	"testing"
)

func TestJoinValidateRefusesWrongCombinationsBeforeCloning(t *testing.T) {
	cases := []struct {
		name string
		join Join
		set  Set
		a    Actions
		want string
	}{
		{"nothing joined", Join{}, SetOf(UTS), Actions{}, ""},
		{"paths and pidfd", Join{Paths: map[Kind]string{Net: "/run/netns/a"}, PID: 1, Kinds: SetOf(UTS)}, None, Actions{}, "not both"},
		{"pidfd without kinds", Join{PID: 1}, None, Actions{}, "at least one kind"},
		{"kinds without pid", Join{Kinds: SetOf(Net)}, None, Actions{}, "positive pid"},
		{"unknown kind", Join{Paths: map[Kind]string{"bogus": "/x"}}, None, Actions{}, "unknown namespace kind"},
		{"relative path", Join{Paths: map[Kind]string{Net: "run/netns/a"}}, None, Actions{}, "not absolute"},
		{"made and joined", Join{PID: 1, Kinds: SetOf(Net, UTS)}, SetOf(UTS, IPC), Actions{}, "uts is both in the set to create"},
		{"new user namespace", Join{PID: 1, Kinds: SetOf(Net)}, SetOf(User), Actions{}, "holds no capability"},
		{"confinement", Join{PID: 1, Kinds: SetOf(Net)}, None, Actions{Confine: Confine{TrySetgroups: true}}, "confinement actions"},
	}
	for _, c := range cases {
		err := c.join.validate(c.set, c.a)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestJoinArgsNameKindsUserFirst(t *testing.T) {
	byPath := Join{Paths: map[Kind]string{Net: "/run/netns/a", User: "/proc/7/ns/user", MNT: "/proc/7/ns/mnt"}}
	if got, want := byPath.args(), []string{"-join", "user=/proc/7/ns/user,net=/run/netns/a,mnt=/proc/7/ns/mnt"}; !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
	byPidfd := Join{PID: 7, Kinds: SetOf(Net, UTS, User)}
	if got, want := byPidfd.args(), []string{"-join-pidfd", "7=user+uts+net"}; !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
	if got := (Join{}).args(); got != nil {
		t.Errorf("args of no join = %q, want none", got)
	}
}

func TestPidfdJoinNeedsLinux58(t *testing.T) {
	for rel, want := range map[string]bool{"5.7.19": false, "5.8.0": true, "6.18.44-fc": true, "3.10.0-1160.el7.x86_64": false} {
		ok, why := PidfdJoin(rel)
		if ok != want {
			t.Errorf("PidfdJoin(%q) = %v (%s), want %v", rel, ok, why, want)
		}
		if !ok && !strings.Contains(why, "join by /proc/PID/ns paths instead") {
			t.Errorf("PidfdJoin(%q) gives no remedy: %s", rel, why)
		}
	}
}
