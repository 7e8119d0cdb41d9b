package spawn

import (
	"errors"
	"fmt"
)

// BuiltinLauncher names the built-in launcher: Go's clone with the set's
// flags, which Run does itself. It answers "does this kernel isolate?";
// every other launcher is a program people build sandboxes with, run as
// the program it is, and answers "does this sandbox isolate?" with the same
// probe and the same oracles.
const BuiltinLauncher = "go"

// Launcher starts the probe through a program other than the built-in
// clone: unshare, bwrap, an OCI runtime (package spawn/launchers holds
// them, one file each). Run asks it whether it can start a child as the
// options ask, then for the command that does, and runs that command as it
// runs its own clone: in its own process group, with Pdeathsig SIGKILL,
// the options' environment and deadline, and the hello socket as
// descriptor 3, which the command must hand the probe as the probe's own
// descriptor 3 (the probe's arguments say -hello-fd 3). The host learns the
// probe's pid from the kernel over that socket, whatever the launcher puts
// between them.
type Launcher interface {
	// Name names the launcher in results and errors ("bwrap"). A launcher
	// named BuiltinLauncher, or a nil one, is the built-in clone: Run
	// starts the child itself and asks it nothing.
	Name() string
	// Expresses says whether the launcher can start a child as opts ask
	// and, if not, why: what it always or never does, in a sentence a
	// matrix shows as n/a. Run returns a *NotExpressibleError with that
	// reason before anything runs.
	Expresses(opts Options) (ok bool, reason string)
	// Command returns the command that starts opts.Probe with args in
	// opts.Set, as opts ask. A *TrialError it returns fails the kind it
	// names (an empty Kind, the whole launcher).
	Command(opts Options, args []string) (*Command, error)
}

// Command is how a launcher starts the probe.
type Command struct {
	// Argv is the program to run and its arguments.
	Argv []string
	// OwnCgroup says the launcher itself puts the probe in
	// Options.CgroupDir (an OCI runtime, through its bundle's
	// linux.cgroupsPath); otherwise Run starts the program there, as it
	// clones its own child, and a new cgroup namespace is rooted there.
	OwnCgroup bool
	// Done, when not nil, removes what the command needed (a bundle);
	// Run calls it once the command ended.
	Done func()
}

// builtin reports whether l is the built-in launcher.
func builtin(l Launcher) bool { return l == nil || l.Name() == BuiltinLauncher }

// TrialError says a launcher failed a trial run, with what nsverify gives
// it, for a reason it did not state as a refusal: a failure of the
// launcher or of nsverify, which fails every set it touches. Kind is the
// kind the failed trial added to a mount and a pid namespace; empty, the
// trial with those two alone failed.
type TrialError struct {
	Launcher string
	Kind     Kind
	Reason   string
}

// Error starts with the kind, as an oracle's failure does, or with the
// launcher when the trial without any other kind failed.
func (e *TrialError) Error() string {
	if e.Kind == "" {
		return fmt.Sprintf("%s: failed its trial in new mount and pid namespaces: %s", e.Launcher, e.Reason)
	}
	return fmt.Sprintf("%s: %s failed its trial in new mount, pid and %s namespaces: %s", e.Kind, e.Launcher, e.Kind, e.Reason)
}

// NotExpressibleError says a launcher cannot start a child as the options
// ask: a fact about the launcher, not a failure of it, which a matrix shows
// as n/a with the reason.
type NotExpressibleError struct {
	Launcher string
	Set      Set
	Reason   string
}

func (e *NotExpressibleError) Error() string {
	return fmt.Sprintf("%s cannot start a child in %s: %s", e.Launcher, e.Set, e.Reason)
}

// ErrNotExpressible is matched by every *NotExpressibleError.
var ErrNotExpressible = errors.New("not expressible by the launcher")

func (e *NotExpressibleError) Is(target error) bool { return target == ErrNotExpressible }

// NeedsBuiltin says why only the built-in launcher can start a child as o
// asks, naming launcher as the one that cannot, or "" when any launcher
// may try: joining existing namespaces is done by the probe's stage, which
// only Run's own clone starts, and the confinement actions and single
// observations are run through the built-in launcher alone.
func (o Options) NeedsBuiltin(launcher string) string {
	if !o.Join.empty() {
		return "joining existing namespaces is done by the built-in launcher's probe stage; " + launcher + " is given new namespaces only"
	}
	if o.Subcommand != "" || o.Actions.Confine.any() {
		return "the confinement specs and single observations run through the built-in launcher"
	}
	return ""
}
