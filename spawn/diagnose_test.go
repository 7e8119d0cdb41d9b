package spawn

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// machine returns synthetic machine facts: a modern kernel, root, every
// kind present, every limit 15000, no distribution switch, no seccomp.
// edit changes them.
func machine(edit func(m *Machine)) *Machine {
	m := &Machine{
		Kernel: "6.8.0-45-generic", Privilege: rootPrivilege(),
		UnprivilegedUsernsClone: -1, AppArmorRestrictUnprivilegedUserns: -1,
		RootPropagation: "shared", CgroupLayout: "v2", Seccomp: "disabled",
		Limits: map[Kind]int64{}, Present: map[Kind]bool{},
	}
	for _, k := range kinds {
		m.Limits[k], m.Present[k] = 15000, true
	}
	if edit != nil {
		edit(m)
	}
	return m
}

// centos7 is a CentOS 7 kernel: no cgroup or time namespaces, and user
// namespaces off by the sysctl.
func centos7(m *Machine) {
	m.Kernel = "3.10.0-1160.el7.x86_64"
	m.CgroupLayout = "v1"
	m.Present[Cgroup], m.Present[Time] = false, false
	m.Limits[User], m.Limits[Cgroup], m.Limits[Time] = 0, -1, -1
}

// centos7Boot is an earlier CentOS 7: user namespaces off at boot.
func centos7Boot(m *Machine) {
	centos7(m)
	m.UserNamespaceEnable = "N"
	for _, k := range kinds {
		m.Limits[k] = -1
	}
}

// rootPrivilege is root in the initial user namespace with every
// capability, over every namespace it runs in.
func rootPrivilege() Privilege {
	p := Privilege{InitialUserNS: true, CapEff: 1<<41 - 1, UIDMap: identityMap(), GIDMap: identityMap()}
	for _, k := range kinds {
		if k != User {
			p.Owners = append(p.Owners, Ownership{Kind: k, Owner: "4:4026531837", Held: true})
		}
	}
	return p
}

func unprivileged(m *Machine) { m.EUID, m.CapEff = 1000, 0 }

func cloneError(set Set, errno syscall.Errno) *Error {
	return &Error{Set: set, Op: "clone probe", Err: &os.PathError{Op: "fork/exec", Path: "/usr/bin/sh", Err: errno}}
}

func TestDiagnoseExplainsEachErrnoFromTheMachineFacts(t *testing.T) {
	cases := []struct {
		name  string
		set   Set
		errno syscall.Errno
		m     *Machine
		want  []string // in the error's text, in this order
	}{
		{"CentOS 7, user namespaces off by the sysctl (the walk-through's first failure)",
			SetOf(UTS, IPC, PID, MNT, User), syscall.EINVAL, machine(centos7), []string{
				"spawn uts+ipc+pid+mnt+user: clone probe: fork/exec /usr/bin/sh: invalid argument",
				"likely cause: clone(CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUSER) failed with EINVAL",
				"user namespaces are not enabled (user.max_user_namespaces is 0)",
				"remedy: run `sysctl -w user.max_user_namespaces=15000`"}},
		{"CentOS 7, user namespaces off at boot",
			SetOf(User), syscall.EINVAL, machine(centos7Boot), []string{
				"clone(CLONE_NEWUSER) failed with EINVAL",
				"user namespaces are not enabled (user_namespace.enable=N: they are disabled at boot)",
				"remedy: run `grubby --args=user_namespace.enable=1 --update-kernel=ALL` and reboot"}},
		{"CentOS 7, off at boot and by the sysctl",
			SetOf(User), syscall.EINVAL, machine(func(m *Machine) { centos7Boot(m); m.Limits[User] = 0 }), []string{
				"user_namespace.enable=N: they are disabled at boot; user.max_user_namespaces is 0",
				"and reboot, then run `sysctl -w user.max_user_namespaces=15000`"}},
		{"modern kernel, max_user_namespaces 0",
			SetOf(User, Net), syscall.ENOSPC, machine(func(m *Machine) { m.Limits[User] = 0 }), []string{
				"no space left on device",
				"clone(CLONE_NEWUSER|CLONE_NEWNET) failed with ENOSPC: user namespaces are not enabled (user.max_user_namespaces is 0)",
				"remedy: run `sysctl -w user.max_user_namespaces=15000`"}},
		{"modern kernel, max_net_namespaces 0",
			SetOf(Net), syscall.ENOSPC, machine(func(m *Machine) { m.Limits[Net] = 0 }), []string{
				"failed with ENOSPC: user.max_net_namespaces is 0",
				"`sysctl -w user.max_net_namespaces=15000`"}},
		{"a limit reached",
			SetOf(UTS, User), syscall.ENOSPC, machine(func(m *Machine) { m.Limits[User] = 30000 }), []string{
				"a namespace limit is reached (user.max_user_namespaces is 30000, user.max_uts_namespaces is 15000",
				"`sysctl -w user.max_user_namespaces=60000 user.max_uts_namespaces=30000`"}},
		{"the walk-through's second failure: uid 0 asked for without maps",
			SetOf(UTS, IPC, PID, MNT, User), syscall.EPERM, machine(func(m *Machine) { centos7(m); m.Limits[User] = 640 }), []string{
				"fork/exec /usr/bin/sh: operation not permitted",
				"failed with EPERM: the child asked for uid/gid 0 in a new user namespace that has no uid/gid map",
				"remedy: give uid and gid maps (e.g. 0 0 1)"}},
		{"no maps, setgid's EINVAL",
			SetOf(User), syscall.EINVAL, machine(nil), []string{
				"failed with EINVAL: the child asked for uid/gid 0 in a new user namespace that has no uid/gid map"}},
		{"no maps, unprivileged",
			SetOf(User), syscall.EPERM, machine(unprivileged), []string{
				"that has no uid/gid map", "or the maps name ids other than this process's own (uid 1000 in the initial user namespace, without CAP_SYS_ADMIN, without CAP_SETUID and CAP_SETGID, may map only itself",
				"map only your own uid and gid (0 <uid> 1)"}},
		{"Debian, unprivileged user namespaces off",
			SetOf(User), syscall.EPERM, machine(func(m *Machine) { unprivileged(m); m.UnprivilegedUsernsClone = 0 }), []string{
				"this kernel lets only root create user namespaces (kernel.unprivileged_userns_clone is 0)",
				"remedy: run `sysctl -w kernel.unprivileged_userns_clone=1`"}},
		{"Ubuntu 24.04, AppArmor restricts user namespaces (EPERM)",
			SetOf(User, Net), syscall.EPERM, machine(func(m *Machine) { unprivileged(m); m.AppArmorRestrictUnprivilegedUserns = 1 }), []string{
				"AppArmor refuses unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1)",
				"remedy: run `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"}},
		{"Ubuntu 24.04, AppArmor restricts user namespaces (EACCES)",
			SetOf(User), syscall.EACCES, machine(func(m *Machine) { unprivileged(m); m.AppArmorRestrictUnprivilegedUserns = 1 }), []string{
				"permission denied", "failed with EACCES: AppArmor refuses unprivileged user namespaces",
				"`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"}},
		{"AppArmor does not restrict root",
			SetOf(User), syscall.EPERM, machine(func(m *Machine) { m.AppArmorRestrictUnprivilegedUserns = 1 }), []string{
				"that has no uid/gid map"}},
		{"not root, no user in the set",
			SetOf(UTS, Net), syscall.EPERM, machine(unprivileged), []string{
				"clone(CLONE_NEWUTS|CLONE_NEWNET) failed with EPERM: creating uts+net namespaces needs CAP_SYS_ADMIN over this process's user namespace, which this process (uid 1000 in the initial user namespace, without CAP_SYS_ADMIN) lacks",
				"remedy: run as root (sudo), or add user to the set"}},
		{"root in a container without CAP_SYS_ADMIN",
			SetOf(MNT), syscall.EPERM, machine(func(m *Machine) { m.CapEff &^= 1 << CapSysAdmin }), []string{
				"which this process (uid 0 in the initial user namespace, without CAP_SYS_ADMIN) lacks"}},
		{"a container's seccomp profile",
			SetOf(PID, Net), syscall.EPERM, machine(func(m *Machine) { m.Seccomp = "filter" }), []string{
				"a seccomp filter on this process (Seccomp: 2 in /proc/self/status", "refuses CLONE_NEWPID|CLONE_NEWNET",
				"`--security-opt seccomp=unconfined`"}},
		{"root, refused by a security module",
			SetOf(Net), syscall.EPERM, machine(nil), []string{
				"although this process has CAP_SYS_ADMIN; a security module", "ausearch -m avc"}},
		{"the probe cannot be executed from a user namespace",
			SetOf(User), syscall.EACCES, machine(nil), []string{
				"may not execute the probe or search a directory above it", "mode 0755"}},
		{"the probe cannot be executed",
			SetOf(UTS), syscall.EACCES, machine(nil), []string{
				"or it is on a noexec mount"}},
		{"CentOS 7 has no time namespaces",
			SetOf(UTS, Time), syscall.EINVAL, machine(centos7), []string{
				"clone3(CLONE_NEWUTS|CLONE_NEWTIME) failed with EINVAL",
				"this kernel (3.10.0-1160.el7.x86_64) has no time namespaces (/proc/self/ns/time is missing); they need Linux 5.6",
				"remedy: boot Linux 5.6 or newer, or leave time out of the set"}},
		{"CentOS 7 has neither cgroup nor time namespaces, and no clone3",
			SetOf(Cgroup, Time), syscall.ENOSYS, machine(centos7), []string{
				"function not implemented", "clone3(CLONE_NEWCGROUP|CLONE_NEWTIME) failed with ENOSYS",
				"has no cgroup namespaces (/proc/self/ns/cgroup is missing); they need Linux 4.6 (it has no time namespaces either)"}},
		{"a new kernel built without time namespaces",
			SetOf(Time), syscall.EINVAL, machine(func(m *Machine) { m.Present[Time] = false }), []string{
				"they need Linux 5.6, built with CONFIG_TIME_NS=y, and this one was built without it",
				"remedy: boot a kernel built with CONFIG_TIME_NS=y"}},
		{"a seccomp filter hides clone3",
			SetOf(Time), syscall.ENOSYS, machine(func(m *Machine) { m.Seccomp = "filter" }), []string{
				"clone3(CLONE_NEWTIME) failed with ENOSYS: a seccomp filter", "Go passes CLONE_NEWTIME"}},
		{"a kernel without clone3",
			SetOf(UTS), syscall.ENOSYS, machine(func(m *Machine) { m.Kernel = "5.2.21" }), []string{
				"clone3(CLONE_NEWUTS) failed with ENOSYS: this kernel (5.2.21) has no clone3, which came in Linux 5.3"}},
		{"user namespaces nested too deep",
			SetOf(User), syscall.EUSERS, machine(nil), []string{
				"failed with EUSERS: user namespaces are nested 32 deep"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := cloneError(c.set, c.errno)
			diagnoseWith(e, c.m)
			msg := e.Error()
			rest := msg
			for _, want := range c.want {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("the message does not say %q (in this order):\n%s", want, msg)
				}
				rest = rest[i+len(want):]
			}
			if !errors.Is(e, c.errno) {
				t.Errorf("errors.Is(%v) is false for %q", c.errno, msg)
			}
			t.Log(msg)
		})
	}
}

func TestDiagnoseLeavesOtherFailuresAlone(t *testing.T) {
	m := machine(centos7)
	cases := []*Error{
		cloneError(SetOf(User), syscall.ENOENT),
		cloneError(SetOf(Time), syscall.ENOENT),
		{Set: SetOf(User), Op: "clone probe", Err: errors.New("no errno here")},
		{Set: SetOf(User), Op: "wait for probe", Err: &exec.ExitError{}, Stderr: "nsprobe: unknown subcommand"},
		{Set: SetOf(User), Op: "read probe report", Err: syscall.EINVAL},
	}
	for _, e := range cases {
		diagnoseWith(e, m)
		if e.Cause != "" || e.Remedy != "" {
			t.Errorf("%q got a diagnosis", e.Error())
		}
	}
	diagnose(nil)
}

func TestDiagnoseReadsAFailedMapWriteFromTheProbesStderr(t *testing.T) {
	e := &Error{Set: SetOf(User, Net), Op: "wait for probe", Err: errors.New("exit status 1"),
		Stderr: "nsprobe: write /proc/7/uid_map: operation not permitted\n"}
	diagnoseWith(e, machine(func(m *Machine) { unprivileged(m); m.AppArmorRestrictUnprivilegedUserns = 1 }))
	want := "likely cause: writing the uid/gid map failed with EPERM: AppArmor refuses unprivileged user namespaces"
	if !strings.Contains(e.Error(), want) {
		t.Errorf("the message does not say %q:\n%s", want, e.Error())
	}
}

func TestOlderThanComparesKernelReleases(t *testing.T) {
	cases := []struct {
		rel, v string
		want   bool
	}{
		{"3.10.0-1160.el7.x86_64", "5.6", true},
		{"3.10.0-1160.el7.x86_64", "3.8", false},
		{"5.6.0", "5.6", false},
		{"5.5.19-arch1", "5.6", true},
		{"6.18.44-fc-v669", "5.3", false},
		{"4.19.0+", "4.6", false},
		{"", "5.6", false},
		{"weird", "5.6", false},
	}
	for _, c := range cases {
		if got := olderThan(c.rel, c.v); got != c.want {
			t.Errorf("olderThan(%q, %q) = %v, want %v", c.rel, c.v, got, c.want)
		}
	}
}
