package kindcheck

import (
	"strings"
	"testing"
)

func TestMustBeUsable(t *testing.T) {
	admin := Facts{InitialUserNS: true, CapSysAdmin: true}
	net := Result{Kind: "net", Present: true, Limit: 1000}
	for _, tc := range []struct {
		name  string
		facts Facts
		res   Result
		want  bool
		why   string
	}{
		{"admin of the host", admin, net, true, "holds CAP_SYS_ADMIN in the initial user namespace"},
		{"root in a user namespace of its own", Facts{CapSysAdmin: true}, net, false, "does not hold"},
		{"without the capability", Facts{InitialUserNS: true}, net, false, "does not hold"},
		{"absent", admin, Result{Kind: "net", Limit: 1000}, false, "does not exist"},
		{"under a seccomp filter", Facts{InitialUserNS: true, CapSysAdmin: true, SeccompFilter: true}, net, false, "seccomp filter"},
		{"limit zero", admin, Result{Kind: "net", Present: true}, false, "is 0"},
		{"limit unreadable", admin, Result{Kind: "net", Present: true, Limit: -1}, false, "cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Facts: tc.facts, Kinds: []Result{tc.res}}
			got, why := r.MustBeUsable("net")
			if got != tc.want || !strings.Contains(why, tc.why) {
				t.Fatalf("MustBeUsable = %v, %q; want %v, containing %q", got, why, tc.want, tc.why)
			}
		})
	}
}

func TestEvidence(t *testing.T) {
	facts := Facts{UnprivilegedUsernsClone: 0, AppArmorRestrict: -1}
	user := evidence(Result{Kind: "user", Present: true, Limit: 0, DirectErr: "ENOSPC"}, true, facts)
	for _, want := range []string{"/proc/self/ns/user exists", "user.max_user_namespaces=0", "kernel.unprivileged_userns_clone=0", "unshare(CLONE_NEWUSER) failed: ENOSPC"} {
		if !strings.Contains(user, want) {
			t.Errorf("evidence %q lacks %q", user, want)
		}
	}
	if strings.Contains(user, "apparmor") || strings.Contains(user, "CLONE_NEWUSER|") {
		t.Errorf("evidence %q names an absent sysctl or a second trial", user)
	}
	time := evidence(Result{Kind: "time", Present: true, Limit: 5, Direct: true, InUserNS: true}, false, Facts{Clone3Err: "ENOSYS"})
	if !strings.Contains(time, "clone3(2) is refused: ENOSYS") {
		t.Errorf("evidence %q does not say that clone3 is refused", time)
	}
	mnt := evidence(Result{Kind: "mnt", Limit: -1, DirectErr: "EPERM", InUserNS: true}, false, facts)
	for _, want := range []string{"does not exist", "=unreadable", "unshare(CLONE_NEWNS) failed: EPERM", "unshare(CLONE_NEWUSER|CLONE_NEWNS) succeeded"} {
		if !strings.Contains(mnt, want) {
			t.Errorf("evidence %q lacks %q", mnt, want)
		}
	}
}
