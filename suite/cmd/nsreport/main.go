package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nsverify/nsverify/suite/matrixreport"
)

const usage = `usage:
  nsreport matrix -in report.json [-name machine] [-launcher name] [-md out.md] [-json out.json] [-kernel release]
  nsreport launchers -in report.json
  nsreport combine [-md out.md] input.json...

matrix reads the Ginkgo JSON report of a suite run (go tool ginkgo
--json-report=report.json ./suite) and writes its combination matrix: a
Markdown table (-md) and the matrix as JSON (-json). With neither, the table
goes to stdout; "-" names stdout. A run of several launchers
(NSVERIFY_LAUNCHER) has a matrix per launcher: -launcher picks one (default:
the built-in launcher, go).

launchers lists the launchers whose matrix a Ginkgo JSON report holds, one
a line.

combine reads matrices written by "nsreport matrix -json", or Ginkgo JSON
reports, and writes one table: a column per launcher when they are one
machine's launchers (a Ginkgo report of several launchers gives them all),
else a column per machine.
`

// errUsage marks an error that the usage text explains.
var errUsage = errors.New("bad usage")

func main() {
	err := run(os.Args[1:], os.Stdout)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(os.Stderr, usage)
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "nsreport: %v\n\n%s", err, usage)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "nsreport: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no subcommand; use matrix, launchers or combine", errUsage)
	}
	switch args[0] {
	case "matrix":
		return runMatrix(args[1:], stdout)
	case "combine":
		return runCombine(args[1:], stdout)
	case "launchers":
		return runLaunchers(args[1:], stdout)
	case "-h", "-help", "--help", "help":
		return flag.ErrHelp
	}
	return fmt.Errorf("%w: unknown subcommand %q; use matrix, launchers or combine", errUsage, args[0])
}

func newFlagSet(name string) *flag.FlagSet {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	// main prints the usage once, for every kind of flag error.
	fl.SetOutput(io.Discard)
	return fl
}

func parse(fl *flag.FlagSet, args []string) error {
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s: %w", errUsage, fl.Name(), err)
	}
	return nil
}

func runMatrix(args []string, stdout io.Writer) error {
	fl := newFlagSet("matrix")
	in := fl.String("in", "", "the Ginkgo JSON report (`file`, or - for stdin)")
	name := fl.String("name", "", "the machine's name, shown in the heading (default: this machine's hostname)")
	mdOut := fl.String("md", "", "write the Markdown table to `file` (- for stdout)")
	jsonOut := fl.String("json", "", "write the matrix JSON to `file` (- for stdout)")
	kernel := fl.String("kernel", "", "kernel `release` to show when the report has no \"kernel\" entry (default: uname -r of this machine)")
	launcher := fl.String("launcher", "", "the launcher whose matrix to write (default: go, the built-in one)")
	if err := parse(fl, args); err != nil {
		return err
	}
	if *in == "" {
		return fmt.Errorf("%w: matrix: -in is required: the file given to ginkgo --json-report", errUsage)
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("%w: matrix: unexpected argument %q; the report goes in -in", errUsage, fl.Arg(0))
	}
	if *name == "" {
		*name, _ = os.Hostname()
	}
	opts := matrixreport.Options{Name: *name, Kernel: *kernel, KernelSource: "given with -kernel", Launcher: *launcher}
	if opts.Kernel == "" {
		// Reading this machine is right when nsreport runs where the suite
		// ran, as scripts/run-suite.sh does; the heading says so.
		opts.Kernel, opts.KernelSource = thisKernel(), "uname -r of the machine that ran nsreport"
	}

	m, err := readInput(*in, func(r io.Reader) (*matrixreport.Matrix, error) {
		reports, err := matrixreport.ReadGinkgo(r)
		if err != nil {
			return nil, err
		}
		return matrixreport.FromReports(reports, opts)
	})
	if err != nil {
		return err
	}
	if *mdOut == "" && *jsonOut == "" {
		*mdOut = "-"
	}
	if *jsonOut != "" {
		if err := writeOutput(*jsonOut, stdout, m.WriteJSON); err != nil {
			return err
		}
	}
	if *mdOut != "" {
		if err := writeOutput(*mdOut, stdout, m.WriteMarkdown); err != nil {
			return err
		}
	}
	return nil
}

func runCombine(args []string, stdout io.Writer) error {
	fl := newFlagSet("combine")
	mdOut := fl.String("md", "-", "write the combined Markdown table to `file` (- for stdout)")
	if err := parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() == 0 {
		return fmt.Errorf("%w: combine: no input; give matrix JSON files (nsreport matrix -json) or Ginkgo JSON reports", errUsage)
	}
	var ms []*matrixreport.Matrix
	for _, path := range fl.Args() {
		// A Ginkgo report carries no machine name: take it from where the
		// file lies (reports/centos7/report.json is centos7's).
		opts := matrixreport.Options{Name: nameFromPath(path)}
		var all []*matrixreport.Matrix
		_, err := readInput(path, func(r io.Reader) (*matrixreport.Matrix, error) {
			var err error
			all, err = matrixreport.ReadAll(r, opts)
			if err != nil {
				return nil, err
			}
			return all[0], nil
		})
		if err != nil {
			return err
		}
		ms = append(ms, all...)
	}
	return writeOutput(*mdOut, stdout, func(w io.Writer) error {
		if matrixreport.ByLauncher(ms) {
			return matrixreport.CombineLaunchers(w, ms)
		}
		return matrixreport.Combine(w, ms)
	})
}

func runLaunchers(args []string, stdout io.Writer) error {
	fl := newFlagSet("launchers")
	in := fl.String("in", "", "the Ginkgo JSON report (`file`, or - for stdin)")
	if err := parse(fl, args); err != nil {
		return err
	}
	if *in == "" {
		return fmt.Errorf("%w: launchers: -in is required: the file given to ginkgo --json-report", errUsage)
	}
	var names []string
	_, err := readInput(*in, func(r io.Reader) (*matrixreport.Matrix, error) {
		reports, err := matrixreport.ReadGinkgo(r)
		if err != nil {
			return nil, err
		}
		names = matrixreport.Launchers(reports)
		return nil, nil
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		fmt.Fprintln(stdout, name)
	}
	return nil
}

// readInput opens path (or stdin for "-") and decodes it with decode,
// naming the file in any error.
func readInput(path string, decode func(io.Reader) (*matrixreport.Matrix, error)) (*matrixreport.Matrix, error) {
	if path == "-" {
		m, err := decode(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("stdin: %w", err)
		}
		return m, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open report: %w; run the suite with --json-report=%s first (scripts/run-suite.sh does)", err, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open report: %w", err)
	}
	defer f.Close()
	m, err := decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// writeOutput writes with write to path, or to stdout for "-".
func writeOutput(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	// A write error on a full disk can surface only at close.
	if err := f.Close(); err != nil {
		return fmt.Errorf("close output: %w", err)
	}
	return nil
}

// thisKernel returns this machine's kernel release, or "" off Linux.
func thisKernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// nameFromPath names a machine after its report file: the directory for a
// generic file name (reports/centos7/report.json), else the file's base name
// without its extension (centos7.json).
func nameFromPath(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	switch base {
	case "report", "matrix", "ginkgo", "-", ".":
		if dir := filepath.Base(filepath.Dir(path)); dir != "." && dir != "/" {
			return dir
		}
	}
	return base
}
