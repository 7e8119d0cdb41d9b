package spawn

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Actions are what the probe does inside its namespaces before it observes.
// Each one maps to one probe flag.
type Actions struct {
	// Hostname and Domainname, when not empty, are set with sethostname and
	// setdomainname (at most 64 bytes each).
	Hostname   string
	Domainname string
	// MsgQueueKey, when not 0, makes the probe create a SysV message queue
	// with that key (IPC_CREAT|IPC_EXCL) and remove it before it exits.
	MsgQueueKey int32
	// MountProc makes the probe make / recursively private and mount a
	// fresh /proc. The probe refuses it outside a new mount namespace.
	MountProc bool
	// MarkerLink, when not empty, makes the probe add a bridge with that name
	// (at most 15 bytes) in its network namespace.
	MarkerLink string
	// MonotonicOffset and BoottimeOffset are written to timens_offsets of a
	// new time namespace. They need Time in the set.
	MonotonicOffset time.Duration
	BoottimeOffset  time.Duration
	// CreateFile, when not empty, makes the probe create an empty file at
	// that path, so the host can see which id owns what the child makes.
	CreateFile string
}

// maxHostnameLen is HOST_NAME_MAX (and the limit of the domain name too).
const maxHostnameLen = 64

// maxLinkNameLen is IFNAMSIZ less the terminating NUL.
const maxLinkNameLen = 15

// validate checks the actions against the set they will run in.
func (a Actions) validate(set Set) error {
	if len(a.Hostname) > maxHostnameLen {
		return fmt.Errorf("validate actions: hostname %q is %d bytes, the kernel takes at most %d", a.Hostname, len(a.Hostname), maxHostnameLen)
	}
	if len(a.Domainname) > maxHostnameLen {
		return fmt.Errorf("validate actions: domainname %q is %d bytes, the kernel takes at most %d", a.Domainname, len(a.Domainname), maxHostnameLen)
	}
	if len(a.MarkerLink) > maxLinkNameLen {
		return fmt.Errorf("validate actions: link name %q is %d bytes, the kernel takes at most %d", a.MarkerLink, len(a.MarkerLink), maxLinkNameLen)
	}
	if (a.MonotonicOffset != 0 || a.BoottimeOffset != 0) && !set.Has(Time) {
		return fmt.Errorf("validate actions: time offsets need the time kind, and the set is %s; add time to the set", set)
	}
	if (a.Hostname != "" || a.Domainname != "") && !set.Has(UTS) {
		return fmt.Errorf("validate actions: setting the hostname or domainname needs the uts kind, and the set is %s; it would change the host's", set)
	}
	if a.MsgQueueKey != 0 && !set.Has(IPC) {
		return fmt.Errorf("validate actions: creating a SysV queue needs the ipc kind, and the set is %s; it would be left on the host", set)
	}
	if a.MarkerLink != "" && !set.Has(Net) {
		return fmt.Errorf("validate actions: adding a marker link needs the net kind, and the set is %s; it would add the link to the host", set)
	}
	return nil
}

// args returns the probe flags for the actions.
func (a Actions) args() []string {
	var args []string
	if a.Hostname != "" {
		args = append(args, "-hostname", a.Hostname)
	}
	if a.Domainname != "" {
		args = append(args, "-domainname", a.Domainname)
	}
	if a.MsgQueueKey != 0 {
		args = append(args, "-msgq", strconv.FormatInt(int64(a.MsgQueueKey), 10))
	}
	if a.MountProc {
		args = append(args, "-mount-proc")
	}
	if a.MarkerLink != "" {
		args = append(args, "-marker-link", a.MarkerLink)
	}
	if a.CreateFile != "" {
		args = append(args, "-create-file", a.CreateFile)
	}
	return args
}

// Options says how to start one child.
type Options struct {
	// Probe is the path of the nsprobe binary.
	Probe string
	// Set is the namespaces the child is cloned into.
	Set Set
	// Subcommand, when not empty, runs one observation instead of all.
	Subcommand string
	// Actions run inside the child before it observes.
	Actions Actions
	// UIDMap and GIDMap are written for the child when User is in the set.
	// When empty, CallerMaps is used.
	UIDMap []IDMap
	GIDMap []IDMap
	// SetgroupsAllow leaves setgroups allowed in the new user namespace.
	// Unprivileged callers must deny it to write a gid map.
	SetgroupsAllow bool
	// NoMaps writes no uid or gid map for the new user namespace (UIDMap and
	// GIDMap are ignored) while the child still asks for uid and gid 0
	// there, which fails: EPERM from setgroups when SetgroupsAllow is set,
	// EINVAL from setgid otherwise. It reproduces the walk-through's
	// "operation not permitted", so that its diagnosis can be checked.
	NoMaps bool
	// CgroupDir, when not empty, is a cgroup v2 directory the child is
	// cloned into (CLONE_INTO_CGROUP), so a cgroup namespace is rooted there.
	CgroupDir string
	// Timeout bounds the child's life; 0 means DefaultTimeout.
	Timeout time.Duration
	// Env is the child's environment; nil means an empty one.
	Env []string
}

// DefaultTimeout is the deadline of a child when Options.Timeout is 0.
const DefaultTimeout = 20 * time.Second

// validate checks everything that can be checked before cloning.
func (o Options) validate() error {
	if o.Probe == "" {
		return errors.New("validate options: no probe path given; build probes/cmd/nsprobe and pass its path")
	}
	if err := o.Actions.validate(o.Set); err != nil {
		return err
	}
	if o.Set.Has(User) {
		if len(o.UIDMap) > 0 {
			if err := ValidateIDMaps(o.UIDMap); err != nil {
				return fmt.Errorf("uid map: %w", err)
			}
		}
		if len(o.GIDMap) > 0 {
			if err := ValidateIDMaps(o.GIDMap); err != nil {
				return fmt.Errorf("gid map: %w", err)
			}
		}
	} else if len(o.UIDMap) > 0 || len(o.GIDMap) > 0 {
		return fmt.Errorf("validate options: id maps given but the set %s has no user kind; add user to the set", o.Set)
	}
	return nil
}
