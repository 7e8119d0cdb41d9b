package spawn

import "golang.org/x/sys/unix"

// cloneFlags maps each kind to the clone flag that creates a namespace of
// it.
var cloneFlags = map[Kind]uintptr{
	UTS:    unix.CLONE_NEWUTS,
	IPC:    unix.CLONE_NEWIPC,
	PID:    unix.CLONE_NEWPID,
	MNT:    unix.CLONE_NEWNS,
	User:   unix.CLONE_NEWUSER,
	Net:    unix.CLONE_NEWNET,
	Cgroup: unix.CLONE_NEWCGROUP,
	Time:   unix.CLONE_NEWTIME,
}
