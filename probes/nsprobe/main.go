//go:build linux

package nsprobe

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// observations are the subcommands, in the order a full run observes them.
var observations = []string{"ns", "pid", "hostname", "ipc", "proc", "links", "user", "cgroup", "clock", "caps", "owners"}

// nsKinds are the namespace kinds -parent-ns may name.
var nsKinds = []string{"uts", "ipc", "pid", "mnt", "user", "net", "cgroup", "time"}

// config is the parsed command line.
type config struct {
	subcommand string

	hostname, domainname string
	msgq                 bool
	msgqKey              int32
	mqName               string
	mountProc            bool
	createFile           string
	markerLink           string

	// parentNS holds the namespaces of the probe's parent, where no action
	// may ever be done, by kind (from -parent-ns).
	parentNS map[string][]probes.NSID

	timens bool
	// timensExec, with -timens, enters the new time namespace by exec
	// in place instead of from a stage; on the observer, it says that
	// was how it entered.
	timensExec      bool
	monotonicOffset time.Duration
	boottimeOffset  time.Duration
	newPID          bool
	confine         confineConfig
	join            joinConfig

	// timensFrom is set by a launcher on the observer it started: the time
	// namespace the launcher is in, which the observer must not be in.
	timensFrom *probes.NSID

	// helloFD, when not 0, is a unix socket the caller passed (-hello-fd):
	// the observer says hello on it before it acts, so that the caller
	// learns its pid as the caller's pid namespace sees it and reads it
	// from outside, and waits for the caller's answer. A probe that starts
	// the observer itself (a stage, an exec in place) passes the socket and
	// the flag on, and says nothing on it.
	helloFD int

	// helloPath, when not empty, is a unix socket the host listens on
	// (-hello-path), for sandboxes that pass no descriptor but can bind a
	// path in: the probe connects, says hello, waits for the answer, and
	// sends its report there instead of on stdout.
	helloPath string
	// helloToken, when not empty, is said with the hello on helloPath.
	helloToken string

	// canaries are the host's canaries to try to reach (-canaries), nil
	// when none were planted.
	canaries *probes.Canaries
}

// Main runs the probe with args, the words of its command line after the
// binary's name (and after Command, for a binary that holds the probe as
// one of its commands), and returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stderr)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nsprobe: %v\nnsprobe: nothing was done; run nsprobe -h for the subcommands and flags\n", err)
		return 2
	}
	if cfg.confine.descendant {
		return beDescendant()
	}
	if cfg.timens && cfg.timensExec {
		return observeWithoutTimens(cfg, stdout, stderr)
	}
	if cfg.staged() {
		return launchStaged(cfg, stdout, stderr)
	}
	if cfg.timensFrom != nil {
		return observeAfterExec(cfg, stdout, stderr)
	}
	if cfg.helloPath != "" {
		return runHelloPath(cfg, stderr)
	}
	return emit(stdout, stderr, run(cfg))
}

// newFlagSet defines the flags into cfg. Its output is discarded: Main
// prints one message of its own for every usage error.
func newFlagSet(cfg *config) *flag.FlagSet {
	fs := flag.NewFlagSet("nsprobe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Func(probes.FlagHostname, "set the hostname to `NAME` (at most 64 bytes) before observing; needs a new uts namespace", func(v string) error {
		return checkUTSName(v, &cfg.hostname)
	})
	fs.Func(probes.FlagDomainname, "set the NIS domain name to `NAME` (at most 64 bytes) before observing; needs a new uts namespace", func(v string) error {
		return checkUTSName(v, &cfg.domainname)
	})
	fs.Func(probes.FlagMsgQueue, "create a SysV message queue with key `KEY` (a non-zero 32-bit decimal integer); needs a new ipc namespace", func(v string) error {
		k, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return errors.New("not a 32-bit decimal integer; give a non-zero key such as 4242")
		}
		if k == 0 {
			return errors.New("0 is IPC_PRIVATE, a queue no one can find by its key; give a non-zero key such as 4242")
		}
		cfg.msgq, cfg.msgqKey = true, int32(k)
		return nil
	})
	fs.Func(probes.FlagMQueue, "create a POSIX message queue named `NAME` (no slash); needs a new ipc namespace", func(v string) error {
		if v == "" || len(v) > probes.MaxMQueueNameLen || strings.Contains(v, "/") {
			return errors.New("not a queue name; give 1 to 255 bytes without a slash, such as nsverify-q")
		}
		cfg.mqName = v
		return nil
	})
	fs.BoolVar(&cfg.mountProc, probes.FlagMountProc, false, "make / recursively private and mount a fresh /proc; needs a new mount namespace")
	fs.StringVar(&cfg.createFile, probes.FlagCreateFile, "", "create an empty file at `PATH`, which must not exist, to show which id owns what the probe makes")
	fs.Func(probes.FlagMarkerLink, "add a bridge (or, without bridges, a veth pair) named `NAME` (at most 15 bytes); needs a new net namespace", func(v string) error {
		if err := checkLinkName(v); err != nil {
			return err
		}
		cfg.markerLink = v
		return nil
	})
	fs.Func(probes.FlagParentNS, "`KIND=DEV:INO,...` the parent's namespaces, where every action is refused", func(v string) error {
		return parseParentNS(v, cfg)
	})
	fs.BoolVar(&cfg.timens, probes.FlagTimens, false, "create a time namespace, write the offsets, and observe from a process started inside it")
	fs.Func(probes.FlagMonotonicOffset, "with -timens: CLOCK_MONOTONIC offset of the new time namespace, a Go `DURATION` such as 168h", func(v string) error {
		return parseOffset(v, &cfg.monotonicOffset)
	})
	fs.Func(probes.FlagBoottimeOffset, "with -timens: CLOCK_BOOTTIME offset of the new time namespace, a Go `DURATION` such as 216h", func(v string) error {
		return parseOffset(v, &cfg.boottimeOffset)
	})
	fs.Func(probes.FlagTimensFrom, "set by the launcher of -timens on the observer it starts: `DEV:INO` of the launcher's time namespace", func(v string) error {
		id, err := probes.ParseNSID(v)
		cfg.timensFrom = &id
		return err
	})
	fs.BoolVar(&cfg.timensExec, probes.FlagTimensExec, false, "with -timens: unshare the time namespace, write the offsets and exec the observer in place, which Linux 6.2 or later puts inside; the caller clones the probe into the pid namespace it wants")
	fs.BoolVar(&cfg.newPID, probes.FlagNewPID, false, "with -timens or -join: start the observer in a new pid namespace as well, as its pid 1")
	fs.Func(probes.FlagHelloFD, "say hello on the unix socket `FD` before acting, and wait for the caller's answer, so that the caller learns the observer's pid from the kernel and reads it from outside; passed on to an observer the probe starts", func(v string) error {
		fd, err := strconv.Atoi(v)
		if err != nil || fd < 3 {
			return errors.New("not a descriptor the caller passed; give 3 or more")
		}
		cfg.helloFD = fd
		return nil
	})
	fs.Func(probes.FlagHelloPath, "connect to the unix socket at `PATH`, say hello and wait for the host's answer before acting, then send the report there instead of on stdout", func(v string) error {
		if len(v) >= len(unix.RawSockaddrUnix{}.Path) {
			return fmt.Errorf("%d bytes; a unix socket path takes at most %d, so bind the socket at a shorter path", len(v), len(unix.RawSockaddrUnix{}.Path)-1)
		}
		cfg.helloPath = v
		return nil
	})
	fs.Func(probes.FlagHelloToken, "with -hello-path: say `TOKEN` with the hello, so that the host tells the probe from anyone else who connects", func(v string) error {
		if v == "" || strings.ContainsAny(v, "\n") || len(v) > probes.HelloTokenMax {
			return fmt.Errorf("a token is one line of 1 to %d bytes", probes.HelloTokenMax)
		}
		cfg.helloToken = v
		return nil
	})
	fs.Func(probes.FlagCanaries, "try to reach the canaries the host planted, `token=T,NAME=WHERE,...`, leaving the token where it gets in", func(v string) error {
		c, err := probes.ParseCanaries(v)
		if err != nil {
			return err
		}
		cfg.canaries = &c
		return nil
	})
	defineConfineFlags(fs, &cfg.confine)
	defineJoinFlags(fs, &cfg.join)
	return fs
}

// parseArgs parses "[subcommand] [flags]"; the subcommand may also come
// after the flags.
func parseArgs(args []string) (*config, error) {
	cfg := &config{}
	fs := newFlagSet(cfg)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cfg.subcommand, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 && cfg.subcommand == "" {
		cfg.subcommand = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, err
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q after the subcommand %q; give at most one subcommand", fs.Arg(0), cfg.subcommand)
	}
	if cfg.subcommand != "" && !slices.Contains(observations, cfg.subcommand) {
		return nil, fmt.Errorf("unknown subcommand %q; use one of %s, or none for every observation", cfg.subcommand, strings.Join(observations, " "))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if cfg.helloToken != "" && cfg.helloPath == "" {
		return nil, errors.New("-hello-token goes with -hello-path; give both, or neither")
	}
	if cfg.helloPath != "" && (cfg.helloFD > 0 || cfg.timens || cfg.joining() || cfg.timensFrom != nil) {
		return nil, errors.New("-hello-path cannot be combined with -hello-fd, -timens or a join: it is for a probe a sandbox starts as it is; leave it out")
	}
	if cfg.timens && cfg.confine.any() {
		return nil, errors.New("confinement actions cannot be combined with -timens; run them in a child without time offsets")
	}
	if err := checkJoin(cfg); err != nil {
		return nil, err
	}
	if cfg.timensExec {
		switch {
		case !cfg.timens && cfg.timensFrom == nil:
			return nil, errors.New("-timens-exec is given without -timens; it says how the time namespace -timens creates is entered, so add -timens")
		case cfg.newPID:
			return nil, errors.New("-timens-exec and -newpid cannot be combined: an exec in place stays in its pid namespace; clone the probe into a new pid namespace instead")
		case cfg.joining():
			return nil, errors.New("-timens-exec cannot be combined with a join, which needs a single-threaded stage; leave -timens-exec out")
		}
	}
	if !cfg.timens {
		for _, name := range []string{"monotonic-offset", "boottime-offset"} {
			if given[name] {
				return nil, fmt.Errorf("-%s is given without -timens; offsets only apply to the time namespace that -timens creates, so add -timens", name)
			}
		}
		if cfg.newPID && !cfg.joining() {
			return nil, errors.New("-newpid is given without -timens or -join; it only applies to the observer their stage starts, so add one, or clone the probe into a new pid namespace")
		}
	}
	return cfg, nil
}

func parseOffset(v string, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("not a Go duration; give one such as 168h, 90m or -30s")
	}
	*dst = d
	return nil
}

func checkUTSName(v string, dst *string) error {
	if v == "" {
		return errors.New("empty; give a name of 1 to 64 bytes")
	}
	if len(v) > probes.MaxHostnameLen {
		return fmt.Errorf("%d bytes; the kernel takes at most %d, so shorten it", len(v), probes.MaxHostnameLen)
	}
	*dst = v
	return nil
}

// checkLinkName applies the kernel's rules for interface names
// (dev_valid_name), so a bad name is a usage error rather than an EINVAL.
func checkLinkName(v string) error {
	switch {
	case v == "":
		return errors.New("empty; give a link name of 1 to 15 bytes")
	case len(v) > probes.MaxLinkNameLen:
		return fmt.Errorf("%d bytes; link names take at most %d, so shorten it", len(v), probes.MaxLinkNameLen)
	case v == "." || v == "..":
		return errors.New("not a valid link name; use letters, digits, - or _")
	case strings.ContainsAny(v, "/: \t\n\r\v\f"):
		return errors.New("holds a slash, colon or space, which link names cannot; use letters, digits, - or _")
	}
	return nil
}

// parseParentNS parses "mnt=DEV:INO,uts=DEV:INO" into cfg.
func parseParentNS(v string, cfg *config) error {
	ids, err := probes.ParseKindNSIDs(v)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.Contains(nsKinds, id.Kind) {
			return fmt.Errorf("unknown namespace kind %q; use one of %s", id.Kind, strings.Join(nsKinds, " "))
		}
		cfg.addParent(id.Kind, id.ID)
	}
	return nil
}

func (cfg *config) addParent(kind string, id probes.NSID) {
	if cfg.parentNS == nil {
		cfg.parentNS = map[string][]probes.NSID{}
	}
	cfg.parentNS[kind] = append(cfg.parentNS[kind], id)
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, `usage: nsprobe [subcommand] [flags]

Prints one JSON report of the namespaces it runs in. Subcommands, each one
observation (none: all of them): %s

flags (actions are done before observing):
`, strings.Join(observations, " "))
	fs := newFlagSet(&config{})
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// run does the actions, then the observations, into one report.
func run(cfg *config) *probes.Report {
	r := &probes.Report{Schema: probes.Schema, NS: map[string]probes.NSID{}}
	if cfg.helloFD > 0 {
		if err := sayHello(cfg.helloFD); err != nil {
			fail(r, "hello", err)
		}
	}
	act(cfg, r)
	actConfine(&cfg.confine, r)
	tryCanaries(cfg.canaries, r)
	observe(cfg.subcommand, r)
	return r
}

// emit prints r as the one JSON object on stdout.
func emit(stdout, stderr io.Writer, r *probes.Report) int {
	if err := json.NewEncoder(stdout).Encode(r); err != nil {
		fmt.Fprintf(stderr, "nsprobe: write report: %v\n", err)
		return 1
	}
	return 0
}

// fail records an observation's or action's failure in the report; a
// second failure under the same name is appended to the first.
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

// done records a successful action.
func done(r *probes.Report, action string) {
	if r.Actions == nil {
		r.Actions = map[string]string{}
	}
	r.Actions[action] = "done"
}
