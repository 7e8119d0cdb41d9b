// Package testreq lets a Go test skip, with the reason, where the machine
// does not give it what it needs. It is test support: only _test.go files
// import it, and it changes nothing on the machine.
package testreq
