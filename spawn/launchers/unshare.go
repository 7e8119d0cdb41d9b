package launchers

import (
	"fmt"
	"strconv"
	"time"

	"github.com/nsverify/nsverify/spawn"
)

// util-linux unshare makes the kinds it is given, each with one option,
// and nothing else: it always makes nothing, and never lacks a kind but
// where its --help lacks the option (util-linux 2.23, CentOS 7's, has no
// --cgroup or --time). It runs the probe as a child (--fork), which
// inherits descriptor 3, the hello socket, as every descriptor unshare
// holds.

// unshareKindOption is the option through which unshare makes each kind.
var unshareKindOption = map[spawn.Kind]string{
	spawn.UTS: "--uts", spawn.IPC: "--ipc", spawn.PID: "--pid", spawn.MNT: "--mount",
	spawn.User: "--user", spawn.Net: "--net", spawn.Cgroup: "--cgroup", spawn.Time: "--time",
}

// Why unshare cannot express a set, beyond an option its --help lacks
// (unshareCannot says when): --map-user and --map-group map one id, the
// caller's, and --map-root-user maps it to 0 alone; --monotonic and
// --boottime take whole seconds.
const (
	unshareMapsOneID        = "unshare maps the caller's own id with --map-user and --map-group (ranges need newuidmap)"
	unshareMapsRootOnly     = " has no --map-user or --map-group, and --map-root-user maps the caller's own id to 0"
	unshareOffsetsInSeconds = "unshare takes time offsets in whole seconds, and %s is not"
)

var unshare = &program{
	pkg:       "package util-linux",
	readsHelp: true,
	cannot:    unshareCannot,
	command:   unshareCommand,
}

// unshareCannot: unshare makes every kind it has an option for; writes
// only the maps --map-user and --map-group can say (one id, the caller's)
// or, where it lacks them (util-linux 2.23), the one map --map-root-user
// writes (the caller's id as 0); and takes whole seconds as time offsets,
// given with --monotonic and --boottime.
func unshareCannot(l *Launcher, opts spawn.Options) string {
	set := opts.Set
	for _, k := range set.Kinds() {
		if opt := unshareKindOption[k]; !l.HasOption(opt) {
			return l.missingOption(opt, "so it cannot make a "+string(k)+" namespace")
		}
	}
	if (set.Has(spawn.PID) || set.Has(spawn.Time)) && !l.HasOption("--fork") {
		return l.missingOption("--fork", "and a new pid or time namespace holds only the children of whoever made it")
	}
	if set.Has(spawn.User) {
		switch {
		case l.HasOption("--map-user") && l.HasOption("--map-group"):
			if ok, why := singleRootMap(opts, unshareMapsOneID); !ok {
				return why
			}
		case l.HasOption("--map-root-user"):
			uid, gid := opts.IDMaps()
			if ok, why := singleRootMap(opts, l.String()+unshareMapsRootOnly); !ok {
				return why
			}
			if uid[0].Inside != 0 || gid[0].Inside != 0 {
				return fmt.Sprintf("%s has no --map-user or --map-group (its --help does not list them), and --map-root-user maps the caller's own id to 0 only; the maps asked for are %s and %s",
					l, spawn.FormatIDMaps(uid), spawn.FormatIDMaps(gid))
			}
		default:
			return l.missingOption("--map-user or --map-root-user", "so the user namespace it makes would have no id map")
		}
	}
	if opts.Actions.MonotonicOffset != 0 || opts.Actions.BoottimeOffset != 0 {
		for _, opt := range []string{"--monotonic", "--boottime"} {
			if !l.HasOption(opt) {
				return l.missingOption(opt, "so it cannot give a time namespace offsets")
			}
		}
	}
	for _, d := range []time.Duration{opts.Actions.MonotonicOffset, opts.Actions.BoottimeOffset} {
		if d%time.Second != 0 {
			return fmt.Sprintf(unshareOffsetsInSeconds, d)
		}
	}
	return ""
}

// unshareCommand is unshare with the option of each kind of the set, the
// maps and offsets, then the probe.
func unshareCommand(l *Launcher, opts spawn.Options, args []string) (*spawn.Command, error) {
	set := opts.Set
	argv := []string{l.Path}
	for _, k := range set.Kinds() {
		argv = append(argv, unshareKindOption[k])
	}
	if set.Has(spawn.User) {
		if l.HasOption("--map-user") && l.HasOption("--map-group") {
			uid, gid := opts.IDMaps()
			argv = append(argv, "--map-user="+strconv.FormatUint(uint64(uid[0].Inside), 10), "--map-group="+strconv.FormatUint(uint64(gid[0].Inside), 10))
		} else {
			// util-linux 2.23: the caller's own ids as 0, which is
			// all Expresses let through.
			argv = append(argv, "--map-root-user")
		}
	}
	if opts.Actions.MonotonicOffset != 0 || opts.Actions.BoottimeOffset != 0 {
		argv = append(argv, "--monotonic", strconv.FormatInt(int64(opts.Actions.MonotonicOffset/time.Second), 10),
			"--boottime", strconv.FormatInt(int64(opts.Actions.BoottimeOffset/time.Second), 10))
	}
	// --fork: pid and time namespaces hold only children (Expresses
	// asks for it there); elsewhere it keeps every set's probe a child
	// of unshare alike.
	if l.HasOption("--fork") {
		argv = append(argv, "--fork")
	}
	// --kill-child ends the probe with unshare. An unshare without it
	// (util-linux 2.23) leaves it to the rest: the probe is in unshare's
	// process group, which Run kills at its deadline, and it waits for
	// the host's answer to its hello before it acts, which a host that is
	// gone never gives (its end of the socket closes, and the probe's
	// read ends).
	if l.HasOption("--kill-child") {
		argv = append(argv, "--kill-child")
	}
	argv = append(argv, "--", opts.Probe)
	return &spawn.Command{Argv: append(argv, args...)}, nil
}
