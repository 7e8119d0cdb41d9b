package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/internal/suiteexit"
	"github.com/nsverify/nsverify/suite/matrixreport"
)

const usage = `usage: suiteexit -in report.json [-status N] [-max-failures N]

Reads the Ginkgo JSON report of one run of the suite and exits with the code
that run gets:

  0  verified: every spec that ran passed or skipped, and the matrix verified
     at least one set
  1  a verdict differs: a spec failed, or the host was not left as it was
  2  could not run or verify: no report, the suite did not compile or start,
     it was interrupted or timed out, or bad usage
  3  nothing verified: every matrix set of every launcher asked for was
     skipped or n/a (or, with the matrix filtered out, no spec passed)

-status is the exit status of the ginkgo command that wrote the report: a
failure it shows and the report does not is still a failure to verify.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run does what main does and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("suiteexit", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	in := fl.String("in", "", "the Ginkgo JSON report")
	status := fl.Int("status", suiteexit.UnknownStatus, "the exit status of ginkgo")
	maxFailures := fl.Int("max-failures", 10, "name at most this many failures; 0 names all")
	switch err := fl.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitcode.Verified
	case err != nil:
		fmt.Fprintf(stderr, "suiteexit: %v\n\n%s", err, usage)
		return exitcode.CouldNotVerify
	case *in == "" || fl.NArg() > 0:
		fmt.Fprintf(stderr, "suiteexit: give the report with -in, and nothing else\n\n%s", usage)
		return exitcode.CouldNotVerify
	}
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintf(stderr, "exit %d (%s): %v\n", exitcode.CouldNotVerify, exitcode.Describe(exitcode.CouldNotVerify), err)
		return exitcode.CouldNotVerify
	}
	defer f.Close()
	reports, err := matrixreport.ReadGinkgo(f)
	if err != nil {
		fmt.Fprintf(stderr, "exit %d (%s): %s: %v\n", exitcode.CouldNotVerify, exitcode.Describe(exitcode.CouldNotVerify), *in, err)
		return exitcode.CouldNotVerify
	}
	v := suiteexit.Decide(reports, *status)
	for _, line := range v.Lines(*maxFailures) {
		fmt.Fprintln(stdout, line)
	}
	return v.Code
}
