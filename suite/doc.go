// Package suite is the Ginkgo v2 suite that verifies, for a set of namespace
// kinds, that a child cloned with that set is isolated from the host in
// exactly those kinds and shares all the others.
//
// Each spec starts a probe through package spawn and compares its report
// with the host, in pairs: the isolated observation and its negative control
// (the same observation without the flag must show the host's value).
//
// Privilege: decided by capabilities, never by the effective uid (see
// spawn.Privilege). Creating namespaces outside a new user namespace needs
// CAP_SYS_ADMIN over the suite's own user namespace; the host's marker link
// needs CAP_NET_ADMIN over the host's network namespace, which root in a
// user namespace of its own lacks; a dedicated cgroup needs write access to
// the suite's cgroup v2 directory. A spec that needs what is missing skips,
// naming the capability, the namespace and the remedy.
// What it must never do: setns in its own process, change the host's
// hostname, mounts or sysctls, or leave a marker (SysV queue, link, cgroup)
// or a process behind. Markers carry a unique name and are removed in
// DeferCleanup.
package suite
