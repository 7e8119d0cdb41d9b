package spawn

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nsverify/nsverify/probes"
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
	// MQueueName, when not empty, makes the probe create a POSIX message
	// queue with that name (no slash), which dies with its ipc namespace.
	MQueueName string
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

	Confine Confine
}

// Confine are the confinement actions: what a confined child may not do,
// tried so that its report holds the kernel's answer (probes.Confine).
// Those that would change the host if allowed are made in a form the
// kernel rejects for an invalid argument once it has found them permitted
// (probes.AttemptSethostname and the others), so they change nothing
// anywhere; the setns attempts are tried only where the kernel must
// refuse; the others change only the child, or act on an object the
// caller names and made for the purpose.
type Confine struct {
	// TryHostname, TryLink and TryMountProc make the over-long
	// sethostname (of TryHostname padded), the RTM_NEWLINK of a bridge
	// with an over-long name (TryLink padded), and the mount of proc
	// with an unknown option. From a new user namespace that shares the
	// uts, net or mnt namespace the kernel refuses them (EPERM); from one
	// that owns a new one of that kind, the control, it permits them and
	// rejects the argument (probes.PermittedAnswer).
	TryHostname  string
	TryLink      string
	TryMountProc bool
	// SetnsHost has the probe, sharing all of the caller's namespaces,
	// make a new user namespace in a single-threaded child and try to
	// join each of them back; and, as the control, re-join uts, ipc, net,
	// mnt and cgroup namespaces the new user namespace owns.
	SetnsHost bool
	// RewriteUIDMap writes the child's uid map a second time.
	RewriteUIDMap bool
	// TrySetgroups calls setgroups(2) with an empty list.
	TrySetgroups bool
	// RemoveMsgQueueKey, when not 0, removes the SysV queue with that key,
	// which the caller made, from the child's user namespace.
	RemoveMsgQueueKey int32
	// WriteFile, when not empty, appends a line to that existing file,
	// which the caller made, from the child's user namespace.
	WriteFile string
	// SignalPID, when not 0, sends signal 0 (which changes nothing) to
	// that pid.
	SignalPID int
	// LeaveDescendant starts a process that outlives the probe by up to a
	// minute unless its pid namespace dies, and reports its pid.
	LeaveDescendant bool
	// NestKind (User or PID) and NestDepth: nest NestDepth namespaces of
	// that kind below the child's, then try one more.
	NestKind  Kind
	NestDepth int
}

// validate checks the confinement actions against the set.
func (c Confine) validate(set Set) error {
	for _, t := range []struct {
		on   bool
		what string
		kind Kind
	}{{c.TryHostname != "", "trying the hostname", UTS}, {c.TryLink != "", "trying a link", Net}, {c.TryMountProc, "trying a mount", MNT}} {
		// Only a new user namespace decides the answer by the set alone:
		// EPERM where it shares the kind, the permitted answer where it
		// owns a new one. Without user the answer is the caller's
		// privilege, and the call would act on the host's namespace.
		if t.on && !set.Has(User) {
			return fmt.Errorf("validate actions: %s is judged only from a new user namespace (sharing %s: refused; with %s of its own: permitted), and the set is %s; add user", t.what, t.kind, t.kind, set)
		}
	}
	if len(c.TryHostname) > probes.MaxHostnameLen {
		return fmt.Errorf("validate actions: hostname %q is %d bytes, the kernel takes at most %d", c.TryHostname, len(c.TryHostname), probes.MaxHostnameLen)
	}
	if len(c.TryLink) > probes.MaxLinkNameLen {
		return fmt.Errorf("validate actions: link name %q is %d bytes, the kernel takes at most %d", c.TryLink, len(c.TryLink), probes.MaxLinkNameLen)
	}
	if c.SetnsHost && set != None {
		return fmt.Errorf("validate actions: joining the caller's namespaces needs the probe to hold them, and the set is %s; use the empty set", set)
	}
	if (c.RemoveMsgQueueKey != 0 || c.WriteFile != "") && !set.Has(User) {
		return fmt.Errorf("validate actions: removing a queue or writing a file shows what a mapped id may do, and the set %s has no user kind; add user", set)
	}
	if c.SignalPID < 0 {
		return fmt.Errorf("validate actions: pid %d to signal is negative", c.SignalPID)
	}
	if c.NestKind != "" {
		if c.NestKind != User && c.NestKind != PID {
			return fmt.Errorf("validate actions: only user and pid namespaces nest, not %s", c.NestKind)
		}
		if c.NestDepth < 1 || c.NestDepth > probes.MaxNestDepth {
			return fmt.Errorf("validate actions: nesting depth %d is not from 1 to %d", c.NestDepth, probes.MaxNestDepth)
		}
	}
	return nil
}

// args returns the probe flags for the confinement actions.
func (c Confine) args() []string {
	var args []string
	if c.TryHostname != "" {
		args = append(args, "-"+probes.FlagTryHostname, c.TryHostname)
	}
	if c.TryLink != "" {
		args = append(args, "-"+probes.FlagTryLink, c.TryLink)
	}
	if c.TryMountProc {
		args = append(args, "-"+probes.FlagTryMountProc)
	}
	if c.SetnsHost {
		args = append(args, "-"+probes.FlagSetnsHost)
	}
	if c.RewriteUIDMap {
		args = append(args, "-"+probes.FlagRewriteUIDMap)
	}
	if c.TrySetgroups {
		args = append(args, "-"+probes.FlagTrySetgroups)
	}
	if c.RemoveMsgQueueKey != 0 {
		args = append(args, "-"+probes.FlagRemoveMsgQueue, strconv.FormatInt(int64(c.RemoveMsgQueueKey), 10))
	}
	if c.WriteFile != "" {
		args = append(args, "-"+probes.FlagWriteFile, c.WriteFile)
	}
	if c.SignalPID != 0 {
		args = append(args, "-"+probes.FlagSignalPID, strconv.Itoa(c.SignalPID))
	}
	if c.LeaveDescendant {
		args = append(args, "-"+probes.FlagLeaveDescendant)
	}
	if c.NestKind != "" {
		args = append(args, "-"+probes.FlagNest, fmt.Sprintf("%s=%d", c.NestKind, c.NestDepth))
	}
	return args
}

// any reports whether a confinement action is asked for.
func (c Confine) any() bool { return len(c.args()) > 0 }

// validate checks the actions against the set they will run in.
func (a Actions) validate(set Set) error {
	if len(a.Hostname) > probes.MaxHostnameLen {
		return fmt.Errorf("validate actions: hostname %q is %d bytes, the kernel takes at most %d", a.Hostname, len(a.Hostname), probes.MaxHostnameLen)
	}
	if len(a.Domainname) > probes.MaxHostnameLen {
		return fmt.Errorf("validate actions: domainname %q is %d bytes, the kernel takes at most %d", a.Domainname, len(a.Domainname), probes.MaxHostnameLen)
	}
	if len(a.MarkerLink) > probes.MaxLinkNameLen {
		return fmt.Errorf("validate actions: link name %q is %d bytes, the kernel takes at most %d", a.MarkerLink, len(a.MarkerLink), probes.MaxLinkNameLen)
	}
	if (a.MonotonicOffset != 0 || a.BoottimeOffset != 0) && !set.Has(Time) {
		return fmt.Errorf("validate actions: time offsets need the time kind, and the set is %s; add time to the set", set)
	}
	if (a.Hostname != "" || a.Domainname != "") && !set.Has(UTS) {
		return fmt.Errorf("validate actions: setting the hostname or domainname needs the uts kind, and the set is %s; it would change the host's", set)
	}
	if a.MQueueName != "" && !set.Has(IPC) {
		return fmt.Errorf("validate actions: creating a POSIX queue needs the ipc kind, and the set is %s; it would be left on the host", set)
	}
	if len(a.MQueueName) > probes.MaxMQueueNameLen || strings.Contains(a.MQueueName, "/") {
		return fmt.Errorf("validate actions: POSIX queue name %q is not 1 to 255 bytes without a slash", a.MQueueName)
	}
	if a.MsgQueueKey != 0 && !set.Has(IPC) {
		return fmt.Errorf("validate actions: creating a SysV queue needs the ipc kind, and the set is %s; it would be left on the host", set)
	}
	if a.MarkerLink != "" && !set.Has(Net) {
		return fmt.Errorf("validate actions: adding a marker link needs the net kind, and the set is %s; it would add the link to the host", set)
	}
	if a.Confine.any() && (a.MonotonicOffset != 0 || a.BoottimeOffset != 0) {
		return errors.New("validate actions: confinement actions cannot be combined with time offsets; run them in a child without offsets")
	}
	return a.Confine.validate(set)
}

// args returns the probe flags for the actions.
func (a Actions) args() []string {
	var args []string
	if a.Hostname != "" {
		args = append(args, "-"+probes.FlagHostname, a.Hostname)
	}
	if a.Domainname != "" {
		args = append(args, "-"+probes.FlagDomainname, a.Domainname)
	}
	if a.MsgQueueKey != 0 {
		args = append(args, "-"+probes.FlagMsgQueue, strconv.FormatInt(int64(a.MsgQueueKey), 10))
	}
	if a.MQueueName != "" {
		args = append(args, "-"+probes.FlagMQueue, a.MQueueName)
	}
	if a.MountProc {
		args = append(args, "-"+probes.FlagMountProc)
	}
	if a.MarkerLink != "" {
		args = append(args, "-"+probes.FlagMarkerLink, a.MarkerLink)
	}
	if a.CreateFile != "" {
		args = append(args, "-"+probes.FlagCreateFile, a.CreateFile)
	}
	return append(args, a.Confine.args()...)
}

// Options says how to start one child.
type Options struct {
	// Probe is the path of the nsprobe binary.
	Probe string
	// Set is the namespaces the child is cloned into.
	Set Set
	// Join names existing namespaces the child joins after it is cloned
	// (see Join); the zero value joins none.
	Join Join
	// Subcommand, when not empty, runs one observation instead of all.
	Subcommand string
	// Actions run inside the child before it observes.
	Actions Actions
	// UIDMap and GIDMap are written for the child when User is in the set.
	// When empty, CallerMaps is used.
	UIDMap []IDMap
	GIDMap []IDMap
	// CgroupDir, when not empty, is a cgroup v2 directory the child is
	// cloned into (CLONE_INTO_CGROUP), so a cgroup namespace is rooted there.
	CgroupDir string
	// Timeout bounds the child's life; 0 means DefaultTimeout.
	Timeout time.Duration
	// Env is the child's environment; nil means an empty one.
	Env []string
	// Launcher starts the probe; nil is the built-in launcher, Go's clone.
	// Any other runs the program it names (spawn/launchers), which must
	// express the options (Launcher.Expresses), or Run returns a
	// *NotExpressibleError.
	Launcher Launcher
	// Canaries, when not nil, are the host's canaries for the probe to try
	// to reach (see suite/canary); the host judges what it saw.
	Canaries *probes.Canaries
	// WhileHeld is called with the probe's pid as this process sees it,
	// whatever launcher ran it, while the probe waits before it acts or
	// observes: the host can look at the live child from outside. It runs
	// on a goroutine of its own.
	WhileHeld func(hostPID int)
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
	if err := o.Join.validate(o.Set, o.Actions); err != nil {
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
