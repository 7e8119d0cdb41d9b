// Package fixturesuite is a stand-in for the nsverify suite that needs no
// root: it names, labels and reports its matrix specs as the suite does, with
// outcomes chosen to cover every kind of cell. Ginkgo runs it to write the
// JSON reports in ../ (see gen.sh there), so the fixtures are Ginkgo's own
// output rather than hand-written JSON.
//
// NSREPORT_FIXTURE picks the machine it pretends to be:
//
//   - el7: a 3.10 kernel without cgroup and time namespaces. Sets holding
//     either are skipped as the suite skips them; the "kernel", "preflight"
//     and "host baseline" entries are present; the other sets say "not
//     checked" for cgroup and time; uts+net fails on net and ipc+pid fails
//     before any kind is checked.
//   - modern: every kind present and no suite-level entry at all; user+net
//     fails on user, and the "child <set>" entries carry the namespaces;
//     the sets with user and mnt but not pid judge mnt by identity alone.
//
// On both, the "child <set>" entries carry the capabilities root holds in
// the child: all the kernel knows (37 on el7, 41 on modern), in the initial
// user namespace or in one of its own as the set has user; except, on
// modern, ipc+net, whose child holds none, and pid+net, whose report lacks
// its capabilities.
//
// Its specs build only with the nsreport_fixture tag (gen.sh passes it), so
// that `ginkgo -r` over the repository does not find them: without
// NSREPORT_FIXTURE they cannot run, and this file alone compiles to a
// package without tests.
package fixturesuite
