// Package canary plants resources on the host for one child to try to
// reach, and judges, from what the host itself saw, which the child
// reached: an abstract unix socket bound in the host's network namespace
// and a TCP listener on the host's loopback (net), a SysV shared memory
// segment and a POSIX message queue (ipc), a file on a mount the host makes
// once the child's mount namespace exists (mnt), and a host process to
// signal (pid). The child (the probe, with -canaries) leaves a token of
// this plant wherever it gets in, so the host sees a visit to the sockets,
// the queue and the file itself; for the segment and the process only the
// probe can say, and the result says so.
//
// A canary reached across a kind the child should have of its own is an
// escape; one not reached across a kind it shares means the canary proves
// nothing there. Each has its control: the same attempt from a probe in
// none of its own namespaces must reach every canary.
//
// Planting needs no privilege but for the mount canary, which needs
// CAP_SYS_ADMIN over the host's mount namespace (Options.Mount). Every
// planted resource carries a random name, is the caller's own, and is
// removed by Remove; nothing of the host's is changed or touched. It is
// Linux-only at run time.
package canary
