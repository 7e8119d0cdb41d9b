// Package hoststate takes a snapshot of everything on the host that nsverify
// could leave behind, and compares two snapshots with a readable diff.
//
// The suite takes one Snapshot before its first spec and one after its last;
// any Change between them means the run did not leave the host as it found
// it: a System V IPC object, a POSIX message queue, a network link, a named
// network namespace, a cgroup, a mount (or the propagation of /), a hostname,
// a sysctl or a child process that is still there, or that is gone.
//
// Scope: what one process can see of its own namespaces, that is the host's
// when the caller runs there. The hostname and domainname (uname), the SysV
// objects of /proc/sysvipc, the queues under the mqueue mount (/dev/mqueue),
// the links netlink lists, the entries of /run/netns, the cgroups under
// chosen roots whose name has a chosen prefix, the mount table of
// /proc/self/mountinfo, chosen sysctls, and the descendants of a chosen pid
// with their state (Z for a zombie). A descendant whose parent exits is
// reparented to init (or to the nearest child subreaper) and so leaves the
// tree: a caller that wants to catch such orphans makes itself a child
// subreaper (prctl PR_SET_CHILD_SUBREAPER) before it starts anything.
//
// Privilege: none to take a snapshot, as long as the caller may read /proc,
// /sys/fs/cgroup and the sysctls it names; root sees the same things, and is
// only needed to create the objects that a snapshot is meant to catch.
//
// What it must never do: change the host. Take only reads: it mounts
// nothing, writes no sysctl, creates and removes no object, sends no signal
// and starts no process. It never enters another namespace (no setns), so a
// snapshot always describes the namespaces of the calling process.
//
// The parsers behind Take read from an io.Reader, so their tests run on
// fixture text without privilege.
package hoststate
