// Package hostlock takes turns on the host among the module's tests that
// change it for a while and check that it is left as it was found: the
// suite, which compares the host before and after it, and the tests that
// run nsverify check, which plants canaries (a mount, IPC objects,
// sockets) in the host's namespaces. `go test ./...` runs packages side
// by side, and one's canary would be the other's leftover.
//
// The turn is an exclusive flock(2) on a file in the temporary directory,
// held by one process at a time; processes started while it is held (a
// nested suite run) inherit it through the environment and do not wait.
package hostlock
