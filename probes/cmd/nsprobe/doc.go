// Command nsprobe is the probe (package probes/nsprobe) as a binary of its
// own: it observes the namespaces it runs in and prints one JSON report on
// stdout. Run nsprobe -h for its subcommands and flags.
package main
