// Package kindcheck tells, for each of the eight namespace kinds, whether
// this process can create a namespace of that kind, by a method that shares
// no code with spawn: its own table of CLONE_NEW* flags, a trivial child
// (the true(1) binary) started with Go's SysProcAttr.Unshareflags, so that
// the child calls unshare(2) on itself before its exec, and the facts read
// directly from /proc (the /proc/self/ns entry, the max_<kind>_namespaces
// limits, the distribution switches for unprivileged user namespaces, the
// effective capabilities and whether this is the initial user namespace,
// parsed with the probes package's readers of /proc, which spawn's
// detection does not use to decide).
//
// It exists so that the suite's decision to skip a spec does not rest on
// the code under test alone: spawn.Detect clones with the same flags as
// spawn.Run, so a fault in spawn could make both claim that a kind is
// unavailable and turn every spec of that kind into a skip. The suite asks
// both and fails where they disagree.
//
// A kind counts as creatable when unshare(flag) succeeds, or, for a caller
// without CAP_SYS_ADMIN over its own user namespace, when
// unshare(CLONE_NEWUSER|flag) does: the only place such a caller may make
// the other kinds. Both are tried and reported, so that a caller compares
// like with like. For pid and time the child is not moved into the new
// namespace (only its later children would be), which does not matter here:
// the question is whether the kernel lets it be created.
//
// Privilege: none. Whatever this process may create, it finds out; it
// needs no capability to run the check.
//
// What it must never do: unshare, setns or change anything in the calling
// process, write a sysctl, or leave a child behind. Every child is the
// true(1) binary, dies with the caller (Pdeathsig SIGKILL), runs in its own
// process group under a deadline, and is waited for.
//
// Test support only: it lives under internal/ and only _test.go files
// import it; production code decides with spawn.
//
// Platforms: only Linux has namespaces. Elsewhere Check returns an error
// wrapping errors.ErrUnsupported, so that the package builds and vets.
package kindcheck
