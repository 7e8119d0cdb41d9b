package launchers

import (
	"strconv"

	"github.com/nsverify/nsverify/spawn"
)

// bubblewrap builds a sandbox's root in a mount namespace of its own and
// makes each other kind with one --unshare option. It is given the host's
// root as it is (--dev-bind / /): the probe looks at namespaces, not
// files. It runs the probe as a child, which inherits descriptor 3, the
// hello socket; unless given --as-pid-1 it stays in a new pid namespace as
// its pid 1, a reaper, and the probe is pid 2.

// bwrapKindOption is the option through which bwrap makes each kind but
// mnt, which it always makes, and time, which it cannot make.
var bwrapKindOption = map[spawn.Kind]string{
	spawn.UTS: "--unshare-uts", spawn.IPC: "--unshare-ipc", spawn.PID: "--unshare-pid",
	spawn.User: "--unshare-user", spawn.Net: "--unshare-net", spawn.Cgroup: "--unshare-cgroup",
}

// bwrapAlways are the kinds bwrap makes whatever it is asked, with why.
var bwrapAlways = map[spawn.Kind]string{
	spawn.MNT: "always makes a mount namespace (it builds the sandbox's root in one)",
}

// bwrapNever are the kinds bwrap cannot make, with why.
var bwrapNever = map[spawn.Kind]string{
	spawn.Time: "has no option for a time namespace",
}

// Why bwrap cannot express a set beyond its tables (bwrapCannot says when).
const (
	bwrapUserNSAlways = "bwrap, run by a uid other than 0 and not installed setuid, always makes a user namespace"
	bwrapNoCapAdd     = "and without it root inside holds only what bwrap leaves it, not what the namespaces allow"
	bwrapMapsOneID    = "bwrap maps one id, with --uid and --gid"
)

// bwrapPIDInside is the probe's pid in a new pid namespace bwrap makes:
// 2, behind bwrap's reaper.
const bwrapPIDInside = 2

var bwrap = &program{
	pkg:       "package bubblewrap",
	readsHelp: true,
	always:    bwrapAlways,
	never:     bwrapNever,
	pidInside: bwrapPIDInside,
	cannot:    bwrapCannot,
	command:   bwrapCommand,
}

// bwrapCannot: bwrap run by another uid than 0 always makes a user
// namespace; it needs the option of each kind, and --cap-add; and maps one
// id.
func bwrapCannot(l *Launcher, opts spawn.Options) string {
	set := opts.Set
	if l.notUID0 && !set.Has(spawn.User) {
		return bwrapUserNSAlways
	}
	for _, k := range set.Kinds() {
		if opt, ok := bwrapKindOption[k]; ok && !l.HasOption(opt) {
			return l.missingOption(opt, "so it cannot make a "+string(k)+" namespace")
		}
	}
	if !l.HasOption("--cap-add") {
		return l.missingOption("--cap-add", bwrapNoCapAdd)
	}
	if ok, why := singleRootMap(opts, bwrapMapsOneID); !ok {
		return why
	}
	return ""
}

// bwrapCommand is bwrap on the host's root with the option of each kind
// of the set, every capability, then the probe.
func bwrapCommand(l *Launcher, opts spawn.Options, args []string) (*spawn.Command, error) {
	// The host's root, as it is: bwrap needs a root to build the
	// sandbox in, and the probe looks at namespaces, not files.
	argv := []string{l.Path, "--dev-bind", "/", "/"}
	for _, k := range opts.Set.Kinds() {
		switch k {
		case spawn.User:
			uid, gid := opts.IDMaps()
			argv = append(argv, bwrapKindOption[spawn.User], "--uid", strconv.FormatUint(uint64(uid[0].Inside), 10), "--gid", strconv.FormatUint(uint64(gid[0].Inside), 10))
		case spawn.MNT:
		default:
			argv = append(argv, bwrapKindOption[k])
		}
	}
	// Every capability bwrap may give, as for an OCI runtime: root
	// inside holds what the namespaces allow, and the oracles see the
	// namespaces' effect, not bwrap's dropping of capabilities (which
	// it does for a caller that is not root).
	argv = append(argv, "--cap-add", "ALL")
	if l.HasOption("--die-with-parent") {
		argv = append(argv, "--die-with-parent")
	}
	argv = append(argv, "--", opts.Probe)
	return &spawn.Command{Argv: append(argv, args...)}, nil
}
