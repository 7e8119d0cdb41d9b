// Package kernelsim makes the calling process meet a kernel other than the
// one it runs on, so that what nsverify does there (detect, skip with a
// reason, diagnose) can be tested on a kernel that has every kind and
// gives every capability:
//
//   - Refuse: a kernel that lacks a namespace kind (clone and unshare
//     with its flag fail with EINVAL, clone3 with ENOSYS).
//   - Powerless: a kernel on which every user namespace the process
//     creates holds no capability, as Ubuntu's AppArmor restriction
//     (kernel.apparmor_restrict_unprivileged_userns=1) makes them for an
//     unprivileged process: they and the kinds made with them are
//     created, and every call that needs a capability fails with EPERM.
//   - Sysctl: a sysctl that reads a value of the simulation's choosing
//     (the AppArmor switch, on a kernel that has no AppArmor).
//   - BecomeUser: a process started as root becomes an unprivileged
//     user's, as a login makes it (dumpable, unlike after a bare setuid,
//     so that it can write the id maps of its children).
//
// Refuse and Powerless install a seccomp filter on every thread of the
// process; the filter is inherited by every child and cannot be removed.
// Sysctl mounts over /proc/sys in the process's own mount namespace, made
// private first, and refuses to run in its parent's. They are for test
// processes made for the purpose (a re-executed test binary), never for a
// process that must go on creating namespaces normally, and never in the
// host's mount namespace. The filters need no privilege beyond what seccomp
// itself asks (no_new_privs is set); Sysctl needs CAP_SYS_ADMIN over the
// process's mount namespace, BecomeUser CAP_SETUID and CAP_SETGID, and
// gives up every capability: call it after Sysctl.
package kernelsim
