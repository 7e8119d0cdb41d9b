package main

import (
	"context"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nsverify/nsverify/check"
	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/probes/nsprobe"
	"github.com/nsverify/nsverify/spawn"
)

var usage = fmt.Sprintf(`usage: nsverify check [flags] -- CMD ARGS…
       nsverify probe …   (the probe itself, run by the sandbox as {probe})

check runs CMD as you would run your sandbox, with {probe} {args} where the
sandbox starts its command, and judges each namespace kind by what the host
reads of the probe, with canaries the host plants:

  nsverify check --expect uts,ipc,pid,mnt,net -- unshare -uipmn --fork {probe} {args}
  nsverify check --expect net,ipc,pid,mnt,uts -- bwrap --unshare-all --dev-bind / / {probe} {args}

Placeholders:
  {probe}  this binary's path on the host (make it visible in the sandbox)
  {args}   the probe's arguments; a word of its own
  {hello}  the host's unix socket the probe connects to; bind it in the
           sandbox at the same path (docker: -v {hello}:{hello})
  {bundle} with --oci-config, the bundle nsverify writes

Flags:
  --expect KINDS       kinds expected isolated, e.g. net,ipc or uts+pid, or
                       none; every other kind is expected to be the host's
  --expect-file FILE   a JSON expectation: {"isolated": ["net"],
                       "caps_absent": ["CAP_SYS_ADMIN"], "seccomp": "filter",
                       "no_new_privs": true}
  --json, --markdown   print the outcome as JSON or Markdown
  --timeout DURATION   bound the whole run (default 60s)
  --linger DURATION    how long the probe may still say hello once CMD has
                       exited (default 5s)
  --no-canaries        plant no canaries
  --oci-config FILE    an OCI config.json with "args": ["{probe}", "{args}"]:
                       nsverify writes it expanded into the bundle {bundle}
                       (runc run --bundle {bundle} ID)

Exit status, the same codes as every nsverify command:
  %d  %s
  %d  %s
  %d  %s
  %d  %s
`, exitcode.Verified, exitcode.Describe(exitcode.Verified),
	exitcode.Differs, exitcode.Describe(exitcode.Differs),
	exitcode.CouldNotVerify, exitcode.Describe(exitcode.CouldNotVerify),
	exitcode.NothingVerified, exitcode.Describe(exitcode.NothingVerified))

func main() {
	// A throwaway child of spawn's detection, which any binary may be: it
	// only had to be cloned and exec'd.
	if os.Getenv(spawn.DetectChildEnv) == "1" {
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == nsprobe.Command {
		os.Exit(nsprobe.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, errors.New("no subcommand given"))
	}
	switch args[0] {
	case "check":
		return runCheck(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		_, _ = io.WriteString(stdout, usage)
		return exitcode.Verified
	}
	return usageError(stderr, fmt.Errorf("unknown subcommand %q", args[0]))
}

func usageError(stderr io.Writer, err error) int {
	_, _ = fmt.Fprintf(stderr, "nsverify: %v\nnsverify: nothing was run; nsverify help shows the usage\n", err)
	return exitcode.CouldNotVerify
}

// checkFlags are check's flags, parsed.
type checkFlags struct {
	expect             *check.Expectation
	asJSON, asMarkdown bool
	timeout, linger    time.Duration
	noCanaries         bool
	command            []string
	// ociConfig is the text of --oci-config, ociConfigDir its directory.
	ociConfig    []byte
	ociConfigDir string
}

func parseCheck(args []string) (*checkFlags, error) {
	fl := flag.NewFlagSet("check", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	expect := fl.String("expect", "", "")
	expectFile := fl.String("expect-file", "", "")
	var c checkFlags
	fl.BoolVar(&c.asJSON, "json", false, "")
	fl.BoolVar(&c.asMarkdown, "markdown", false, "")
	fl.DurationVar(&c.timeout, "timeout", time.Minute, "")
	fl.DurationVar(&c.linger, "linger", 5*time.Second, "")
	fl.BoolVar(&c.noCanaries, "no-canaries", false, "")
	ociConfig := fl.String("oci-config", "", "")
	if err := fl.Parse(args); err != nil {
		return nil, fmt.Errorf("parse check's flags: %w", err)
	}
	c.command = fl.Args()
	if c.asJSON && c.asMarkdown {
		return nil, errors.New("--json and --markdown both given; choose one")
	}
	if c.timeout <= 0 || c.linger < 0 {
		return nil, errors.New("--timeout must be positive and --linger not negative")
	}
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["expect"] && set["expect-file"]:
		return nil, errors.New("--expect and --expect-file both given; choose one")
	case set["expect"]:
		e, err := check.ParseExpectKinds(*expect)
		if err != nil {
			return nil, err
		}
		c.expect = e
	case set["expect-file"]:
		f, err := os.Open(*expectFile)
		if err != nil {
			return nil, fmt.Errorf("open --expect-file: %w", err)
		}
		defer func() { _ = f.Close() }()
		e, err := check.ParseExpectation(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", *expectFile, err)
		}
		c.expect = e
	}
	if *ociConfig != "" {
		text, err := os.ReadFile(*ociConfig)
		if err != nil {
			return nil, fmt.Errorf("read --oci-config: %w", err)
		}
		if err := check.ValidateOCIConfig(text); err != nil {
			return nil, fmt.Errorf("%s: %w", *ociConfig, err)
		}
		abs, err := filepath.Abs(*ociConfig)
		if err != nil {
			return nil, fmt.Errorf("find --oci-config's directory: %w", err)
		}
		c.ociConfig, c.ociConfigDir = text, filepath.Dir(abs)
	}
	if err := check.ValidateCommand(c.command, c.ociConfig != nil); err != nil {
		return nil, err
	}
	return &c, nil
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseCheck(args)
	if err != nil {
		return usageError(stderr, err)
	}
	self, err := os.Executable()
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "nsverify: find this binary, the probe: %v\n", err)
		return exitcode.CouldNotVerify
	}
	out, err := check.Run(ctx, check.Options{
		Command:      c.command,
		Expect:       c.expect,
		Probe:        self,
		ProbeLead:    []string{nsprobe.Command},
		Timeout:      c.timeout,
		Linger:       c.linger,
		NoCanaries:   c.noCanaries,
		OCIConfig:    c.ociConfig,
		OCIConfigDir: c.ociConfigDir,
	})
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "nsverify: could not verify: %v\n", err)
		if why := dynamicallyLinked(self); why != "" {
			_, _ = fmt.Fprintf(stderr, "nsverify: %s\n", why)
		}
		if out != nil {
			writeTail(stderr, "the command's stderr", out.Stderr)
			writeTail(stderr, "the command's stdout", out.Stdout)
		}
		return exitcode.CouldNotVerify
	}
	switch {
	case c.asJSON:
		err = check.WriteJSON(stdout, out)
	case c.asMarkdown:
		err = check.WriteMarkdown(stdout, out)
	default:
		err = check.WriteTable(stdout, out)
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "nsverify: %v\n", err)
		return exitcode.CouldNotVerify
	}
	return out.ExitCode
}

// writeTail writes the last lines of what the command printed: why a
// sandbox did not run the probe is usually there.
func writeTail(w io.Writer, what, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	lines := strings.Split(text, "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	_, _ = fmt.Fprintf(w, "%s (last lines):\n  %s\n", what, strings.Join(lines, "\n  "))
}

// dynamicallyLinked says why a sandbox may fail to run this binary as the
// probe: one built with cgo needs the host's dynamic loader and libc at
// the same paths inside the sandbox, which a container image lacks.
func dynamicallyLinked(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "this nsverify is dynamically linked (built with cgo): a sandbox without the host's libc cannot run it as {probe}; install it static with CGO_ENABLED=0 go install ./cmd/nsverify"
		}
	}
	return ""
}
