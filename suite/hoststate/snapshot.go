package hoststate

import (
	"fmt"

	"github.com/nsverify/nsverify/probes"
)

// Snapshot is what the host looked like, in every area that nsverify could
// leave something behind in. Lists are sorted, so that two snapshots of an
// unchanged host are deeply equal.
type Snapshot struct {
	Hostname   string `json:"hostname"`
	Domainname string `json:"domainname"`

	// SysvMsg, SysvShm and SysvSem are the rows of /proc/sysvipc/msg, shm
	// and sem.
	SysvMsg []probes.IPCObject `json:"sysv_msg"`
	SysvShm []probes.IPCObject `json:"sysv_shm"`
	SysvSem []probes.IPCObject `json:"sysv_sem"`

	// PosixMqueues are the names of the queues under the mqueue mount
	// (/dev/mqueue). Without such a mount it is empty and Notes says so.
	PosixMqueues []string `json:"posix_mqueues"`

	// Links are the names of the network links that netlink lists.
	Links []string `json:"links"`

	// Mountinfo is the mount table, one normalised line per mount (see
	// MountLine); two mounts that look alike give two equal lines.
	Mountinfo []string `json:"mountinfo"`

	// RootPropagation is the propagation of the / mount.
	RootPropagation probes.Propagation `json:"root_propagation"`

	// NetnsFiles are the entries of /run/netns (empty if it is missing).
	NetnsFiles []string `json:"netns_files"`

	// Cgroups are the directories under Options.CgroupRoots whose name
	// starts with Options.CgroupPrefix, as full paths.
	Cgroups []string `json:"cgroups"`

	// Sysctls maps each of Options.Sysctls to its value, without the
	// trailing newline. A sysctl this kernel lacks is left out (and noted).
	Sysctls map[string]string `json:"sysctls"`

	// Children are the descendants of Options.ParentPID, sorted by pid.
	Children []Process `json:"children"`

	// Notes say what could not be looked at and why (no mqueue mount, a
	// missing cgroup root or sysctl). Diff does not compare them.
	Notes []string `json:"notes,omitempty"`
}

// Process is one descendant of the parent pid, from /proc/PID/stat.
type Process struct {
	PID  int `json:"pid"`
	PPID int `json:"ppid"`
	// Pgrp is the process group.
	Pgrp int `json:"pgrp"`
	// State is the one-letter state of /proc/PID/stat: R, S, D, T, Z
	// (a zombie: exited, not yet waited for), X…
	State string `json:"state"`
	// Comm is the command name, at most 15 bytes; it may hold spaces and
	// parentheses.
	Comm string `json:"comm"`
	// StartTime is when the process started, in clock ticks after boot;
	// with PID it tells a process from a later one that reuses its pid.
	StartTime uint64 `json:"start_time"`
}

// Zombie reports whether the process has exited and is waiting for its
// parent to collect its status.
func (p Process) Zombie() bool { return p.State == "Z" || p.State == "X" }

// String prints the process as "pid 42 (sleep) ppid 41 state S".
func (p Process) String() string {
	s := fmt.Sprintf("pid %d (%s) ppid %d state %s", p.PID, p.Comm, p.PPID, p.State)
	if p.Zombie() {
		s += ", a zombie"
	}
	return s
}

// Options say which cgroups, sysctls and processes a snapshot looks at.
type Options struct {
	// CgroupRoots are the directories walked for cgroups; nil means
	// /sys/fs/cgroup, which holds every hierarchy on a usual host.
	CgroupRoots []string
	// CgroupPrefix is the name prefix of the cgroups to list, e.g.
	// "nsverify-". Empty means that no cgroup is listed: every host has
	// cgroups that come and go on their own.
	CgroupPrefix string
	// Sysctls are read by path, e.g. /proc/sys/user/max_user_namespaces;
	// a name without a leading slash is a dotted sysctl name, e.g.
	// user.max_user_namespaces.
	Sysctls []string
	// ParentPID is the process whose descendants are listed; 0 means the
	// calling process.
	ParentPID int
	// IgnoreChildren, if set, leaves out each descendant for which it
	// returns true (a parallel test process, say). The descendants of a
	// process left out are still examined.
	IgnoreChildren func(Process) bool
}
