package spawn

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A launcher is the program under test: what starts the probe in a
// namespace set. The built-in one, "go", is Go's clone with the set's flags
// and answers "does this kernel isolate?"; the others are sandboxes people
// use, run as the programs they are, and answer "does this sandbox
// isolate?" with the same probe and the same oracles.
const (
	LauncherGo      = "go"
	LauncherUnshare = "unshare"
	LauncherBwrap   = "bwrap"
	LauncherRunc    = "runc"
	LauncherCrun    = "crun"
)

// LauncherNames are the launchers nsverify knows, the built-in one first.
func LauncherNames() []string {
	return []string{LauncherGo, LauncherUnshare, LauncherBwrap, LauncherRunc, LauncherCrun}
}

// ParseLaunchers parses a list of launcher names separated by "," or
// spaces ("go,unshare"), or "all". Unknown and repeated names are errors,
// given before anything runs; "" means the built-in launcher alone.
func ParseLaunchers(s string) ([]string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "":
		return []string{LauncherGo}, nil
	case "all":
		return LauncherNames(), nil
	}
	var names []string
	for _, name := range strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(LauncherNames(), name) {
			return nil, fmt.Errorf("parse launchers %q: unknown launcher %q; use some of %s, or all", s, name, strings.Join(LauncherNames(), ", "))
		}
		if slices.Contains(names, name) {
			return nil, fmt.Errorf("parse launchers %q: launcher %q is given twice; name each once", s, name)
		}
		names = append(names, name)
	}
	return names, nil
}

// Launcher is one launcher as found on this machine.
type Launcher struct {
	// Name is one of LauncherNames.
	Name string
	// Path is the program run; empty for the built-in launcher.
	Path string
	// Version is the first line the program prints of its version.
	Version string
	// Refused, when not empty, says why the launcher starts nothing on
	// this machine, in its own words, with what nsverify makes of them:
	// every set is then not expressible, with that reason. Only a program
	// that is missing, or a runtime's stated refusal of the machine (crun
	// 1.8 on a hybrid cgroup layout), is a refusal.
	Refused string
	// Broken, when not empty, says how an OCI runtime failed its trial in
	// a mount and a pid namespace without stating a refusal: the bundle
	// nsverify writes is under test as much as the runtime, so every set
	// the launcher expresses then fails with it (TrialFailure), never n/a.
	Broken string
	// refusedKinds are kinds a trial run showed the launcher refuses, each
	// with its own message (runc 1.1 has no time namespace).
	refusedKinds map[Kind]string
	// brokenKinds are kinds whose trial failed without the runtime saying
	// it cannot make them, each with its message: every set holding one
	// fails with it.
	brokenKinds map[Kind]string
	// rootless says the caller lacks CAP_SYS_ADMIN in the initial user
	// namespace, for which the OCI runtimes would need a configuration of
	// their own.
	rootless bool
	// notUID0 says the caller's uid is not 0: bwrap, not installed setuid,
	// then always makes a user namespace.
	notUID0 bool
	// rootfs is an OCI runtime's root file system: a directory made by
	// FindLauncher, holding the probe, which Close removes.
	rootfs string
	// options are the long options ("--kill-child") that the --help of
	// unshare or bwrap lists, read by FindLauncher: what a launcher can
	// be asked is found, not assumed from its name, since an old one
	// (CentOS 7's util-linux 2.23 unshare has no --map-user, --kill-child,
	// --cgroup or --time) refuses what it does not know.
	options map[string]bool
}

// launcherJSON is a Launcher as one process hands it to another: the suite
// finds its launchers once, and its parallel processes share them.
type launcherJSON struct {
	Name         string          `json:"name"`
	Path         string          `json:"path,omitempty"`
	Version      string          `json:"version,omitempty"`
	Refused      string          `json:"refused,omitempty"`
	Broken       string          `json:"broken,omitempty"`
	RefusedKinds map[Kind]string `json:"refused_kinds,omitempty"`
	BrokenKinds  map[Kind]string `json:"broken_kinds,omitempty"`
	Rootless     bool            `json:"rootless,omitempty"`
	NotUID0      bool            `json:"not_uid0,omitempty"`
	RootFS       string          `json:"rootfs,omitempty"`
	Options      []string        `json:"options,omitempty"`
}

// MarshalJSON encodes l whole, what it found when tried included.
func (l *Launcher) MarshalJSON() ([]byte, error) {
	return json.Marshal(launcherJSON{Name: l.Name, Path: l.Path, Version: l.Version, Refused: l.Refused, Broken: l.Broken,
		RefusedKinds: l.refusedKinds, BrokenKinds: l.brokenKinds, Rootless: l.rootless, NotUID0: l.notUID0, RootFS: l.rootfs, Options: l.Options()})
}

// UnmarshalJSON decodes what MarshalJSON encoded. The root file system
// stays the encoder's, who removes it.
func (l *Launcher) UnmarshalJSON(data []byte) error {
	var v launcherJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("decode launcher: %w", err)
	}
	if _, err := ParseLaunchers(v.Name); err != nil {
		return fmt.Errorf("decode launcher: %w", err)
	}
	*l = Launcher{Name: v.Name, Path: v.Path, Version: v.Version, Refused: v.Refused, Broken: v.Broken,
		refusedKinds: v.RefusedKinds, brokenKinds: v.BrokenKinds, rootless: v.Rootless, notUID0: v.NotUID0, rootfs: v.RootFS}
	l.setOptions(v.Options)
	return nil
}

// BuiltinLauncher is Go's clone with the set's flags.
func BuiltinLauncher() *Launcher { return &Launcher{Name: LauncherGo, Version: "clone(2) from Go"} }

// Builtin reports whether l is the built-in launcher; a nil launcher is.
func (l *Launcher) Builtin() bool { return l == nil || l.Name == LauncherGo }

// String names the launcher with its version ("bwrap 0.8.0").
func (l *Launcher) String() string {
	if l.Builtin() {
		return LauncherGo
	}
	return l.Name + " (" + l.Version + ")"
}

// HasOption reports whether the launcher's --help lists the long option
// opt ("--kill-child"). The built-in launcher, and the OCI runtimes, whose
// bundle says everything, have none.
func (l *Launcher) HasOption(opt string) bool { return l != nil && l.options[opt] }

// Options returns the long options the launcher's --help lists, sorted.
func (l *Launcher) Options() []string {
	if l == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(l.options))
}

// setOptions records opts as the options the launcher's --help lists.
func (l *Launcher) setOptions(opts []string) {
	l.options = make(map[string]bool, len(opts))
	for _, o := range opts {
		l.options[o] = true
	}
}

// helpOption finds the long options in the text of a --help: "--name"
// where it starts a word, whatever follows ("--map-user=<uid>",
// "--mount[=<file>]", "--uid UID").
var helpOption = regexp.MustCompile(`(?:^|[^A-Za-z0-9-])(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*)`)

// parseHelpOptions returns the long options that the text of a --help
// lists, sorted and each once.
func parseHelpOptions(help string) []string {
	seen := map[string]bool{}
	for _, m := range helpOption.FindAllStringSubmatch(help, -1) {
		seen[m[1]] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// missingOption is the reason a launcher cannot express a set: an option
// it does not have.
func (l *Launcher) missingOption(opt, what string) string {
	return fmt.Sprintf("%s has no %s option (its --help does not list it), %s", l, opt, what)
}

// RefusedKinds returns the kinds a trial run showed the launcher refuses,
// with its messages.
func (l *Launcher) RefusedKinds() map[Kind]string { return maps.Clone(l.refusedKinds) }

// BrokenKinds returns the kinds whose trial run failed without the launcher
// saying it cannot make them, with its messages.
func (l *Launcher) BrokenKinds() map[Kind]string { return maps.Clone(l.brokenKinds) }

// TrialError says a launcher failed a trial run, with the bundle nsverify
// writes, for a reason it did not state as a refusal: a failure of the
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

// TrialFailure returns the *TrialError every run of l in set fails with:
// the launcher's own (Broken), or that of the first kind of set whose
// trial failed; nil when the trials set needs passed.
func (l *Launcher) TrialFailure(set Set) error {
	if l.Builtin() {
		return nil
	}
	if l.Broken != "" {
		return &TrialError{Launcher: l.Name, Reason: l.Broken}
	}
	for _, k := range set.Kinds() {
		if msg, broken := l.brokenKinds[k]; broken {
			return &TrialError{Launcher: l.Name, Kind: k, Reason: msg}
		}
	}
	return nil
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

// Expresses says whether l can start a child as opts ask and, if not, why:
// what the launcher always or never does, or what it said it refuses when
// tried. A trial that failed otherwise is no reason: such a set is
// expressed, and its run fails with TrialFailure. The built-in launcher
// expresses everything spawn validates.
func (l *Launcher) Expresses(opts Options) (ok bool, reason string) {
	if l.Builtin() {
		return true, ""
	}
	if l.Refused != "" {
		return false, l.Refused
	}
	set := opts.Set
	if !opts.Join.empty() {
		return false, "joining existing namespaces is done by the built-in launcher's probe stage; " + l.Name + " is given new namespaces only"
	}
	if opts.Subcommand != "" || opts.Actions.Confine.any() {
		return false, "the confinement specs and single observations run through the built-in launcher"
	}
	for _, k := range set.Kinds() {
		if msg, refused := l.refusedKinds[k]; refused {
			return false, fmt.Sprintf("%s refused a %s namespace when tried: %s", l.Name, k, msg)
		}
	}
	switch l.Name {
	case LauncherUnshare:
		return l.unshareExpresses(opts)
	case LauncherBwrap:
		if !set.Has(MNT) {
			return false, "bwrap always makes a mount namespace (it builds the sandbox's root in one)"
		}
		if set.Has(Time) {
			return false, "bwrap has no option for a time namespace"
		}
		if l.notUID0 && !set.Has(User) {
			return false, "bwrap, run by a uid other than 0 and not installed setuid, always makes a user namespace"
		}
		for _, k := range set.Without(MNT).Kinds() {
			if opt := bwrapKindOption(k); !l.HasOption(opt) {
				return false, l.missingOption(opt, "so it cannot make a "+string(k)+" namespace")
			}
		}
		if !l.HasOption("--cap-add") {
			return false, l.missingOption("--cap-add", "and without it root inside holds only what bwrap leaves it, not what the namespaces allow")
		}
		if ok, why := singleRootMap(opts, "bwrap maps one id, with --uid and --gid"); !ok {
			return false, why
		}
	case LauncherRunc, LauncherCrun:
		if !set.Has(MNT) {
			return false, l.Name + " always makes a mount namespace (an OCI container has a root of its own)"
		}
		if set.Has(User) && !set.Has(PID) {
			return false, "an OCI runtime mounts /proc in the container, and the kernel lets a new user namespace mount /proc only for a pid namespace of its own"
		}
		if l.rootless {
			return false, l.Name + " is run here without CAP_SYS_ADMIN in the initial user namespace; nsverify writes bundles for a runtime run as root"
		}
	}
	return true, ""
}

// unshareKindOption is the option through which util-linux unshare makes
// each kind.
var unshareKindOption = map[Kind]string{
	UTS: "--uts", IPC: "--ipc", PID: "--pid", MNT: "--mount", User: "--user", Net: "--net", Cgroup: "--cgroup", Time: "--time",
}

// bwrapKindOption is the option through which bwrap makes each kind but
// mnt, which it always makes.
func bwrapKindOption(k Kind) string { return "--unshare-" + string(k) }

// unshareExpresses: util-linux unshare makes every kind it has an option
// for; writes only the maps --map-user and --map-group can say (one id,
// the caller's) or, where it lacks them (util-linux 2.23), the one map
// --map-root-user writes (the caller's id as 0); and takes whole seconds
// as time offsets, given with --monotonic and --boottime.
func (l *Launcher) unshareExpresses(opts Options) (bool, string) {
	set := opts.Set
	for _, k := range set.Kinds() {
		if opt := unshareKindOption[k]; !l.HasOption(opt) {
			return false, l.missingOption(opt, "so it cannot make a "+string(k)+" namespace")
		}
	}
	if (set.Has(PID) || set.Has(Time)) && !l.HasOption("--fork") {
		return false, l.missingOption("--fork", "and a new pid or time namespace holds only the children of whoever made it")
	}
	if set.Has(User) {
		switch {
		case l.HasOption("--map-user") && l.HasOption("--map-group"):
			if ok, why := singleRootMap(opts, "unshare maps the caller's own id with --map-user and --map-group (ranges need newuidmap)"); !ok {
				return false, why
			}
		case l.HasOption("--map-root-user"):
			uid, gid := mapsOrCaller(opts)
			if ok, why := singleRootMap(opts, l.String()+" has no --map-user or --map-group, and --map-root-user maps the caller's own id to 0"); !ok {
				return false, why
			}
			if uid[0].Inside != 0 || gid[0].Inside != 0 {
				return false, fmt.Sprintf("%s has no --map-user or --map-group (its --help does not list them), and --map-root-user maps the caller's own id to 0 only; the maps asked for are %s and %s",
					l, formatMaps(uid), formatMaps(gid))
			}
		default:
			return false, l.missingOption("--map-user or --map-root-user", "so the user namespace it makes would have no id map")
		}
	}
	if opts.Actions.MonotonicOffset != 0 || opts.Actions.BoottimeOffset != 0 {
		for _, opt := range []string{"--monotonic", "--boottime"} {
			if !l.HasOption(opt) {
				return false, l.missingOption(opt, "so it cannot give a time namespace offsets")
			}
		}
	}
	for _, d := range []time.Duration{opts.Actions.MonotonicOffset, opts.Actions.BoottimeOffset} {
		if d%time.Second != 0 {
			return false, fmt.Sprintf("unshare takes time offsets in whole seconds, and %s is not", d)
		}
	}
	return true, ""
}

// singleRootMap accepts the maps a launcher that maps one id can write:
// none given (the caller's, as CallerMaps says), or one range of one id,
// the caller's own outside.
func singleRootMap(opts Options, how string) (bool, string) {
	if !opts.Set.Has(User) {
		return true, ""
	}
	uid, gid := CallerMaps()
	for _, m := range []struct {
		given, caller []IDMap
	}{{opts.UIDMap, uid}, {opts.GIDMap, gid}} {
		if len(m.given) == 0 {
			continue
		}
		if len(m.given) != 1 || m.given[0].Count != 1 || m.given[0].Outside != m.caller[0].Outside {
			return false, how + "; the map asked for is " + formatMaps(m.given)
		}
	}
	return true, ""
}

// ProbePIDInside is the pid and parent pid the probe has inside a new pid
// namespace l makes, and the pids a fresh /proc there lists: the
// launcher's documented behaviour, which the oracles expect of it alone.
func (l *Launcher) ProbePIDInside() (pid, ppid int, listed []int) {
	// bwrap, unless given --as-pid-1, stays in the new pid namespace as
	// its pid 1, a reaper, and runs the command as pid 2.
	pid, ppid = 1, 0
	if l != nil && l.Name == LauncherBwrap {
		pid, ppid = 2, 1
	}
	for p := 1; p <= pid; p++ {
		listed = append(listed, p)
	}
	return pid, ppid, listed
}

// OCI reports whether l is an OCI runtime, which moves the container into
// a cgroup of its own (linux.cgroupsPath) instead of being started in one.
func (l *Launcher) OCI() bool {
	return l != nil && (l.Name == LauncherRunc || l.Name == LauncherCrun)
}
