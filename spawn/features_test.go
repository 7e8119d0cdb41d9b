package spawn

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/nsverify/nsverify/probes"
)

// features builds Features from synthetic machine facts and the error of
// cloning each kind (absent: it was cloned).
func features(m *Machine, errs map[Kind]error) *Features {
	f := &Features{Machine: *m, Exe: "/usr/libexec/nsprobe"}
	for _, k := range kinds {
		f.Kinds = append(f.Kinds, judge(k, m, errs[k]))
	}
	return f
}

func allFail(errno syscall.Errno) map[Kind]error {
	errs := map[Kind]error{}
	for _, k := range kinds {
		errs[k] = &os.PathError{Op: "fork/exec", Path: "/usr/libexec/nsprobe", Err: errno}
	}
	return errs
}

func TestSupportsNamesTheKindTheCauseAndTheRemedy(t *testing.T) {
	einval := &os.PathError{Op: "fork/exec", Path: "/usr/libexec/nsprobe", Err: syscall.EINVAL}
	cases := []struct {
		name string
		f    *Features
		set  Set
		want string // the reason's beginning; empty: supported
	}{
		{"root, modern kernel", features(machine(nil), nil), All, ""},
		{"the empty set", features(machine(unprivileged), allFail(syscall.EPERM)), None, ""},
		{"unprivileged, no user in the set", features(machine(unprivileged), nil), SetOf(UTS, Net),
			"needs CAP_SYS_ADMIN over its own user namespace: creating namespaces other than user outside a new user namespace needs it, and this process (uid 1000 in the initial user namespace, without CAP_SYS_ADMIN) lacks it; run as root (sudo), or add user to the set"},
		{"unprivileged, inside a user namespace", features(machine(unprivileged), nil), SetOf(UTS, User, Net), ""},
		{"max_user_namespaces is 0", features(machine(func(m *Machine) { m.Limits[User] = 0 }), map[Kind]error{User: &os.PathError{Op: "fork/exec", Err: syscall.ENOSPC}}), SetOf(Net, User),
			"user: cannot create user namespaces (clone(CLONE_NEWUSER) failed with ENOSPC): user namespaces are not enabled (user.max_user_namespaces is 0); run `sysctl -w user.max_user_namespaces=15000`"},
		{"unprivileged, max_user_namespaces is 0: user is blamed first", features(machine(func(m *Machine) { unprivileged(m); m.Limits[User] = 0 }), allFail(syscall.ENOSPC)), SetOf(UTS, User),
			"user: cannot create user namespaces (clone(CLONE_NEWUSER) failed with ENOSPC): user namespaces are not enabled"},
		{"CentOS 7, off at boot", features(machine(centos7Boot), map[Kind]error{User: einval}), SetOf(User),
			"user: cannot create user namespaces (clone(CLONE_NEWUSER) failed with EINVAL): user namespaces are not enabled (user_namespace.enable=N: they are disabled at boot); run `grubby --args=user_namespace.enable=1 --update-kernel=ALL` and reboot"},
		{"CentOS 7 has no time namespaces", features(machine(centos7), nil), SetOf(UTS, Time),
			"time: this kernel (3.10.0-1160.el7.x86_64) has no time namespaces (/proc/self/ns/time is missing); they need Linux 5.6; boot Linux 5.6 or newer, or leave time out of the set"},
		{"CentOS 7 has the walk-through's kinds", features(machine(centos7), nil), SetOf(UTS, IPC, PID, MNT, Net), ""},
		{"Ubuntu 24.04 AppArmor", features(machine(func(m *Machine) { unprivileged(m); m.AppArmorRestrictUnprivilegedUserns = 1 }), allFail(syscall.EACCES)), SetOf(User),
			"user: cannot create user namespaces (clone(CLONE_NEWUSER) failed with EACCES): AppArmor refuses unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1); run `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"},
		{"an errno nobody explains", features(machine(nil), map[Kind]error{Net: &os.PathError{Op: "fork/exec", Err: syscall.ENOMEM}}), SetOf(Net),
			"net: cannot create net namespaces (clone(CLONE_NEWNET) failed with ENOMEM): cannot allocate memory; see clone(2) for ENOMEM"},
		{"an error without errno", features(machine(nil), map[Kind]error{IPC: errors.New("wait: signal: killed")}), SetOf(IPC),
			"ipc: cannot create ipc namespaces: wait: signal: killed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, reason := c.f.Supports(c.set)
			if c.want == "" {
				if !ok {
					t.Errorf("Supports(%s) = false, %q; want true", c.set, reason)
				}
				return
			}
			if ok || !strings.HasPrefix(reason, c.want) {
				t.Errorf("Supports(%s) = %v,\n  %q\nwant false,\n  %q…", c.set, ok, reason, c.want)
			}
		})
	}
}

func TestMountFactsReadPropagationAndCgroupLayout(t *testing.T) {
	cases := []struct {
		name, mountinfo, propagation, cgroups string
	}{
		{"systemd, cgroup v2", `
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate
`, "shared", "v2"},
		{"CentOS 7, cgroup v1", `
60 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/centos-root rw
25 60 0:22 / /sys/fs/cgroup ro,nosuid shared:8 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:9 - cgroup cgroup rw,xattr,name=systemd
27 25 0:24 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory
`, "shared", "v1"},
		{"hybrid, private /", `
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`, "private", "hybrid"},
		{"a container's / over the host's", `
100 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw
200 100 0:50 / / rw master:7 - overlay overlay rw
`, "slave", "none"},
		{"shared and slave", `
1 0 8:1 / / rw shared:3 master:1 - ext4 /dev/sda1 rw
`, "shared+slave", "none"},
		{"unbindable", `
1 0 8:1 / / rw unbindable - ext4 /dev/sda1 rw
`, "unbindable", "none"},
	}
	for _, c := range cases {
		mounts, err := probes.ParseMountinfo(strings.NewReader(strings.TrimSpace(c.mountinfo)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		propagation, cgroups := mountFacts(mounts)
		if string(propagation) != c.propagation || cgroups != c.cgroups {
			t.Errorf("%s: propagation %q, cgroups %q; want %q, %q", c.name, propagation, cgroups, c.propagation, c.cgroups)
		}
	}
}
