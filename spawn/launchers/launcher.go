package launchers

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/nsverify/nsverify/spawn"
)

// The launchers nsverify knows. Go is the built-in one, spawn's own clone;
// each other is a program, described by one file of this package.
const (
	Go      = spawn.BuiltinLauncher
	Unshare = "unshare"
	Bwrap   = "bwrap"
	Runc    = "runc"
	Crun    = "crun"
)

// programs are the launcher programs, by name: each one's facts, as its
// own file states them.
var programs = map[string]*program{
	Unshare: unshare,
	Bwrap:   bwrap,
	Runc:    ociRuntime(Runc),
	Crun:    ociRuntime(Crun),
}

// program is what nsverify knows of one launcher program: the tables at
// the top of its file, and the two functions that read them, one for what
// it cannot express beyond those tables and one for its command line.
type program struct {
	// pkg names the distribution package that installs it.
	pkg string
	// readsHelp says Find reads the long options its --help lists: what
	// it can be asked is found, not assumed from its name, since an old
	// one refuses what it does not know.
	readsHelp bool
	// oci says it is an OCI runtime: given a bundle, not options; tried
	// by Find; and putting its container in a cgroup of its own making.
	oci bool
	// always are the kinds it makes whatever it is asked, each with why
	// (a sentence after its name): a set without one is not expressible.
	always map[spawn.Kind]string
	// never are the kinds it cannot make, each with why.
	never map[spawn.Kind]string
	// pidInside is the probe's pid in a new pid namespace it makes: 1,
	// or 2 behind bwrap's reaper. Its parent there is pidInside-1.
	pidInside int
	// cannot says why l cannot express opts beyond always and never, or
	// "" when it can.
	cannot func(l *Launcher, opts spawn.Options) string
	// command returns the command that starts the probe with args as
	// opts ask, handing it the hello socket as its descriptor 3.
	command func(l *Launcher, opts spawn.Options, args []string) (*spawn.Command, error)
	// bare, when not nil, returns the command that starts the probe in
	// set with nothing else (no action, no hello); nil, command with no
	// arguments is that.
	bare func(l *Launcher, set spawn.Set, probe string) (*spawn.Command, error)
}

// Names are the launchers nsverify knows, the built-in one first.
func Names() []string {
	return []string{Go, Unshare, Bwrap, Runc, Crun}
}

// Parse parses a list of launcher names separated by "," or spaces
// ("go,unshare"), or "all". Unknown and repeated names are errors, given
// before anything runs; "" means the built-in launcher alone.
func Parse(s string) ([]string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "":
		return []string{Go}, nil
	case "all":
		return Names(), nil
	}
	var names []string
	for _, name := range strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(Names(), name) {
			return nil, fmt.Errorf("parse launchers %q: unknown launcher %q; use some of %s, or all", s, name, strings.Join(Names(), ", "))
		}
		if slices.Contains(names, name) {
			return nil, fmt.Errorf("parse launchers %q: launcher %q is given twice; name each once", s, name)
		}
		names = append(names, name)
	}
	return names, nil
}

// Launcher is one launcher as found on this machine. It satisfies
// spawn.Launcher; a nil *Launcher is the built-in one.
type Launcher struct {
	// name is one of Names.
	name string
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
	refusedKinds map[spawn.Kind]string
	// brokenKinds are kinds whose trial failed without the runtime saying
	// it cannot make them, each with its message: every set holding one
	// fails with it.
	brokenKinds map[spawn.Kind]string
	// rootless says the caller lacks CAP_SYS_ADMIN in the initial user
	// namespace, for which the OCI runtimes would need a configuration of
	// their own.
	rootless bool
	// notUID0 says the caller's uid is not 0: bwrap, not installed setuid,
	// then always makes a user namespace.
	notUID0 bool
	// rootfs is an OCI runtime's root file system: a directory made by
	// Find, holding the probe, which Close removes.
	rootfs string
	// options are the long options ("--kill-child") that the --help of
	// unshare or bwrap lists, read by Find (see program.readsHelp).
	options map[string]bool
}

// launcherJSON is a Launcher as one process hands it to another: the suite
// finds its launchers once, and its parallel processes share them.
type launcherJSON struct {
	Name         string                `json:"name"`
	Path         string                `json:"path,omitempty"`
	Version      string                `json:"version,omitempty"`
	Refused      string                `json:"refused,omitempty"`
	Broken       string                `json:"broken,omitempty"`
	RefusedKinds map[spawn.Kind]string `json:"refused_kinds,omitempty"`
	BrokenKinds  map[spawn.Kind]string `json:"broken_kinds,omitempty"`
	Rootless     bool                  `json:"rootless,omitempty"`
	NotUID0      bool                  `json:"not_uid0,omitempty"`
	RootFS       string                `json:"rootfs,omitempty"`
	Options      []string              `json:"options,omitempty"`
}

// MarshalJSON encodes l whole, what it found when tried included.
func (l *Launcher) MarshalJSON() ([]byte, error) {
	return json.Marshal(launcherJSON{Name: l.name, Path: l.Path, Version: l.Version, Refused: l.Refused, Broken: l.Broken,
		RefusedKinds: l.refusedKinds, BrokenKinds: l.brokenKinds, Rootless: l.rootless, NotUID0: l.notUID0, RootFS: l.rootfs, Options: l.Options()})
}

// UnmarshalJSON decodes what MarshalJSON encoded. The root file system
// stays the encoder's, who removes it.
func (l *Launcher) UnmarshalJSON(data []byte) error {
	var v launcherJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("decode launcher: %w", err)
	}
	if _, err := Parse(v.Name); err != nil {
		return fmt.Errorf("decode launcher: %w", err)
	}
	*l = Launcher{name: v.Name, Path: v.Path, Version: v.Version, Refused: v.Refused, Broken: v.Broken,
		refusedKinds: v.RefusedKinds, brokenKinds: v.BrokenKinds, rootless: v.Rootless, notUID0: v.NotUID0, rootfs: v.RootFS}
	l.setOptions(v.Options)
	return nil
}

// Builtin returns the built-in launcher: Go's clone with the set's flags.
func Builtin() *Launcher { return &Launcher{name: Go, Version: "clone(2) from Go"} }

// Of returns the launcher l is: nil, the built-in one, for a nil l or for
// a launcher of another package, whose facts this package does not know.
func Of(l spawn.Launcher) *Launcher {
	found, _ := l.(*Launcher)
	return found
}

// Name is one of Names; a nil launcher is the built-in one.
func (l *Launcher) Name() string {
	if l == nil {
		return Go
	}
	return l.name
}

// Builtin reports whether l is the built-in launcher; a nil launcher is.
func (l *Launcher) Builtin() bool { return l == nil || l.name == Go }

// String names the launcher with its version ("bwrap 0.8.0").
func (l *Launcher) String() string {
	if l.Builtin() {
		return Go
	}
	return l.name + " (" + l.Version + ")"
}

// program returns l's program; nil for the built-in launcher.
func (l *Launcher) program() *program {
	if l == nil {
		return nil
	}
	return programs[l.name]
}

// OCI reports whether l is an OCI runtime, which moves the container into
// a cgroup of its own (linux.cgroupsPath) instead of being started in one.
func (l *Launcher) OCI() bool {
	p := l.program()
	return p != nil && p.oci
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
func (l *Launcher) RefusedKinds() map[spawn.Kind]string { return maps.Clone(l.refusedKinds) }

// BrokenKinds returns the kinds whose trial run failed without the launcher
// saying it cannot make them, with its messages.
func (l *Launcher) BrokenKinds() map[spawn.Kind]string { return maps.Clone(l.brokenKinds) }

// TrialFailure returns the *spawn.TrialError every run of l in set fails
// with: the launcher's own (Broken), or that of the first kind of set
// whose trial failed; nil when the trials set needs passed.
func (l *Launcher) TrialFailure(set spawn.Set) error {
	if l.Builtin() {
		return nil
	}
	if l.Broken != "" {
		return &spawn.TrialError{Launcher: l.name, Reason: l.Broken}
	}
	for _, k := range set.Kinds() {
		if msg, broken := l.brokenKinds[k]; broken {
			return &spawn.TrialError{Launcher: l.name, Kind: k, Reason: msg}
		}
	}
	return nil
}

// Expresses says whether l can start a child as opts ask and, if not, why:
// what the launcher always or never does (its file's tables), or what it
// said it refuses when tried. A trial that failed otherwise is no reason:
// such a set is expressed, and its run fails with TrialFailure. The
// built-in launcher expresses everything spawn validates.
func (l *Launcher) Expresses(opts spawn.Options) (ok bool, reason string) {
	if l.Builtin() {
		return true, ""
	}
	if l.Refused != "" {
		return false, l.Refused
	}
	if why := opts.NeedsBuiltin(l.name); why != "" {
		return false, why
	}
	set := opts.Set
	for _, k := range set.Kinds() {
		if msg, refused := l.refusedKinds[k]; refused {
			return false, fmt.Sprintf("%s refused a %s namespace when tried: %s", l.name, k, msg)
		}
	}
	p := l.program()
	for _, k := range spawn.All.Kinds() {
		if why, always := p.always[k]; always && !set.Has(k) {
			return false, l.name + " " + why
		}
	}
	for _, k := range set.Kinds() {
		if why, never := p.never[k]; never {
			return false, l.name + " " + why
		}
	}
	if why := p.cannot(l, opts); why != "" {
		return false, why
	}
	return true, ""
}

// Command returns the command that starts opts.Probe with args through l
// in opts.Set, and what to undo after it; a set whose trial failed fails
// with its *spawn.TrialError.
func (l *Launcher) Command(opts spawn.Options, args []string) (*spawn.Command, error) {
	if err := l.TrialFailure(opts.Set); err != nil {
		return nil, err
	}
	p := l.program()
	if p == nil {
		return nil, fmt.Errorf("start %s: not a launcher of its own program", l.Name())
	}
	return p.command(l, opts, args)
}

// BareCommand returns the command that starts probe in set through l, with
// nothing else: no action, no hello. It measures what the launcher itself
// costs (the floor of a benchmark); done removes what it made.
func (l *Launcher) BareCommand(set spawn.Set, probe string) (argv []string, done func(), err error) {
	p := l.program()
	if p == nil {
		return nil, nil, errors.New("bare command: the built-in launcher is a clone, not a program; clone the probe with the set's flags")
	}
	if err := l.TrialFailure(set); err != nil {
		return nil, nil, fmt.Errorf("bare command: %w", err)
	}
	var c *spawn.Command
	if p.bare != nil {
		c, err = p.bare(l, set, probe)
	} else {
		c, err = p.command(l, spawn.Options{Probe: probe, Set: set}, nil)
	}
	if err != nil {
		return nil, nil, err
	}
	done = c.Done
	if done == nil {
		done = func() {}
	}
	return c.Argv, done, nil
}

// ProbePIDInside is the pid and parent pid the probe has inside a new pid
// namespace l makes, and the pids a fresh /proc there lists: the
// launcher's documented behaviour, which the oracles expect of it alone.
func (l *Launcher) ProbePIDInside() (pid, ppid int, listed []int) {
	pid = 1
	if p := l.program(); p != nil && p.pidInside != 0 {
		pid = p.pidInside
	}
	ppid = pid - 1
	for p := 1; p <= pid; p++ {
		listed = append(listed, p)
	}
	return pid, ppid, listed
}

// Close removes the root file system Find made for an OCI runtime.
func (l *Launcher) Close() error {
	if l == nil || l.rootfs == "" {
		return nil
	}
	dir := filepath.Dir(l.rootfs)
	l.rootfs = ""
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove bundle root: %w", err)
	}
	return nil
}

// singleRootMap accepts the maps a launcher that maps one id can write:
// none given (the caller's, as spawn.CallerMaps says), or one range of one
// id, the caller's own outside.
func singleRootMap(opts spawn.Options, how string) (bool, string) {
	if !opts.Set.Has(spawn.User) {
		return true, ""
	}
	uid, gid := spawn.CallerMaps()
	for _, m := range []struct {
		given, caller []spawn.IDMap
	}{{opts.UIDMap, uid}, {opts.GIDMap, gid}} {
		if len(m.given) == 0 {
			continue
		}
		if len(m.given) != 1 || m.given[0].Count != 1 || m.given[0].Outside != m.caller[0].Outside {
			return false, how + "; the map asked for is " + spawn.FormatIDMaps(m.given)
		}
	}
	return true, ""
}
