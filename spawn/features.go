package spawn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// DetectChildEnv is the environment variable that Detect sets, to "1", for
// the throwaway children it starts. A binary that re-execs itself for Detect
// (as nspreflight does) exits 0 at once when it sees it; nsprobe ignores it.
const DetectChildEnv = "NSVERIFY_DETECT_CHILD"

// detectTimeout bounds the life of one throwaway child of Detect.
const detectTimeout = 10 * time.Second

// Machine holds the facts about this machine that decide whether namespaces
// can be created, all read without starting a process: sysctls, module
// parameters, /proc/self/status and /proc/self/mountinfo.
type Machine struct {
	// Kernel is the kernel release, as uname -r prints it.
	Kernel string `json:"kernel"`
	// EUID is the effective uid of this process.
	EUID int `json:"euid"`
	// CapSysAdmin says whether this process has CAP_SYS_ADMIN in its
	// effective set (in its own user namespace).
	CapSysAdmin bool `json:"cap_sys_admin"`
	// Root is EUID 0 and CapSysAdmin: what creating any namespace but user
	// needs.
	Root bool `json:"root"`
	// UserNamespaceEnable is the user_namespace.enable boot parameter
	// ("Y" or "N") of CentOS and RHEL 7 kernels; empty where it is absent.
	UserNamespaceEnable string `json:"user_namespace_enable,omitempty"`
	// UnprivilegedUsernsClone is the Debian sysctl
	// kernel.unprivileged_userns_clone; -1 where it is absent.
	UnprivilegedUsernsClone int `json:"unprivileged_userns_clone"`
	// AppArmorRestrictUnprivilegedUserns is the Ubuntu sysctl
	// kernel.apparmor_restrict_unprivileged_userns; -1 where it is absent.
	AppArmorRestrictUnprivilegedUserns int `json:"apparmor_restrict_unprivileged_userns"`
	// RootPropagation is the propagation of the mount at /: "shared",
	// "slave", "shared+slave", "unbindable", "private", or "unknown".
	RootPropagation string `json:"root_propagation"`
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
	// this process is not root and may create the other kinds only there.
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

// Features is what this machine can do with namespaces: the machine facts
// and, for each kind, whether a namespace of it can be created.
type Features struct {
	Machine
	// Exe is the binary the throwaway children executed.
	Exe string `json:"exe"`
	// Kinds has one entry per kind, in the order of Kinds.
	Kinds []KindSupport `json:"kinds"`
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
// When this process is not root, each kind but user is tried inside a new
// user namespace mapping the caller to root, since that is the only place
// an unprivileged process may create it.
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

// detect is Detect without the cache.
func detect(exe string) *Features {
	m := readMachine()
	f := &Features{Machine: *m, Exe: exe, Kinds: make([]KindSupport, len(Kinds))}
	if err := tryClone(exe, None, true); err != nil {
		f.Error = fmt.Sprintf("run %s in no new namespace (the control child): %v; pass a binary that runs `%s ns` or exits 0 when %s=1", exe, err, exe, DetectChildEnv)
	}
	var wg sync.WaitGroup
	for i, k := range Kinds {
		if !m.Present[k] {
			f.Kinds[i] = judge(k, m, nil)
			continue
		}
		if f.Error != "" {
			f.Kinds[i] = KindSupport{Kind: k, Present: true, Limit: m.Limits[k], Reason: fmt.Sprintf("%s: cannot tell: %s", k, f.Error)}
			continue
		}
		wg.Go(func() { f.Kinds[i] = judge(k, m, tryClone(exe, detectSet(k, m), false)) })
	}
	wg.Wait()
	return f
}

// detectSet is the set Detect clones a child into to find out whether
// kind k can be created: k alone, with user too when not root.
func detectSet(k Kind, m *Machine) Set {
	if !m.Root {
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

// tryClone clones a child of exe into set (with the caller's maps when set
// has user), runs `exe ns` and waits for it. Only the clone and exec count,
// unless wantExit: then the child must also exit 0.
func tryClone(exe string, set Set, wantExit bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), detectTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "ns")
	cmd.Env = []string{DetectChildEnv + "=1"}
	attr := &syscall.SysProcAttr{Cloneflags: set.CloneFlags(), Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if set.Has(User) {
		uid, gid := CallerMaps()
		attr.UidMappings, attr.GidMappings = toSysProcIDMaps(uid), toSysProcIDMaps(gid)
	}
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return err
	}
	err := cmd.Wait()
	if wantExit && err != nil {
		return fmt.Errorf("wait for child: %w", err)
	}
	return nil
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
// set on this machine. When it cannot, reason names the first kind that
// fails, says why and gives the remedy; a set without user that needs
// CAP_SYS_ADMIN which this process lacks gets a reason starting with
// "needs root:".
func (f *Features) Supports(set Set) (ok bool, reason string) {
	if f.Error != "" {
		return false, "cannot tell: " + f.Error
	}
	if !f.Root && set != None && !set.Has(User) {
		return false, fmt.Sprintf("needs root: creating %s namespaces needs CAP_SYS_ADMIN, which this process (%s) lacks; run as root (sudo), or add user to the set so that they are created inside a new user namespace",
			set, f.who())
	}
	// User first: without it, an unprivileged caller can create nothing.
	order := set.Kinds()
	if set.Has(User) {
		order = append([]Kind{User}, set.Without(User).Kinds()...)
	}
	for _, k := range order {
		if ks := f.Kind(k); !ks.Supported() {
			return false, ks.Reason
		}
	}
	return true, ""
}

// who describes this process's privilege, for messages.
func (m *Machine) who() string {
	switch {
	case m.Root:
		return "euid 0 with CAP_SYS_ADMIN"
	case m.EUID == 0:
		return "euid 0 without CAP_SYS_ADMIN"
	default:
		return "euid " + strconv.Itoa(m.EUID)
	}
}

// readMachine reads the machine facts. It starts no process.
func readMachine() *Machine {
	m := &Machine{
		EUID:                               os.Geteuid(),
		UserNamespaceEnable:                strings.TrimSpace(readString("/sys/module/user_namespace/parameters/enable")),
		UnprivilegedUsernsClone:            int(readInt("/proc/sys/kernel/unprivileged_userns_clone")),
		AppArmorRestrictUnprivilegedUserns: int(readInt("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")),
		Limits:                             make(map[Kind]int64, len(Kinds)),
		Present:                            make(map[Kind]bool, len(Kinds)),
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		m.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	m.CapSysAdmin, m.Seccomp = readStatus()
	m.Root = m.EUID == 0 && m.CapSysAdmin
	for _, k := range Kinds {
		m.Limits[k] = readInt("/proc/sys/user/max_" + string(k) + "_namespaces")
		m.Present[k] = Present(k)
	}
	m.RootPropagation, m.CgroupLayout = "unknown", "unknown"
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		mounts, err := probes.ParseMountinfo(f)
		f.Close()
		if err == nil {
			m.RootPropagation, m.CgroupLayout = mountFacts(mounts)
		}
	}
	return m
}

// mountFacts returns the propagation of / and the cgroup layout.
func mountFacts(mounts []probes.Mount) (propagation, cgroups string) {
	propagation = "unknown"
	var v1, v2 bool
	for _, mnt := range mounts {
		switch mnt.FSType {
		case "cgroup":
			v1 = true
		case "cgroup2":
			v2 = true
		}
		if mnt.MountPoint != "/" {
			continue
		}
		// The last mount at / is the one on top, the one that is seen.
		var shared, slave, unbindable bool
		for _, opt := range mnt.Optional {
			switch {
			case strings.HasPrefix(opt, "shared:"):
				shared = true
			case strings.HasPrefix(opt, "master:"):
				slave = true
			case opt == "unbindable":
				unbindable = true
			}
		}
		switch {
		case shared && slave:
			propagation = "shared+slave"
		case shared:
			propagation = "shared"
		case slave:
			propagation = "slave"
		case unbindable:
			propagation = "unbindable"
		default:
			propagation = "private"
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

// readStatus reads CAP_SYS_ADMIN in CapEff and the Seccomp mode from
// /proc/self/status.
func readStatus() (capSysAdmin bool, seccomp string) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "CapEff":
			caps, err := strconv.ParseUint(value, 16, 64)
			capSysAdmin = err == nil && caps&(1<<unix.CAP_SYS_ADMIN) != 0
		case "Seccomp":
			seccomp = map[string]string{"0": "disabled", "1": "strict", "2": "filter"}[value]
		}
	}
	return capSysAdmin, seccomp
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
