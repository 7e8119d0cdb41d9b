// Command nsprobe observes the namespaces it runs in and prints one JSON
// report (probes.Report) on stdout.
//
// It is started by package spawn inside the namespace set under test. With
// no subcommand it runs every observation; a subcommand (ns, hostname, pid,
// ipc, proc, links, user, cgroup, clock) runs one. Flags ask for actions
// before observing: set the hostname or domainname, create a SysV queue,
// mount a private /proc, add a marker link, or enter a time namespace with
// offsets (a two-stage launch, since offsets must be written before any
// process enters the namespace).
//
// It exits 0 even when an observation fails (the failure is in the report's
// errors) and 2 on bad usage. It must be built with CGO_ENABLED=0 so that it
// runs in any mount namespace. It never mounts /proc unless it is in a new
// mount namespace, and it makes / recursively private first, so no mount
// propagates back to the host.
package main
