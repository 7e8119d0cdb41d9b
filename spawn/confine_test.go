package spawn

import (
	"slices"
	"strings"
	"testing"
)

func TestConfineValidate(t *testing.T) {
	user := SetOf(User)
	cases := []struct {
		name    string
		c       Confine
		set     Set
		wantErr string
	}{
		{"hostname from user sharing uts", Confine{TryHostname: "x"}, user, ""},
		{"hostname with uts of its own (the control)", Confine{TryHostname: "x"}, SetOf(User, UTS), ""},
		{"hostname without user", Confine{TryHostname: "x"}, None, "add user"},
		{"hostname with uts, without user", Confine{TryHostname: "x"}, SetOf(UTS), "add user"},
		{"link with net of its own (the control)", Confine{TryLink: "x"}, SetOf(User, Net), ""},
		{"link without user", Confine{TryLink: "x"}, SetOf(Net), "add user"},
		{"mount with mnt of its own (the control)", Confine{TryMountProc: true}, SetOf(User, PID, MNT), ""},
		{"mount without user", Confine{TryMountProc: true}, SetOf(PID, MNT), "add user"},
		{"hostname too long", Confine{TryHostname: strings.Repeat("h", 65)}, user, "at most 64"},
		{"link name too long", Confine{TryLink: strings.Repeat("l", 16)}, user, "at most 15"},
		{"setns from the empty set", Confine{SetnsHost: true}, None, ""},
		{"setns from a set", Confine{SetnsHost: true}, user, "use the empty set"},
		{"queue without user", Confine{RemoveMsgQueueKey: 7}, None, "add user"},
		{"file with user", Confine{WriteFile: "/tmp/f"}, user, ""},
		{"negative pid", Confine{SignalPID: -1}, None, "negative"},
		{"nest net", Confine{NestKind: Net, NestDepth: 2}, None, "only user and pid"},
		{"nest too deep", Confine{NestKind: User, NestDepth: 65}, user, "from 1 to 64"},
		{"nest pid", Confine{NestKind: PID, NestDepth: 31}, SetOf(PID), ""},
	}
	for _, c := range cases {
		err := c.c.validate(c.set)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.wantErr)
		}
	}
}

func TestConfineCannotCombineWithTimeOffsets(t *testing.T) {
	a := Actions{MonotonicOffset: 1, Confine: Confine{TrySetgroups: true}}
	if err := a.validate(SetOf(Time, User)); err == nil || !strings.Contains(err.Error(), "time offsets") {
		t.Errorf("confinement with offsets: %v, want a refusal", err)
	}
}

func TestConfineArgs(t *testing.T) {
	c := Confine{TryHostname: "h", TryLink: "l", TryMountProc: true, SetnsHost: true, RewriteUIDMap: true, TrySetgroups: true,
		RemoveMsgQueueKey: -5, WriteFile: "/f", SignalPID: 9, LeaveDescendant: true, NestKind: PID, NestDepth: 31}
	want := []string{"-try-hostname", "h", "-try-link", "l", "-try-mount-proc", "-setns-host", "-rewrite-uid-map", "-try-setgroups",
		"-remove-msgq", "-5", "-write-file", "/f", "-signal-pid", "9", "-leave-descendant", "-nest", "pid=31"}
	if got := (Actions{Confine: c}).args(); !slices.Equal(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}
	if (Confine{}).any() {
		t.Error("the zero Confine asks for something")
	}
}
