package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/spawn"
)

// usage is what -h prints, and what bad usage prints after its reason.
var usage = fmt.Sprintf(`usage: nspreflight [-json] [-require KINDS]

Reports which namespace kinds this machine can create, and the remedy for
those it cannot. Run it as the user the suite will run as.

  -json           print the report as JSON
  -require KINDS  expect these kinds to be creatable, e.g. uts+ipc, uts,ipc
                  or all

Exit status, the same codes as every nsverify command:

  %d  verified: at least one kind can be created, and every kind -require
     names can
  %d  differs: a kind -require names cannot be created here
  %d  could not verify: bad usage, or the detection itself failed (the
     control child, in no new namespace, did not run)
  %d  nothing verified: no kind can be created here, so the suite would skip
     every spec that makes a namespace
`, exitcode.Verified, exitcode.Differs, exitcode.CouldNotVerify, exitcode.NothingVerified)

func main() {
	// A throwaway child of Detect: it only had to be cloned and exec'd.
	if os.Getenv(spawn.DetectChildEnv) == "1" {
		os.Exit(0)
	}
	detect := func() (*spawn.Features, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable: %w", err)
		}
		return spawn.Detect(exe), nil
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, spawn.ColorWanted(os.Stdout), detect))
}

// run does what main does, with detect finding out what this machine can
// do, and returns the exit code.
func run(args []string, stdout, stderr io.Writer, color bool, detect func() (*spawn.Features, error)) int {
	fl := flag.NewFlagSet("nspreflight", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	asJSON := fl.Bool("json", false, "print the report as JSON")
	requireText := fl.String("require", "", "kinds that must be creatable")
	err := fl.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitcode.Verified
	case err != nil:
		return badUsage(stderr, err.Error())
	case fl.NArg() > 0:
		return badUsage(stderr, fmt.Sprintf("unexpected argument %q", fl.Arg(0)))
	}
	require := spawn.None
	if *requireText != "" {
		if require, err = spawn.ParseSet(*requireText); err != nil {
			return badUsage(stderr, "-require: "+err.Error())
		}
	}

	features, err := detect()
	if err != nil {
		fmt.Fprintf(stderr, "nspreflight: %v\n", err)
		return exitcode.CouldNotVerify
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(features)
	} else {
		err = features.WriteTable(stdout, color)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nspreflight: write report: %v\n", err)
		return exitcode.CouldNotVerify
	}
	code, why := judge(features, require)
	if code != exitcode.Verified {
		fmt.Fprintf(stderr, "nspreflight: exit %d (%s): %s\n", code, exitcode.Describe(code), why)
	}
	return code
}

// badUsage says what was wrong with the command line, then the usage, and
// returns the code for it.
func badUsage(stderr io.Writer, why string) int {
	fmt.Fprintf(stderr, "nspreflight: %s\n\n%s", why, usage)
	return exitcode.CouldNotVerify
}

// judge returns the exit code for what Detect found, given the kinds that
// must be creatable, and, unless it is Verified, why. A kind required and
// missing outranks a machine that can create nothing, as a verdict that
// differs outranks one never reached in every front door.
func judge(f *spawn.Features, require spawn.Set) (int, string) {
	if f.Error != "" {
		return exitcode.CouldNotVerify, "the detection failed, so no kind can be judged: " + f.Error
	}
	var missing, reasons []string
	creatable := 0
	for _, ks := range f.Kinds {
		if ks.Supported() {
			creatable++
			continue
		}
		if require.Has(ks.Kind) {
			missing = append(missing, string(ks.Kind))
			reasons = append(reasons, ks.Reason)
		}
	}
	switch {
	case len(missing) > 0:
		return exitcode.Differs, fmt.Sprintf("required, but cannot be created here: %s (%s)", strings.Join(missing, ", "), strings.Join(reasons, "; "))
	case creatable == 0:
		return exitcode.NothingVerified, "no namespace kind can be created here; the report above gives each reason and remedy"
	}
	return exitcode.Verified, ""
}
