// Package probes defines the report that the nsprobe binary prints and the
// parsers it uses to fill it in.
//
// The same types are imported by the probe (which runs inside the namespaces
// under test) and by the suite (which decodes the report and compares it with
// the host), so the two sides can never disagree on field names or units.
//
// The parsers read from an io.Reader so that their tests run on fixture text
// without privilege; only the probe binary itself (probes/cmd/nsprobe) reads
// the real /proc. Nothing in this package changes the state of the machine.
package probes
