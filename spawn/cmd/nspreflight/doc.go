// Command nspreflight reports which namespace kinds this machine can
// create, and for each one it cannot, why and what to do.
//
// Run it as the user the suite will run as:
//
//	sudo go run ./spawn/cmd/nspreflight
//	go run ./spawn/cmd/nspreflight -json -require uts+ipc+pid+mnt+net
//
// With -json it prints the same facts as JSON. Its exit status is one of
// the codes every nsverify command shares (internal/exitcode), so that a
// job can branch on it without reading the report:
//
//   - 0: at least one kind can be created, and every kind -require names;
//   - 1: a kind that -require names cannot be created here;
//   - 2: bad usage, or the detection itself failed (its control child,
//     cloned into no new namespace, did not run), so nothing can be said;
//   - 3: no kind can be created here, so the suite would skip every spec
//     that makes a namespace.
//
// The report is printed whatever the code, and a code other than 0 is
// explained on stderr. It finds out by cloning throwaway copies of itself
// into each kind of namespace; they exit at once. It needs no privilege
// (without CAP_SYS_ADMIN it tries each kind inside a new user namespace)
// and changes nothing on the machine.
package main
