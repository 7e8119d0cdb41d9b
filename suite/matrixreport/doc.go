// Package matrixreport turns the Ginkgo JSON report of a suite run into the
// combination matrix a person reads: one row per namespace set, one column per
// kind, each cell isolated, shared, skipped or failed.
//
// A row comes from a spec labelled "matrix" whose text is the set's name
// ("uts+ipc", "none"), as the suite's generated table names its entries. A
// failed spec's message starts with the kind that failed ("net: …"), which
// marks that cell failed. Suite-level report entries named "kernel" and
// "preflight" head the matrix when present; "host baseline" and the specs'
// "child <set>" entries tell which kinds the kernel has, so a kind the kernel
// lacks is shown as not checked rather than shared. The probe report in the
// "child <set>" entry also gives the row's caps: what root held in the child,
// as probes.CapsSummary says it.
//
// The same matrix is written as JSON (for machines and for combining runs)
// and as a Markdown table; Combine puts several machines side by side.
//
// Privilege: none. The package only reads reports from an io.Reader and writes
// to an io.Writer, so its tests run on fixture files; it never looks at the
// machine it runs on (the nsreport command may add this machine's kernel
// release when a report lacks one).
package matrixreport
