// Package kernelsim makes the calling process meet, when it creates
// namespaces, a kernel that lacks a namespace kind, so that what nsverify
// does on such a kernel (detect, skip with a reason, diagnose) can be tested
// on a kernel that has every kind.
//
// It installs a seccomp filter on every thread of the process; the filter
// is inherited by every child and cannot be removed. It is for test
// processes made for the purpose (a re-executed test binary), never for a
// process that must go on creating namespaces normally. It needs no
// privilege beyond what seccomp itself asks (no_new_privs is set).
package kernelsim
