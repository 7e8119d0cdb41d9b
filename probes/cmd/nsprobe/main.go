package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/nsverify/nsverify/probes"
)

// config is the parsed command line.
type config struct {
	subcommand      string
	hostname        string
	domainname      string
	msgqKey         int64
	mountProc       bool
	parentNS        map[string]probes.NSID
	markerLink      string
	createFile      string
	timens          bool
	monotonicOffset time.Duration
	boottimeOffset  time.Duration
	newPID          bool
}

var observations = []string{"ns", "pid", "hostname", "ipc", "proc", "links", "user", "cgroup", "clock"}

func main() {
	cfg, err := parseArgs(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "nsprobe:", err)
		}
		os.Exit(2)
	}
	if cfg.timens {
		os.Exit(launchInTimeNamespace(cfg, os.Args[1:]))
	}
	report := run(cfg)
	if err := writeReport(os.Stdout, report); err != nil {
		fmt.Fprintln(os.Stderr, "nsprobe:", err)
		os.Exit(1)
	}
}

func parseArgs(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cfg.subcommand = args[0]
		args = args[1:]
		if !slices.Contains(observations, cfg.subcommand) {
			return nil, fmt.Errorf("unknown subcommand %q; use one of %v, or none for all", cfg.subcommand, observations)
		}
	}
	fs := flag.NewFlagSet("nsprobe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.hostname, "hostname", "", "set this hostname before observing (needs a new uts namespace)")
	fs.StringVar(&cfg.domainname, "domainname", "", "set this domainname before observing")
	fs.Int64Var(&cfg.msgqKey, "msgq", 0, "create a SysV message queue with this key (not 0)")
	fs.BoolVar(&cfg.mountProc, "mount-proc", false, "make / recursively private and mount a fresh /proc (only in a new mount namespace)")
	fs.Func("parent-ns", "KIND=DEV:INO,... the parent's namespaces, where no action is ever done", func(v string) error {
		ids, err := parseParentNS(v)
		cfg.parentNS = ids
		return err
	})
	fs.StringVar(&cfg.markerLink, "marker-link", "", "add a bridge (or veth pair) with this name")
	fs.StringVar(&cfg.createFile, "create-file", "", "create an empty file at this path (it must not exist)")
	fs.BoolVar(&cfg.timens, "timens", false, "create a time namespace, write the offsets, and observe from a child inside it")
	fs.DurationVar(&cfg.monotonicOffset, "monotonic-offset", 0, "CLOCK_MONOTONIC offset of the new time namespace")
	fs.DurationVar(&cfg.boottimeOffset, "boottime-offset", 0, "CLOCK_BOOTTIME offset of the new time namespace")
	fs.BoolVar(&cfg.newPID, "newpid", false, "with -timens: start the observer in a new pid namespace too")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q; the subcommand comes first, flags after", fs.Args())
	}
	switch {
	case len(cfg.hostname) > 64:
		return nil, fmt.Errorf("-hostname %q is %d bytes; the kernel takes at most 64", cfg.hostname, len(cfg.hostname))
	case len(cfg.domainname) > 64:
		return nil, fmt.Errorf("-domainname %q is %d bytes; the kernel takes at most 64", cfg.domainname, len(cfg.domainname))
	case len(cfg.markerLink) > 15:
		return nil, fmt.Errorf("-marker-link %q is %d bytes; link names take at most 15", cfg.markerLink, len(cfg.markerLink))
	case cfg.msgqKey < -1<<31 || cfg.msgqKey > 1<<31-1:
		return nil, fmt.Errorf("-msgq %d is not a 32-bit key", cfg.msgqKey)
	case !cfg.timens && (cfg.monotonicOffset != 0 || cfg.boottimeOffset != 0 || cfg.newPID):
		return nil, errors.New("-monotonic-offset, -boottime-offset and -newpid need -timens")
	}
	msgqGiven := false
	fs.Visit(func(f *flag.Flag) { msgqGiven = msgqGiven || f.Name == "msgq" })
	if msgqGiven && cfg.msgqKey == 0 {
		return nil, errors.New("-msgq 0 is IPC_PRIVATE, which no one else can find; give a non-zero key")
	}
	return cfg, nil
}

// run does the actions, then the observations, into one report.
func run(cfg *config) *probes.Report {
	r := &probes.Report{Schema: probes.Schema, NS: map[string]probes.NSID{}}
	act(cfg, r)
	observe(cfg.subcommand, r)
	return r
}

func writeReport(w io.Writer, r *probes.Report) error {
	if err := json.NewEncoder(w).Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// fail records an observation's or action's failure in the report.
func fail(r *probes.Report, name string, err error) {
	if r.Errors == nil {
		r.Errors = map[string]string{}
	}
	if prev, ok := r.Errors[name]; ok {
		r.Errors[name] = prev + "; " + err.Error()
		return
	}
	r.Errors[name] = err.Error()
}

func done(r *probes.Report, action string) {
	if r.Actions == nil {
		r.Actions = map[string]string{}
	}
	r.Actions[action] = "done"
}
