// Command nsverify verifies the sandbox you run, as you run it.
//
//	nsverify check [--expect KINDS | --expect-file FILE] [--json | --markdown] -- CMD ARGS…
//
// runs CMD as given, with {probe} (this binary's path on the host), {args}
// (the probe's arguments, a word of its own) and {hello} (the host's unix
// socket) substituted, and judges each namespace kind by what the host
// reads of the probe from its own /proc, with canaries the host plants:
// see package check and docs/check.md.
//
//	nsverify probe …
//
// is the probe itself, the same as the nsprobe command: the sandbox runs
// this binary as {probe}. Build it static (CGO_ENABLED=0) so that a
// sandbox without the host's libc can run it.
package main
