package probes

import (
	"fmt"
	"strings"
)

// Confine holds what the probe tried that a confined process may not do,
// and how the kernel answered: the confinement actions of nsprobe.
type Confine struct {
	// Attempts maps each attempt ("sethostname", "setns uts", …) to its
	// outcome.
	Attempts map[string]Attempt `json:"attempts,omitempty"`
	// Nest is the outcome of -nest: how deep the probe could nest
	// namespaces of one kind below its own.
	Nest *Nest `json:"nest,omitempty"`
	// DescendantPID is the host pid (as /proc/self of the probe's /proc
	// names it) of a process the probe started and left running when it
	// exited (-leave-descendant).
	DescendantPID int `json:"descendant_pid,omitempty"`
}

// Outcomes of an Attempt other than an errno name.
const (
	// Allowed: the kernel did what was asked.
	Allowed = "allowed"
	// NotTried: the probe refused to try, because the kernel might have
	// allowed something that would change the host; Detail says why.
	NotTried = "not tried"
)

// Attempt is the outcome of one thing the probe tried.
type Attempt struct {
	// Result is Allowed, NotTried, or the name of the errno the kernel
	// answered with ("EPERM", "EACCES", "ESRCH", "EINVAL").
	Result string `json:"result"`
	// Call is the system call exactly as the probe made it, for the
	// attempts whose refusal and control are judged on the same call
	// (the checked calls below); empty for the others.
	Call string `json:"call,omitempty"`
	// Detail is the error in words, or why the probe did not try.
	Detail string `json:"detail,omitempty"`
}

// The checked calls: sethostname, add a link, mount proc. A refusal
// recorded without the call being made would look the same as a real one,
// so each of these is made in a form that the kernel answers differently
// where it is permitted: one argument is invalid, and the kernel checks it
// only after the permission check. Where the caller lacks the capability
// the answer is EPERM; where it holds it the answer is the argument's
// errno (PermittedAnswer) and nothing changes, because the call is
// rejected before it acts. The refusal and its control are then the same
// call, judged on the same field (Attempt.Result), and the invalid
// argument is what keeps a control from ever changing anything.
const (
	// AttemptSethostname is sethostname(2) with a length of
	// MaxHostnameLen+1: kernel/sys.c checks CAP_SYS_ADMIN over the uts
	// namespace's owner, then the length (EINVAL).
	AttemptSethostname = "sethostname"
	// AttemptAddLink is RTM_NEWLINK for a bridge whose IFLA_IFNAME is
	// MaxLinkNameLen+1 bytes: rtnetlink_rcv_msg checks CAP_NET_ADMIN over
	// the net namespace's owner, then rtnl_newlink's attribute policy
	// rejects the name (ERANGE) before it looks up the link kind.
	AttemptAddLink = "add link"
	// AttemptMountProc is mount(2) of proc on /proc with an option proc
	// does not know: path_mount checks CAP_SYS_ADMIN over the mount
	// namespace's owner (may_mount), then proc's option parser rejects it
	// (EINVAL) before a superblock is made.
	AttemptMountProc = "mount proc"
)

// InvalidProcOption is the mount option AttemptMountProc passes: proc
// knows no such option (the kernel logs "proc: Unknown parameter").
const InvalidProcOption = "nsverify_invalid"

// ProcMountFlags are the flags AttemptMountProc passes, those of a real
// /proc mount.
const ProcMountFlags = "MS_NOSUID|MS_NODEV|MS_NOEXEC"

// PermittedAnswer is, for each checked call, the errno the kernel answers
// where the caller holds the capability the call needs: the answer to the
// invalid argument, which differs from EPERM.
var PermittedAnswer = map[string]string{
	AttemptSethostname: "EINVAL",
	AttemptAddLink:     "ERANGE",
	AttemptMountProc:   "EINVAL",
}

// OverlongHostname is the argument AttemptSethostname passes for name:
// name padded with x to one byte more than the kernel takes, so that
// where sethostname is permitted the kernel rejects the length and sets
// nothing.
func OverlongHostname(name string) string { return padTo(name, MaxHostnameLen+1) }

// OverlongLinkName is the IFLA_IFNAME AttemptAddLink sends for name:
// name padded with x to one byte more than the kernel takes.
func OverlongLinkName(name string) string { return padTo(name, MaxLinkNameLen+1) }

// padTo pads s with x to n bytes; a longer s is cut to n.
func padTo(s string, n int) string {
	if len(s) >= n {
		return s[:n]
	}
	return s + strings.Repeat("x", n-len(s))
}

// SethostnameCall is the text of the call AttemptSethostname makes for
// name, as the report's Call gives it.
func SethostnameCall(name string) string {
	h := OverlongHostname(name)
	return fmt.Sprintf("sethostname(%q, %d)", h, len(h))
}

// AddLinkCall is the text of the call AttemptAddLink makes for name.
func AddLinkCall(name string) string {
	return fmt.Sprintf("RTM_NEWLINK(NLM_F_CREATE|NLM_F_EXCL, IFLA_IFNAME=%q, IFLA_INFO_KIND=\"bridge\")", OverlongLinkName(name))
}

// MountProcCall is the text of the call AttemptMountProc makes.
func MountProcCall() string {
	return fmt.Sprintf("mount(\"proc\", \"/proc\", \"proc\", %s, %q)", ProcMountFlags, InvalidProcOption)
}

// Nest is how deep namespaces of Kind nest below the probe's own.
type Nest struct {
	// Kind is "user" or "pid".
	Kind string `json:"kind"`
	// Asked is how many nested namespaces the probe was asked to make
	// before it tries one more.
	Asked int `json:"asked"`
	// Created is how many it made, the last one included if it succeeded.
	Created int `json:"created"`
	// Next is the errno name of the first creation that failed, empty if
	// none did.
	Next string `json:"next,omitempty"`
	// StartLevel is the level of the probe's own pid namespace below the
	// initial one (0), from the NSpid line of a /proc mounted there; 0 and
	// absent for user, whose level no file tells.
	StartLevel int `json:"start_level,omitempty"`
}
