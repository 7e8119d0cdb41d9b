// Package nsprobe is the probe: it observes the namespaces it runs in and
// prints one JSON report (probes.Report) on stdout. Two binaries are the
// probe: nsprobe (probes/cmd/nsprobe), and nsverify, whose "probe" command
// runs it, so that one installed binary can be bind-mounted into any
// sandbox and started there. Main takes the words after the binary's name
// (and after "probe"), and the probe starts itself again, where it must,
// with the same leading words.
//
// Usage:
//
//	nsprobe [subcommand] [flags]
//	nsverify probe [subcommand] [flags]
//
// It is started by package spawn inside the namespace set under test. With
// no subcommand it runs every observation; a subcommand (ns, hostname, pid,
// ipc, proc, links, user, cgroup, clock, caps, owners) runs one. Flags may
// come before or after the subcommand.
//
// pid also reports nspid, the NSpid line of /proc/self/status; proc also
// reports where /proc/self points; links reports each link's flags.
//
// caps reports what the probe may do beyond its ids, from /proc/self/status:
// the five capability sets (inh, prm, eff, bnd, amb) as names (CAP_SYS_ADMIN;
// a bit this build cannot name as cap_N), no_new_privs, the seccomp mode
// (disabled, strict, filter) and seccomp_filters, and lsm, the label of
// /proc/self/attr/current where an LSM gives one. Capabilities count in the
// probe's own user namespace only. The setgroups switch is under user.
//
// owners reports, for every entry of /proc/self/ns, the user namespace that
// owns it (NS_GET_USERNS) as owner, and for pid, pid_for_children and user
// the parent namespace (NS_GET_PARENT) as parent: an identity {dev, ino},
// or "outside" where the kernel refuses to name it (EPERM: it is neither
// the probe's own user or pid namespace nor below it, or there is none).
// Seen from a new user namespace, everything the host owns is "outside".
// On a kernel before 4.9, which lacks both ioctls, owners is absent and
// errors.owners says so.
//
// Flags ask for actions, done before observing and in this order: set the
// hostname and domainname (-hostname, -domainname), create a SysV message
// queue (-msgq) and a POSIX one (-mq), mount a private /proc (-mount-proc,
// which also lists the POSIX queues of the probe's ipc namespace under
// mqueues, through an mqueue file system of its own attached nowhere), create a file
// (-create-file) and add a marker link (-marker-link). A failed action is
// reported under the observation it affects (hostname, ipc, proc, user,
// links) and every observation still runs. -timens with -monotonic-offset
// and -boottime-offset (and -newpid) makes a two-stage launch: time offsets
// can only be written before any process enters a time namespace, so the
// probe forks a stage that unshares one (and a pid namespace with -newpid),
// writes the offsets and forks the observer inside. The stage makes raw
// system calls only and stays single-threaded: many kernels (Debian 12's
// 6.1 among them) refuse a new thread to a task whose time namespace for
// children is not its own, and a Go runtime starts threads as it likes.
// The report then names the observer's pid and the stage's thread count
// under launcher. With -timens-exec (Linux 6.2 or later, where exec too
// enters the time namespace for children) the probe itself unshares, on
// its main thread, writes the offsets and execs itself in place: the
// observer is the process its caller started, in the pid namespace it was
// cloned into (so not with -newpid), and no launcher is reported. On
// Linux 6.2 and later spawn.Run makes the time namespace itself and
// starts the probe inside, with none of these flags; it passes them where
// it cannot (an older kernel, a join, or, with user, a cgroup to start
// in).
//
// -hello-fd FD is how every caller learns which process observes: before
// it acts, the observer sends one byte on the unix socket FD, to which the
// kernel attaches its credentials with its pid as the caller's pid
// namespace sees it, and waits for the caller's answer, so that the caller
// can read it from outside, alive, whatever program (unshare, bwrap, an
// OCI runtime, the probe's own stage) started it. A probe that starts the
// observer itself passes the descriptor and the flag on.
//
// -join KIND=PATH,... joins existing namespaces before observing, from the
// same kind of stage: a /proc/PID/ns/KIND file or a bind mount of one
// (/run/netns/NAME) per kind, opened before the fork, one setns each in
// nsenter's order (user first, then uid and gid 0 of the joined user
// namespace, as nsenter does; pid and time apply to the observer the stage
// forks after). -join-pidfd PID=KIND+KIND joins those kinds of process PID
// in one setns through a pidfd (Linux 5.8 or later). With -newpid the stage
// unshares a pid namespace after joining, so the observer is its pid 1.
// The kinds joined are
// listed under launcher.joined. A join that fails starts no observer: the
// probe exits 1 and says which setns failed. Actions still need a new
// namespace of their kind; a joined one is never changed.
//
// -canaries token=T,NAME=WHERE,… tries to reach the canaries the host
// planted (an abstract socket, a TCP listener on the loopback, a SysV
// segment, a POSIX queue, a file on a mount, a process) and leaves the
// token wherever it gets in, so that the host sees the visit itself; the
// attempts are under canaries.
//
// Confinement flags try what a confined process may not do and record the
// kernel's answer under confine.attempts ("allowed", an errno name such as
// EPERM, or "not tried" with the reason, and the exact call made):
// -try-hostname, -try-link and -try-mount-proc, always made, in a form the
// kernel rejects after its permission check (a name one byte too long, a
// proc option that does not exist), so that the answer is EPERM where the
// probe lacks the capability and EINVAL or ERANGE where it holds it, and
// nothing changes either way; -setns-host, where a single-threaded child
// makes a new user namespace and tries to join each of the probe's own
// namespaces back (only those it cannot name the owner of) and, as the
// control, re-joins uts, ipc, net, mnt and cgroup namespaces of its own;
// -rewrite-uid-map (a written map only); -try-setgroups; -signal-pid
// (signal 0 only); -remove-msgq and -write-file, from a user namespace
// other than the initial one, on the queue or file the caller names and
// made for the purpose: ownership follows the mapped id, so with a 0 → 0
// map they succeed, which is their point; -leave-descendant (a process
// that outlives the probe by at most a minute, unless its pid namespace
// dies with the probe); and -nest KIND=N, which nests N user or pid
// namespaces below the probe's in a raw child and tries one more
// (confine.nest). setns into a user or time namespace, and unshare of a
// user namespace, are refused to a multi-threaded process before any
// capability is asked about, which is why they run in a raw child.
//
// It exits 0 even when an observation or action fails (the failure is in
// the report's errors), 2 on bad usage (having done nothing), and 1 only
// when it cannot write its report or, as a launcher, cannot run its
// observer or join what it was asked to. Build it with CGO_ENABLED=0, so that it runs in any mount
// namespace.
//
// Privilege: every action needs the capability over its namespace that the
// kernel asks for (CAP_SYS_ADMIN, CAP_NET_ADMIN), which root in a new user
// namespace has over the namespaces it owns. Observing needs none.
//
// What it must never do is change the host. Every action is refused unless
// the namespace it changes is a new one: neither init's nor the parent's
// that -parent-ns names. Before mounting /proc it makes /
// recursively private, so no mount propagates back to the host, and it
// never unmounts anything.
package nsprobe
