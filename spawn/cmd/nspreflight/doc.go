// Command nspreflight reports which namespace kinds this machine can
// create, and for each one it cannot, why and what to do.
//
// Run it as the user the suite will run as:
//
//	sudo go run ./spawn/cmd/nspreflight
//
// With -json it prints the same facts as JSON. It always exits 0 once it has
// reported, whatever the machine supports. It finds out by cloning throwaway
// copies of itself into each kind of namespace; they exit at once.
package main
