// Package suite is the Ginkgo v2 suite that verifies, for a set of namespace
// kinds, that a child cloned with that set is isolated from the host in
// exactly those kinds and shares all the others.
//
// Each spec starts a probe through package spawn and compares its report
// with the host, in pairs: the isolated observation and its negative control
// (the same observation without the flag must show the host's value).
//
// Privilege: most specs need root (CAP_SYS_ADMIN); each says so when it skips.
// What it must never do: setns in its own process, change the host's
// hostname, mounts or sysctls, or leave a marker (SysV queue, link, cgroup)
// or a process behind. Markers carry a unique name and are removed in
// DeferCleanup.
package suite
