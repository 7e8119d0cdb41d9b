// Package exitcode holds the exit codes every front door of nsverify
// shares (the suite's script, the nsverify command, nspreflight), so that a
// job can tell "isolated as expected" from "a verdict differs" from "could
// not verify" from "nothing was verified" without reading the output.
package exitcode
