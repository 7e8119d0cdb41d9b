package spawn

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// explanation says why a namespace set most likely could not be created on
// this machine, and what to do about it.
type explanation struct {
	cause  string
	remedy string
}

// diagnose fills in e.Cause and e.Remedy when e is a failed clone (or a
// failed uid/gid map write reported on the probe's stderr) with an errno
// that the machine's facts explain. It reads sysctls and /proc, and starts
// no process.
func diagnose(e *Error) {
	if e == nil {
		return
	}
	if _, ok := failedErrno(e); !ok {
		return
	}
	diagnoseWith(e, readMachine())
}

// diagnoseWith is diagnose with the machine facts given.
func diagnoseWith(e *Error, m *Machine) {
	errno, ok := failedErrno(e)
	if !ok {
		return
	}
	x, ok := explain(e.Set, errno, m)
	if !ok {
		return
	}
	call := callName(e.Set, errno)
	if e.Op != "clone probe" {
		call = "writing the uid/gid map"
	}
	e.Cause = fmt.Sprintf("%s failed with %s: %s", call, unix.ErrnoName(errno), x.cause)
	e.Remedy = x.remedy
}

// failedErrno returns the errno of a failed clone, or of a failed wait
// whose stderr shows that writing a uid_map, gid_map or setgroups failed.
func failedErrno(e *Error) (syscall.Errno, bool) {
	switch e.Op {
	case "clone probe":
		var errno syscall.Errno
		ok := errors.As(e.Err, &errno)
		return errno, ok
	case "wait for probe":
		return mapWriteErrno(e.Stderr)
	}
	return 0, false
}

// mapWriteErrno finds the errno of a failed uid/gid map write in stderr.
func mapWriteErrno(stderr string) (syscall.Errno, bool) {
	if !strings.Contains(stderr, "uid_map") && !strings.Contains(stderr, "gid_map") && !strings.Contains(stderr, "setgroups") {
		return 0, false
	}
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.EINVAL, syscall.EACCES, syscall.ENOSPC, syscall.ENOSYS} {
		if strings.Contains(stderr, errno.Error()) {
			return errno, true
		}
	}
	return 0, false
}

// callName names the system call and flags that cloned a child into set:
// Go passes CLONE_NEWTIME (and a cgroup to clone into) only to clone3, and
// only clone3 can be missing.
func callName(set Set, errno syscall.Errno) string {
	name := "clone"
	if errno == syscall.ENOSYS || set.Has(Time) {
		name = "clone3"
	}
	return name + "(" + flagNames(set) + ")"
}

var flagName = map[Kind]string{
	UTS: "CLONE_NEWUTS", IPC: "CLONE_NEWIPC", PID: "CLONE_NEWPID", MNT: "CLONE_NEWNS",
	User: "CLONE_NEWUSER", Net: "CLONE_NEWNET", Cgroup: "CLONE_NEWCGROUP", Time: "CLONE_NEWTIME",
}

func flagNames(set Set) string {
	var names []string
	for _, k := range set.Kinds() {
		names = append(names, flagName[k])
	}
	return strings.Join(names, "|")
}

// sinceVersion is the Linux release that brought each kind.
var sinceVersion = map[Kind]string{
	UTS: "2.6.19", IPC: "2.6.19", PID: "2.6.24", MNT: "2.4.19",
	User: "3.8", Net: "2.6.29", Cgroup: "4.6", Time: "5.6",
}

// configOption is the kernel option without which a kernel that is new
// enough still has no namespaces of the kind.
var configOption = map[Kind]string{
	UTS: "CONFIG_UTS_NS", IPC: "CONFIG_IPC_NS", PID: "CONFIG_PID_NS", MNT: "CONFIG_NAMESPACES",
	User: "CONFIG_USER_NS", Net: "CONFIG_NET_NS", Cgroup: "CONFIG_CGROUPS", Time: "CONFIG_TIME_NS",
}

// explainMissing explains a kind whose /proc/self/ns entry is missing.
func explainMissing(k Kind, m *Machine) explanation {
	since := sinceVersion[k]
	cause := fmt.Sprintf("this kernel (%s) has no %s namespaces (/proc/self/ns/%s is missing); they need Linux %s", m.Kernel, k, k, since)
	if olderThan(m.Kernel, since) {
		return explanation{cause, fmt.Sprintf("boot Linux %s or newer, or leave %s out of the set", since, k)}
	}
	return explanation{cause + fmt.Sprintf(", built with %s=y, and this one was built without it", configOption[k]),
		fmt.Sprintf("boot a kernel built with %s=y, or leave %s out of the set", configOption[k], k)}
}

// explain says why cloning a child into set failed with errno, from the
// machine's facts, with the most likely cause first. ok is false when
// nothing is known about errno.
func explain(set Set, errno syscall.Errno, m *Machine) (x explanation, ok bool) {
	var missing []Kind
	for _, k := range set.Kinds() {
		if !m.Present[k] {
			missing = append(missing, k)
		}
	}
	// A kernel without a kind refuses its flag with EINVAL (clone3 with
	// ENOSYS before 5.3, which has no time namespaces either).
	if len(missing) > 0 && (errno == syscall.EINVAL || errno == syscall.ENOSYS) {
		x = explainMissing(missing[0], m)
		if len(missing) > 1 {
			x.cause += fmt.Sprintf(" (it has no %s namespaces either)", None.With(missing[1:]...))
		}
		return x, true
	}
	user := set.Has(User)
	switch errno {
	case syscall.EINVAL:
		switch {
		case user && userNSDisabled(m):
			return explainUserNSDisabled(m), true
		case m.Seccomp == "filter":
			return explainSeccomp(set), true
		case user:
			return explainNoMaps(m), true
		}
		return explanation{
			fmt.Sprintf("the kernel refused the flags although /proc/self/ns has an entry for each of %s; a security module or a sandbox around this process may refuse them", set),
			"run `go run ./spawn/cmd/nspreflight` to see which kind fails, and check the kernel log (`dmesg`, `ausearch -m avc`)",
		}, true
	case syscall.ENOSPC:
		return explainLimits(set, m), true
	case syscall.EUSERS:
		return explanation{
			"user namespaces are nested 32 deep, the most this kernel allows",
			"run the suite from a shallower user namespace",
		}, true
	case syscall.EPERM:
		switch {
		case user && !m.AdminInInitialUserNS() && m.UnprivilegedUsernsClone == 0:
			return explanation{
				"this kernel lets only root create user namespaces (kernel.unprivileged_userns_clone is 0)",
				"run `sysctl -w kernel.unprivileged_userns_clone=1`, or run as root (sudo)",
			}, true
		case user && !m.AdminInInitialUserNS() && m.AppArmorRestrictUnprivilegedUserns == 1:
			return explainAppArmor(), true
		case !user && !m.Has(CapSysAdmin):
			return explanation{
				fmt.Sprintf("creating %s namespaces needs CAP_SYS_ADMIN over this process's user namespace, which this process (%s) lacks", set, m.Who()),
				"run as root (sudo), or add user to the set so that the others are created inside a new user namespace",
			}, true
		case m.Seccomp == "filter":
			return explainSeccomp(set), true
		case user:
			return explainNoMaps(m), true
		}
		return explanation{
			fmt.Sprintf("the kernel refused %s although this process has CAP_SYS_ADMIN; a security module (SELinux, AppArmor) may forbid it", set),
			"check the kernel's audit log (`dmesg`, `ausearch -m avc`) for the denial",
		}, true
	case syscall.EACCES:
		switch {
		case user && !m.AdminInInitialUserNS() && m.AppArmorRestrictUnprivilegedUserns == 1:
			return explainAppArmor(), true
		case user:
			return explanation{
				"the child, root of its new user namespace, may not execute the probe or search a directory above it (files owned by ids that are not mapped into the namespace give it no privilege)",
				"put the probe in a directory that every user can search and give it mode 0755, or map the ids that own it",
			}, true
		}
		return explanation{
			"the probe, or a directory above it, may not be executed or searched, or it is on a noexec mount",
			"give the probe mode 0755 in a directory every user can search, on a mount without noexec",
		}, true
	case syscall.ENOSYS:
		switch {
		case m.Seccomp == "filter":
			return explanation{
				"a seccomp filter on this process (Seccomp: 2 in /proc/self/status) returns ENOSYS for clone3, as older container runtimes' default profiles do; Go passes CLONE_NEWTIME (and a cgroup to clone into) only through clone3",
				"update the container runtime or run it with `--security-opt seccomp=unconfined`, or leave time (and the cgroup directory) out",
			}, true
		case olderThan(m.Kernel, "5.3"):
			return explanation{
				fmt.Sprintf("this kernel (%s) has no clone3, which came in Linux 5.3; Go passes CLONE_NEWTIME (and a cgroup to clone into) only through clone3", m.Kernel),
				"boot Linux 5.6 or newer, or leave time (and the cgroup directory) out",
			}, true
		}
		return explanation{
			"clone3 is not available to this process; Go passes CLONE_NEWTIME (and a cgroup to clone into) only through clone3",
			"run outside whatever sandbox hides clone3, or leave time (and the cgroup directory) out",
		}, true
	}
	return explanation{}, false
}

// userNSDisabled reports whether the machine facts say that user
// namespaces are turned off.
func userNSDisabled(m *Machine) bool {
	return m.UserNamespaceEnable == "N" || m.Limits[User] == 0
}

func explainUserNSDisabled(m *Machine) explanation {
	var why, todo []string
	if m.UserNamespaceEnable == "N" {
		why = append(why, "user_namespace.enable=N: they are disabled at boot")
		todo = append(todo, "run `grubby --args=user_namespace.enable=1 --update-kernel=ALL` and reboot")
	}
	if m.Limits[User] == 0 {
		why = append(why, "user.max_user_namespaces is 0")
		todo = append(todo, "run `sysctl -w user.max_user_namespaces=15000` (and set it in /etc/sysctl.d/ to keep it)")
	}
	return explanation{
		"user namespaces are not enabled (" + strings.Join(why, "; ") + ")",
		strings.Join(todo, ", then "),
	}
}

func explainNoMaps(m *Machine) explanation {
	x := explanation{
		"the child asked for uid/gid 0 in a new user namespace that has no uid/gid map (there setgroups fails with EPERM and setgid with EINVAL, after the clone and before exec)",
		"give uid and gid maps (e.g. 0 0 1), which Run does",
	}
	if !m.Has(CapSetuid) || !m.Has(CapSetgid) {
		x.cause += fmt.Sprintf(", or the maps name ids other than this process's own (%s, without CAP_SETUID and CAP_SETGID, may map only itself and must deny setgroups)", m.Who())
		x.remedy += "; without them, map only your own uid and gid (0 <uid> 1)"
	}
	return x
}

func explainAppArmor() explanation {
	return explanation{
		"AppArmor refuses unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1)",
		"run `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or give the binary an AppArmor profile with the userns permission, or run as root (sudo)",
	}
}

func explainSeccomp(set Set) explanation {
	return explanation{
		fmt.Sprintf("a seccomp filter on this process (Seccomp: 2 in /proc/self/status, as a container runtime or systemd's RestrictNamespaces= installs) refuses %s or some of them; /proc/self/ns has an entry for each kind, so the kernel has them", flagNames(set)),
		"run outside the filter: with Docker or Podman `--security-opt seccomp=unconfined` (or --privileged), with systemd drop RestrictNamespaces= from the unit; `go run ./spawn/cmd/nspreflight` shows which kinds it refuses",
	}
}

// explainLimits explains ENOSPC: a limit in /proc/sys/user that is 0, or
// that is reached.
func explainLimits(set Set, m *Machine) explanation {
	// With kinds besides user, the user namespace's own limit is the most
	// likely one: it is checked first, and distributions set it to 0.
	order := set.userFirst()
	for _, k := range order {
		if m.Limits[k] != 0 {
			continue
		}
		sysctl := "user.max_" + string(k) + "_namespaces"
		cause := sysctl + " is 0"
		if k == User {
			cause = "user namespaces are not enabled (user.max_user_namespaces is 0)"
		}
		return explanation{cause, "run `sysctl -w " + sysctl + "=15000` (and set it in /etc/sysctl.d/ to keep it)"}
	}
	var limits, raise []string
	for _, k := range order {
		v := "unreadable"
		if m.Limits[k] >= 0 {
			v = strconv.FormatInt(m.Limits[k], 10)
		}
		limits = append(limits, fmt.Sprintf("user.max_%s_namespaces is %s", k, v))
		raise = append(raise, fmt.Sprintf("user.max_%s_namespaces=%d", k, max(15000, 2*m.Limits[k])))
	}
	return explanation{
		"a namespace limit is reached (" + strings.Join(limits, ", ") + "; each counts the namespaces that every process of this user holds, in this user namespace and its parents), or pid or user namespaces are nested 32 deep",
		"end the processes that hold leftover namespaces, or raise the limits: run `sysctl -w " + strings.Join(raise, " ") + "`",
	}
}

// olderThan reports whether kernel release rel ("3.10.0-1160.el7.x86_64")
// is older than version v ("5.6"). An unparsable release is not older.
func olderThan(rel, v string) bool {
	a, ok := majorMinor(rel)
	b, ok2 := majorMinor(v)
	if !ok || !ok2 {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// majorMinor parses the first three numbers of a release; missing ones are 0.
func majorMinor(rel string) ([3]int, bool) {
	var out [3]int
	end := strings.IndexFunc(rel, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if end >= 0 {
		rel = rel[:end]
	}
	parts := strings.Split(rel, ".")
	for i := 0; i < len(parts) && i < 3; i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return out, i > 0
		}
		out[i] = n
	}
	return out, true
}
