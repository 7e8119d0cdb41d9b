// Package verify holds the oracles that decide whether a child's namespace
// of a kind is its own or the host's, with the evidence, for every front
// door: the Ginkgo suite's matchers and the nsverify command call the same
// functions.
//
// The host's reading decides: the identity (dev:ino) of /proc/PID/ns/KIND
// read by the host while the child is held (probes.Outside). The probe's
// reading of its own namespaces must agree with it, and a disagreement is
// a failure of its own ("the probe reports A, the host reads B"): a probe
// that lies, or a sandbox that shows its processes another /proc, is
// caught, never believed. The canaries planted by the host (package
// suite/canary) speak for the kinds they cover: one reached across a kind
// the host reads as isolated is an escape.
package verify
