package spawn

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// DetectChildEnv is the environment variable that Detect sets, to "1", for
// the throwaway children it starts. A binary that re-execs itself for Detect
// (as nspreflight does) exits 0 at once when it sees it; nsprobe ignores it.
const DetectChildEnv = "NSVERIFY_DETECT_CHILD"

// Machine holds the facts about this machine that decide whether namespaces
// can be created, all read without starting a process: sysctls, module
// parameters, /proc/self/status, /proc/self/mountinfo and the owners of
// this process's namespaces.
type Machine struct {
	// Kernel is the kernel release, as uname -r prints it.
	Kernel string `json:"kernel"`
	// Privilege is what this process may do over the namespaces it runs
	// in: whether it is in the initial user namespace, its capabilities
	// and over which namespaces they count.
	Privilege
	// UserNamespaceEnable is the user_namespace.enable boot parameter
	// ("Y" or "N") of CentOS and RHEL 7 kernels; empty where it is absent.
	UserNamespaceEnable string `json:"user_namespace_enable,omitempty"`
	// UnprivilegedUsernsClone is the Debian sysctl
	// kernel.unprivileged_userns_clone; -1 where it is absent.
	UnprivilegedUsernsClone int `json:"unprivileged_userns_clone"`
	// AppArmorRestrictUnprivilegedUserns is the Ubuntu sysctl
	// kernel.apparmor_restrict_unprivileged_userns; -1 where it is absent.
	AppArmorRestrictUnprivilegedUserns int `json:"apparmor_restrict_unprivileged_userns"`
	// RootPropagation is the propagation of the mount at / (see
	// probes.Propagation), or "unknown" where mountinfo cannot be read.
	RootPropagation probes.Propagation `json:"root_propagation"`
	// CgroupLayout is "v1", "v2", "hybrid" (v1 controllers and a v2
	// hierarchy side by side) or "none", from the mounted file system types.
	CgroupLayout string `json:"cgroup_layout"`
	// Seccomp is the seccomp mode of this process: "disabled", "strict",
	// "filter", or "" when /proc/self/status does not say.
	Seccomp string `json:"seccomp,omitempty"`
	// Limits holds user.max_<kind>_namespaces for each kind, -1 where it
	// cannot be read. It is reported per kind in Features.Kinds.
	Limits map[Kind]int64 `json:"-"`
	// Present says which kinds have a /proc/self/ns entry.
	Present map[Kind]bool `json:"-"`
}

// KindSupport is what Detect found out about one namespace kind.
type KindSupport struct {
	Kind Kind `json:"kind"`
	// Present says whether /proc/self/ns/<kind> exists.
	Present bool `json:"present"`
	// Creatable says whether a throwaway child could be cloned into a new
	// namespace of this kind (inside a new user namespace too, when
	// InUserNS).
	Creatable bool `json:"creatable"`
	// InUserNS says the child was cloned with CLONE_NEWUSER as well, since
	// this process lacks CAP_SYS_ADMIN and may create the other kinds only
	// there.
	InUserNS bool `json:"in_user_ns,omitempty"`
	// Errno is the symbolic errno of the failed clone ("EINVAL"), Error
	// the failure as reported.
	Errno string `json:"errno,omitempty"`
	Error string `json:"error,omitempty"`
	// Limit is user.max_<kind>_namespaces, -1 when it cannot be read.
	Limit int64 `json:"limit"`
	// Reason, when the kind is not supported, names the kind, says why and
	// what to do; Remedy is the last part alone.
	Reason string `json:"reason,omitempty"`
	Remedy string `json:"remedy,omitempty"`
}

// Supported reports whether namespaces of this kind can be created.
func (k KindSupport) Supported() bool { return k.Present && k.Creatable }

// UserNSCapability is what the preflight found when a child used, in a
// new user namespace, a capability it holds there: it set the hostname of
// a uts namespace that user namespace owns (to the hostname it already
// had, so that nothing changes even where the clone did not make one).
// Creating a user namespace proves nothing about that: under Ubuntu's
// AppArmor restriction (kernel.apparmor_restrict_unprivileged_userns=1)
// an unprivileged process creates one, and the other kinds inside it, but
// holds no capability there, so that every action of the probe in a set
// with user fails with EPERM.
type UserNSCapability struct {
	// Tried says the child was cloned into a new user and uts namespace;
	// where it could not be (no user namespaces here, or none for this
	// process), the kinds' own detection says why, and Error what the
	// clone said.
	Tried bool `json:"tried"`
	// Held says the child could set the hostname there.
	Held bool `json:"held"`
	// Errno is the symbolic errno of the failed clone or sethostname,
	// Error the failure as reported.
	Errno string `json:"errno,omitempty"`
	Error string `json:"error,omitempty"`
	// Reason, when the child was cloned and held nothing, says so, why
	// and what to do; Remedy is the last part alone.
	Reason string `json:"reason,omitempty"`
	Remedy string `json:"remedy,omitempty"`
}

// Powerless says that a new user namespace was made here and its child
// held no capability in it.
func (u UserNSCapability) Powerless() bool { return u.Tried && !u.Held }

// Features is what this machine can do with namespaces: the machine facts
// and, for each kind, whether a namespace of it can be created.
type Features struct {
	Machine
	// Exe is the binary the throwaway children executed.
	Exe string `json:"exe"`
	// Kinds has one entry per kind, in the order of All.Kinds().
	Kinds []KindSupport `json:"kinds"`
	// UserNS is whether a child in a new user namespace holds the
	// capabilities it has there; a set with user and another kind needs
	// them (see Supports).
	UserNS UserNSCapability `json:"user_ns_capability"`
	// Error, when not empty, says that the detection itself failed (the
	// control child, cloned into no new namespace, could not run Exe), so
	// the kinds' results say nothing about the kernel.
	Error string `json:"error,omitempty"`
}

var (
	detectMu    sync.Mutex
	detectCache = map[string]*Features{}
)

// Detect finds out which namespace kinds this machine supports, by reading
// the machine facts and by cloning one throwaway child per kind that runs
// `exe ns` with DetectChildEnv=1 in its environment. The children are
// cloned (never unshared in this process), die with it, and are waited for.
// When this process lacks CAP_SYS_ADMIN over its user namespace, each kind
// but user is tried inside a new user namespace mapping the caller to root,
// since that is the only place it may create them.
//
// On systems other than Linux it starts no child, and Features.Error says
// that namespaces are Linux-only.
//
// The result is memoised per exe; callers must not modify it.
func Detect(exe string) *Features {
	detectMu.Lock()
	defer detectMu.Unlock()
	if f, ok := detectCache[exe]; ok {
		return f
	}
	f := detect(exe)
	detectCache[exe] = f
	return f
}

// detectSet is the set Detect clones a child into to find out whether
// kind k can be created: k alone, with user too when this process may not
// create namespaces in its own user namespace.
func detectSet(k Kind, m *Machine) Set {
	if ok, _ := m.CanCreate(SetOf(k)); !ok {
		return SetOf(k, User)
	}
	return SetOf(k)
}

// judge makes the KindSupport of kind k from the machine facts and the
// error of cloning a child into detectSet(k, m) (nil: it was cloned). A
// kind that is not present is never cloned: an older kernel ignores a
// clone flag it does not know.
func judge(k Kind, m *Machine, cloneErr error) KindSupport {
	set := detectSet(k, m)
	ks := KindSupport{Kind: k, Present: m.Present[k], Limit: m.Limits[k], InUserNS: set != SetOf(k)}
	if !ks.Present {
		x := explainMissing(k, m)
		ks.Reason = fmt.Sprintf("%s: %s; %s", k, x.cause, x.remedy)
		ks.Remedy = x.remedy
		return ks
	}
	if cloneErr == nil {
		ks.Creatable = true
		return ks
	}
	ks.Error = cloneErr.Error()
	var errno syscall.Errno
	if !errors.As(cloneErr, &errno) {
		ks.Reason = fmt.Sprintf("%s: cannot create %s namespaces: %v", k, k, cloneErr)
		return ks
	}
	ks.Errno = unix.ErrnoName(errno)
	what := fmt.Sprintf("%s: cannot create %s namespaces (%s failed with %s)", k, k, callName(set, errno), ks.Errno)
	x, ok := explain(set, errno, m)
	if !ok {
		ks.Reason = fmt.Sprintf("%s: %v; see clone(2) for %s", what, errno, ks.Errno)
		return ks
	}
	ks.Reason = fmt.Sprintf("%s: %s; %s", what, x.cause, x.remedy)
	ks.Remedy = x.remedy
	return ks
}

// Kind returns what Detect found out about kind k.
func (f *Features) Kind(k Kind) KindSupport {
	for _, ks := range f.Kinds {
		if ks.Kind == k {
			return ks
		}
	}
	return KindSupport{Kind: k, Limit: -1, Reason: fmt.Sprintf("%s: not detected", k)}
}

// Supports reports whether a child can be cloned into every namespace of
// set on this machine and act there. When it cannot, reason names the
// first kind that fails, says why and gives the remedy; a set without
// user that needs CAP_SYS_ADMIN which this process lacks gets a reason
// starting with "needs CAP_SYS_ADMIN". A set with user and another kind
// also needs a user namespace that holds its capabilities, since the
// other kinds are made, and acted in, from inside it: where the
// preflight's child held none (UserNS), such a set is refused with
// UserNS's reason, the user kind named first, though each kind alone can
// be created (Creatable).
func (f *Features) Supports(set Set) (ok bool, reason string) {
	if ok, reason := f.Creatable(set); !ok {
		return false, reason
	}
	if set.Has(User) && set != SetOf(User) && f.UserNS.Powerless() {
		return false, f.UserNS.Reason
	}
	return true, ""
}

// Creatable reports whether a child can be cloned into every namespace of
// set on this machine, whether or not it may act there: what a bare
// unshare(2) of the same flags would find. reason is as Supports gives it.
func (f *Features) Creatable(set Set) (ok bool, reason string) {
	if f.Error != "" {
		return false, "cannot tell: " + f.Error
	}
	if set != None && !set.Has(User) {
		if ok, reason := f.CanCreate(set); !ok {
			return false, reason
		}
	}
	for _, k := range set.userFirst() {
		if ks := f.Kind(k); !ks.Supported() {
			return false, ks.Reason
		}
	}
	return true, ""
}

// propagationUnknown is the root's propagation where it cannot be read.
const propagationUnknown probes.Propagation = "unknown"

// mountFacts returns the propagation of / and the cgroup layout.
func mountFacts(mounts []probes.Mount) (propagation probes.Propagation, cgroups string) {
	propagation = propagationUnknown
	if p, ok := probes.RootPropagation(mounts); ok {
		propagation = p
	}
	var v1, v2 bool
	for _, mnt := range mounts {
		switch mnt.FSType {
		case "cgroup":
			v1 = true
		case "cgroup2":
			v2 = true
		}
	}
	switch {
	case v1 && v2:
		cgroups = "hybrid"
	case v2:
		cgroups = "v2"
	case v1:
		cgroups = "v1"
	default:
		cgroups = "none"
	}
	return propagation, cgroups
}

func readString(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(data)
}

// readInt reads a number from a sysctl file; -1 when it cannot.
func readInt(path string) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(readString(path)), 10, 64)
	if err != nil {
		return -1
	}
	return v
}
