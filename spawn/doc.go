// Package spawn starts one child process in a chosen set of Linux namespaces
// and returns the report that the probe inside it printed.
//
// It owns the namespace kinds, sets of kinds and their power set, the uid/gid
// maps of a user namespace, and the translation of a set into clone flags.
// A child may also join existing namespaces (Options.Join): by path or
// through a pidfd, from a single-threaded stage of the probe, never from
// the caller.
//
// Privilege: creating any namespace but user needs CAP_SYS_ADMIN over the
// caller's user namespace; a caller without it can still create a user
// namespace and, inside it, the others. What a caller may change in the
// namespaces it runs in is a matter of capabilities and ownership, not of
// its uid: uid 0 in a user namespace other than the initial one holds
// nothing over the host's network or mounts. Detect reads that once
// (Privilege, from NS_GET_USERNS on /proc/self/ns/*) for the preflight and
// the suite to decide from.
//
// What it must never do: call setns or unshare for the caller's own
// process (every namespace is made for the child alone), or leave a child
// running. Namespaces are made by clone, with one exception: a time
// namespace with offsets, which needs a namespace no process has entered
// yet. Run makes it from its thread for time, an OS thread locked for
// good that unshares time for its children only (never its own clocks,
// nor any other thread's), or, with user, in the child it forks, before
// that child's exec. Every child gets Pdeathsig SIGKILL, its own process
// group and a deadline after which the whole group is killed.
//
// Launchers: Run clones the probe itself (the built-in launcher, named
// BuiltinLauncher), or starts it through a Launcher, a program people build
// sandboxes with, which says what it cannot express and gives the command
// line; Run keeps the hello handshake, the process group and the deadline
// for both. The launchers themselves (unshare, bwrap, runc, crun) are in
// spawn/launchers, which imports this package; this package never imports
// it.
//
// Tests only: two ways of making a user namespace that no caller should
// ask for (no id maps at all, to reproduce the "operation not permitted"
// of an unmapped child; setgroups left allowed) are not in Options. A test
// of this module puts them in the context it passes to Run with
// internal/testseam, which Run reads where it builds the clone; being
// internal, that package cannot be imported from outside the module.
//
// Platforms: only Linux has namespaces. Elsewhere the package builds, so
// that editors and go vet work, and its platform-neutral parts (kinds,
// sets, id map and option validation, diagnoses) behave the same; but
// CloneFlag is 0, Run returns an error wrapping errors.ErrUnsupported and
// Detect reports every kind unsupported.
package spawn
