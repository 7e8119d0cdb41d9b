// Package testbuild builds the module's binaries for its tests: the probe
// that every test setup runs in its children, and the preflight command.
//
// A binary is built static (CGO_ENABLED=0), so that it runs in any mount
// namespace whatever libc is there, into a new temporary directory that,
// like the binary, is mode 0755: a child in a new user namespace runs as a
// mapped id that holds no capability over the host's files, and must
// still reach and exec it. Remove deletes that directory again.
//
// It runs the go command, so the tests that use it need it on PATH. It is
// test support only: nothing outside _test.go files imports it.
package testbuild
