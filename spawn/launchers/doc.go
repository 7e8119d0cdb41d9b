// Package launchers holds the launchers that start nsverify's probe
// through a program people build sandboxes with, rather than spawn's own
// clone: util-linux unshare, bubblewrap, and the OCI runtimes runc and
// crun. Each is one file, which states as tables at its top how it spells
// each namespace kind, what it always makes, what it cannot make and why;
// then what else it cannot express, with the reason a matrix shows as n/a,
// and the command line that starts the probe in a set, handing the probe
// the hello socket as its descriptor 3 (see spawn.Launcher).
//
// A *Launcher is one launcher as Find found it on this machine: its
// program, version, the options its --help lists, and, for an OCI runtime,
// what its trials found. It satisfies spawn.Launcher, so spawn.Run starts
// the probe through it; this package imports spawn, never the reverse. The
// oracles do not know which launcher ran: only a launcher's documented
// facts (bwrap's reaper, ProbePIDInside) are per launcher.
//
// Privilege: a launcher runs as the caller. unshare and bwrap make what
// the caller may make (bwrap, run by a uid other than 0 and not installed
// setuid, always makes a user namespace); the bundles written for an OCI
// runtime are for one run by a caller with CAP_SYS_ADMIN in the initial
// user namespace, and every set is n/a for any other.
//
// What it must never do: leave anything behind. Find makes an OCI
// runtime's root file system, which Close removes; each bundle, container
// state and cgroup of a runtime's own making is removed after its run.
// Every program is started in a process group of its own with Pdeathsig
// SIGKILL and killed as a group at its deadline (by spawn.Run, or here for
// a trial).
//
// Platforms: Find tries programs on Linux alone; elsewhere it returns
// every launcher but the built-in one refused, and the rest of the package
// (names, what each launcher expresses, its command line) behaves the
// same.
package launchers
