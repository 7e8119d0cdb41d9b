package kindcheck

import (
	"fmt"
	"strconv"
	"strings"
)

// Kinds lists the eight kinds, named as their files in /proc/self/ns.
var Kinds = []string{"uts", "ipc", "pid", "mnt", "user", "net", "cgroup", "time"}

// flagNames are the clone(2) names of each kind's flag, for messages.
var flagNames = map[string]string{
	"uts": "CLONE_NEWUTS", "ipc": "CLONE_NEWIPC", "pid": "CLONE_NEWPID", "mnt": "CLONE_NEWNS",
	"user": "CLONE_NEWUSER", "net": "CLONE_NEWNET", "cgroup": "CLONE_NEWCGROUP", "time": "CLONE_NEWTIME",
}

// Result is what Check found out about one kind.
type Result struct {
	Kind string `json:"kind"`
	// Can says that this process can start a child in a new namespace of
	// this kind: directly, or inside a new user namespace of its own. For
	// time, clone3(2) must be there as well (see Facts.Clone3).
	Can bool `json:"can"`
	// Direct says that unshare(flag) succeeded in a child; DirectErr is
	// its error otherwise.
	Direct    bool   `json:"direct"`
	DirectErr string `json:"direct_error,omitempty"`
	// InUserNS says that unshare(CLONE_NEWUSER|flag) succeeded; for user
	// itself it equals Direct. InUserNSErr is its error otherwise.
	InUserNS    bool   `json:"in_user_ns"`
	InUserNSErr string `json:"in_user_ns_error,omitempty"`
	// Present says that /proc/self/ns/<kind> exists.
	Present bool `json:"present"`
	// Limit is /proc/sys/user/max_<kind>_namespaces, -1 when unreadable.
	Limit int64 `json:"limit"`
	// Evidence says all of the above in one line, for a failure message.
	Evidence string `json:"evidence"`
}

// Facts are what Check read about this process and machine without
// starting a child.
type Facts struct {
	// InitialUserNS says that /proc/self/ns/user has the inode number the
	// kernel reserves for the initial user namespace (PROC_USER_INIT_INO).
	// The uid map cannot tell: a user namespace made by root may map the
	// whole range as the initial one does.
	InitialUserNS bool `json:"initial_user_ns"`
	// CapSysAdmin says that CAP_SYS_ADMIN is in the effective set
	// (CapEff of /proc/self/status): held over this process's own user
	// namespace, and so over the host only when that is the initial one.
	CapSysAdmin bool `json:"cap_sys_admin"`
	// SeccompFilter says that a seccomp filter is installed (Seccomp: 2 in
	// /proc/self/status): it may refuse any namespace to anyone.
	SeccompFilter bool `json:"seccomp_filter"`
	// Clone3 says that clone3(2) is there: Go passes CLONE_NEWTIME only
	// through it, so a child cannot be started in a new time namespace
	// without it, even where unshare(2) makes one. Clone3Err says why not.
	Clone3    bool   `json:"clone3"`
	Clone3Err string `json:"clone3_error,omitempty"`
	// UnprivilegedUsernsClone is Debian's kernel.unprivileged_userns_clone
	// and AppArmorRestrict Ubuntu's
	// kernel.apparmor_restrict_unprivileged_userns; -1 where absent.
	UnprivilegedUsernsClone int64 `json:"unprivileged_userns_clone"`
	AppArmorRestrict        int64 `json:"apparmor_restrict_unprivileged_userns"`
	// UserNamespaceEnable is the user_namespace.enable module parameter
	// of RHEL 7 kernels; empty where absent.
	UserNamespaceEnable string `json:"user_namespace_enable,omitempty"`
}

// AdminOfHost reports whether this process holds CAP_SYS_ADMIN in the
// initial user namespace, so that no distribution switch or missing id
// map can stop it from creating a namespace: only the kernel's own
// support and the max_<kind>_namespaces limits can.
func (f Facts) AdminOfHost() bool { return f.InitialUserNS && f.CapSysAdmin }

// Report is the result of Check: the facts and one Result per kind, in
// the order of Kinds.
type Report struct {
	Facts Facts    `json:"facts"`
	Kinds []Result `json:"kinds"`
}

// Kind returns the result for kind, and false when Check has none.
func (r *Report) Kind(kind string) (Result, bool) {
	for _, k := range r.Kinds {
		if k.Kind == kind {
			return k, true
		}
	}
	return Result{}, false
}

// MustBeUsable reports whether kind must be usable on this machine, by
// facts alone: this process is an administrator of the host, no seccomp
// filter could refuse it, the kind's /proc/self/ns entry exists and its
// max_<kind>_namespaces limit is known and not zero. A spec of such a kind may never be skipped. why says which
// fact decided.
func (r *Report) MustBeUsable(kind string) (must bool, why string) {
	k, ok := r.Kind(kind)
	switch {
	case !ok:
		return false, kind + ": not checked"
	case !r.Facts.AdminOfHost():
		return false, "this process does not hold CAP_SYS_ADMIN in the initial user namespace"
	case r.Facts.SeccompFilter:
		return false, "a seccomp filter is installed (Seccomp: 2 in /proc/self/status), which may refuse it"
	case !k.Present:
		return false, fmt.Sprintf("/proc/self/ns/%s does not exist", kind)
	case k.Limit == 0:
		return false, fmt.Sprintf("user.max_%s_namespaces is 0", kind)
	case k.Limit < 0:
		return false, fmt.Sprintf("user.max_%s_namespaces cannot be read", kind)
	}
	return true, fmt.Sprintf("this process holds CAP_SYS_ADMIN in the initial user namespace, no seccomp filter, /proc/self/ns/%s exists and user.max_%s_namespaces is %d", kind, kind, k.Limit)
}

// evidence is a Result's facts and trials in one line.
func evidence(r Result, userFlag bool, f Facts) string {
	var parts []string
	if r.Present {
		parts = append(parts, "/proc/self/ns/"+r.Kind+" exists")
	} else {
		parts = append(parts, "/proc/self/ns/"+r.Kind+" does not exist")
	}
	limit := "unreadable"
	if r.Limit >= 0 {
		limit = strconv.FormatInt(r.Limit, 10)
	}
	parts = append(parts, fmt.Sprintf("user.max_%s_namespaces=%s", r.Kind, limit))
	if userFlag {
		if f.UnprivilegedUsernsClone >= 0 {
			parts = append(parts, fmt.Sprintf("kernel.unprivileged_userns_clone=%d", f.UnprivilegedUsernsClone))
		}
		if f.AppArmorRestrict >= 0 {
			parts = append(parts, fmt.Sprintf("kernel.apparmor_restrict_unprivileged_userns=%d", f.AppArmorRestrict))
		}
		if f.UserNamespaceEnable != "" {
			parts = append(parts, "user_namespace.enable="+f.UserNamespaceEnable)
		}
	}
	flag := flagNames[r.Kind]
	parts = append(parts, trial("unshare("+flag+")", r.Direct, r.DirectErr))
	if r.Kind != "user" {
		parts = append(parts, trial("unshare(CLONE_NEWUSER|"+flag+")", r.InUserNS, r.InUserNSErr))
	}
	if r.Kind == "time" {
		if f.Clone3 {
			parts = append(parts, "clone3(2) is there (Go passes CLONE_NEWTIME only through it)")
		} else {
			parts = append(parts, "clone3(2) is refused: "+f.Clone3Err+" (Go passes CLONE_NEWTIME only through it)")
		}
	}
	return strings.Join(parts, ", ")
}

func trial(call string, ok bool, err string) string {
	if ok {
		return call + " succeeded"
	}
	return call + " failed: " + err
}
