// Command suiteexit reads the Ginkgo JSON report of one run of the suite
// and exits with the code that run gets (see package suiteexit): 0
// verified, 1 a verdict differs, 2 could not run or verify, 3 nothing
// verified. It prints a line per launcher's matrix, the failures, and last
// the code with its reason. scripts/run-suite.sh builds and runs it:
//
//	suiteexit -in reports/vm/report.json -status 0
//
// It needs no privilege and changes nothing.
package main
