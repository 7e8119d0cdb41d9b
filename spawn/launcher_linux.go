package spawn

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// launcherTrialTimeout bounds one trial run of an OCI runtime.
const launcherTrialTimeout = 20 * time.Second

// FindLauncher finds the launcher name at path, or on PATH when path is
// empty, and reads its version. For unshare and bwrap it reads the long
// options their --help lists: a set that needs an option the launcher
// lacks is not expressible, naming the option, and an option that only
// helps (--kill-child) is passed where it is there. For an OCI runtime it also makes a root
// file system holding a copy of probe, and tries the runtime once in a
// mount and pid namespace, then once more with each other kind: a kind the
// runtime says it cannot make is not expressible, with the runtime's own
// message; a trial that failed otherwise fails the sets it touches
// (TrialFailure). A launcher that is missing, or that refuses this machine
// in its own words, is returned with Refused saying so, so that its rows
// say n/a with the reason; an unknown name is an error. Close removes what
// FindLauncher made.
func FindLauncher(name, path, probe string) (*Launcher, error) {
	if _, err := ParseLaunchers(name); err != nil {
		return nil, err
	}
	if name == LauncherGo {
		return BuiltinLauncher(), nil
	}
	l := &Launcher{Name: name, rootless: !ReadPrivilege().adminInInitialUserNS(), notUID0: os.Getuid() != 0}
	if path == "" {
		p, err := exec.LookPath(name)
		if err != nil {
			l.Refused = fmt.Sprintf("%s is not on PATH; install it (%s), or leave it out of the launchers", name, launcherPackage(name))
			return l, nil
		}
		path = p
	}
	l.Path = path
	out, err := exec.Command(path, "--version").CombinedOutput()
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil {
		l.Refused = fmt.Sprintf("%s --version failed: %v: %s", path, err, first)
		return l, nil
	}
	l.Version = first
	if l.Name == LauncherUnshare || l.Name == LauncherBwrap {
		help, err := exec.Command(path, "--help").CombinedOutput()
		if err != nil {
			l.Refused = fmt.Sprintf("%s --help failed: %v: %s", path, err, strings.TrimSpace(string(help)))
			return l, nil
		}
		l.setOptions(parseHelpOptions(string(help)))
	}
	if l.OCI() && !l.rootless {
		if err := l.prepareOCI(probe); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// launcherPackage names the distribution package of a launcher.
func launcherPackage(name string) string {
	switch name {
	case LauncherUnshare:
		return "package util-linux"
	case LauncherBwrap:
		return "package bubblewrap"
	}
	return "package " + name
}

// Close removes the root file system FindLauncher made for an OCI runtime.
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

// prepareOCI makes the runtime's root file system and runs the trials.
func (l *Launcher) prepareOCI(probe string) error {
	dir, err := os.MkdirTemp("", "nsverify-"+l.Name+"-")
	if err != nil {
		return fmt.Errorf("make bundle root: %w", err)
	}
	// Searchable by all: a container's root in a user namespace of its own
	// reaches the probe through the ids mapped there.
	if err := os.Chmod(dir, 0o755); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("make bundle root: %w", err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{rootfs, filepath.Join(rootfs, "proc"), filepath.Join(rootfs, "dev")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			_ = os.RemoveAll(dir)
			return fmt.Errorf("make bundle root: %w", err)
		}
	}
	if err := copyFile(probe, filepath.Join(rootfs, ociProbePath), 0o755); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("copy the probe into the bundle root: %w", err)
	}
	l.rootfs = rootfs

	base := SetOf(MNT, PID)
	if msg := l.trial(Options{Set: base}); msg != "" {
		l.recordBaseTrial(msg)
		return nil
	}
	for _, k := range []Kind{UTS, IPC, Net, User, Cgroup, Time} {
		if !kindsPresent()[k] {
			continue
		}
		opts := Options{Set: base.With(k)}
		if k == Time {
			opts.Actions.MonotonicOffset = time.Second
		}
		if msg := l.trial(opts); msg != "" {
			l.recordKindTrial(k, msg)
		}
	}
	return nil
}

// recordBaseTrial records the failed trial in a mount and a pid namespace:
// a refusal of this machine, stated by the runtime, makes the launcher
// n/a; anything else is its failure, which every set it expresses shows.
func (l *Launcher) recordBaseTrial(msg string) {
	if statesMachineRefused(msg) {
		l.Refused = fmt.Sprintf("%s refused a container in a mount and a pid namespace: %s%s", l.Name, msg, diagnoseRefusal(msg))
		return
	}
	l.Broken = msg
}

// recordKindTrial records the failed trial with kind k: a kind the
// runtime says it cannot make is refused, and the sets holding it n/a;
// any other failure breaks them, since the trial ran the same bundle
// code the sets do and may have found a fault of that code.
func (l *Launcher) recordKindTrial(k Kind, msg string) {
	if statesKindRefused(msg, k) {
		if l.refusedKinds == nil {
			l.refusedKinds = map[Kind]string{}
		}
		l.refusedKinds[k] = msg
		return
	}
	if l.brokenKinds == nil {
		l.brokenKinds = map[Kind]string{}
	}
	l.brokenKinds[k] = msg
}

// trial runs the probe's pid observation in a container as opts ask, and
// returns what went wrong, in the runtime's words where it gave some; ""
// when the probe's report came back.
func (l *Launcher) trial(opts Options) string {
	ctx, cancel := context.WithTimeout(context.Background(), launcherTrialTimeout)
	defer cancel()
	b, err := l.newBundle(opts, []string{"pid"}, "", 0)
	if err != nil {
		return err.Error()
	}
	defer b.remove()
	cmd := exec.CommandContext(ctx, b.argv[0], b.argv[1:]...)
	cmd.Env = []string{}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if err == nil {
		if _, derr := probes.DecodeReport(&stdout); derr != nil {
			return "its container printed no report: " + derr.Error()
		}
		return ""
	}
	// A runtime says why on stderr, or failing that (crun, when its
	// container's init dies early) on stdout.
	for _, out := range []string{stderr.String(), stdout.String()} {
		if msg := runtimeMessage(out); msg != "" {
			return msg
		}
	}
	return err.Error() + ", with nothing on stderr or stdout"
}

// runcMessage finds the message in a line runc logs ("time=… level=error
// msg=\"…\"").
var runcMessage = regexp.MustCompile(`msg="((?:[^"\\]|\\.)*)"`)

// runtimeMessage is the last thing a runtime said on stderr, unquoted.
func runtimeMessage(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if m := runcMessage.FindStringSubmatch(last); m != nil {
		if s, err := strconv.Unquote(`"` + m[1] + `"`); err == nil {
			return s
		}
		return m[1]
	}
	return last
}

// diagnoseRefusal adds what nsverify makes of a runtime's refusal.
func diagnoseRefusal(msg string) string {
	if strings.Contains(msg, "hybrid") {
		return " (nsverify: this host mounts cgroup v1 controllers with cgroup v2 beside them, and this runtime runs containers only on a v1 or a unified v2 layout; boot with systemd.unified_cgroup_hierarchy=1 to run it)"
	}
	return ""
}

// ociBundle is one container's bundle and state: made for one run and
// removed after it.
type ociBundle struct {
	dir, state, id string
	argv           []string
	runtime        string
	// cgroupsPath is where the runtime puts the container: the caller's,
	// or one of the bundle's own, which remove takes away should the
	// runtime leave it (a container that failed to start may).
	cgroupsPath string
	ownCgroup   bool
}

// newBundle writes a bundle whose container runs the probe with args as
// opts ask, and returns the runtime command that runs it, passing
// preserveFDs descriptors from 3 on.
func (l *Launcher) newBundle(opts Options, args []string, cgroupsPath string, preserveFDs int) (*ociBundle, error) {
	dir, err := os.MkdirTemp("", "nsverify-bundle-")
	if err != nil {
		return nil, fmt.Errorf("make bundle: %w", err)
	}
	b := &ociBundle{dir: dir, state: filepath.Join(dir, "state"), id: "nsverify-" + randomHex(8), runtime: l.Path, cgroupsPath: cgroupsPath}
	if cgroupsPath == "" {
		b.cgroupsPath, b.ownCgroup = "/"+b.id, true
	}
	data, err := ociBundleConfig(opts, l.rootfs, args, ociCaps(), b.cgroupsPath)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("write bundle config: %w", err)
	}
	b.argv = []string{l.Path, "--root", b.state, "run", "--bundle", dir, "--preserve-fds", strconv.Itoa(preserveFDs), b.id}
	return b, nil
}

// remove deletes the container, should the runtime have left it, the
// bundle, and the bundle's own cgroup, should the runtime have left that
// (crun does, after a container that failed to start).
func (b *ociBundle) remove() {
	if _, err := os.Stat(filepath.Join(b.state, b.id)); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), launcherTrialTimeout)
		_ = exec.CommandContext(ctx, b.runtime, "--root", b.state, "delete", "-f", b.id).Run()
		cancel()
	}
	_ = os.RemoveAll(b.dir)
	if b.ownCgroup {
		removeCgroupEverywhere(b.cgroupsPath)
	}
}

// removeCgroupEverywhere removes the cgroup at path (as cgroupsPath names
// it) from every cgroup hierarchy mounted here, v1 and v2, where a runtime
// made it. A cgroup whose last process is still exiting is busy for a
// moment, so a removal is tried a few times.
func removeCgroupEverywhere(path string) {
	mounts, err := probes.ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, m := range mounts {
		if m.FSType != "cgroup" && m.FSType != "cgroup2" {
			continue
		}
		dir := filepath.Join(m.MountPoint, path)
		for try := 0; try < 20; try++ {
			err := unix.Rmdir(dir)
			if !errors.Is(err, unix.EBUSY) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// ociCaps names every capability in this process's bounding set that the
// probe knows: all a runtime started here can give (root here may lack
// some, and a runtime asked for more fails to start).
func ociCaps() []string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil
	}
	defer f.Close()
	caps, err := probes.ParseStatus(f)
	if err != nil {
		return nil
	}
	var known []string
	for c := 0; c < probes.KnownCaps; c++ {
		if slices.Contains(caps.Bnd, probes.CapName(c)) {
			known = append(known, probes.CapName(c))
		}
	}
	return known
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("spawn: read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// launcherArgv returns the command that starts probe with args through l in
// opts.Set, and what to undo after it.
func (l *Launcher) launcherArgv(opts Options, args []string) (argv []string, done func(), err error) {
	set := opts.Set
	if err := l.TrialFailure(set); err != nil {
		return nil, nil, err
	}
	switch l.Name {
	case LauncherUnshare:
		argv = []string{l.Path}
		for _, k := range set.Kinds() {
			argv = append(argv, unshareKindOption[k])
		}
		if set.Has(User) {
			if l.HasOption("--map-user") && l.HasOption("--map-group") {
				uid, gid := mapsOrCaller(opts)
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
		// asks for it there); elsewhere it keeps every set's probe a
		// child of unshare alike.
		if l.HasOption("--fork") {
			argv = append(argv, "--fork")
		}
		// --kill-child ends the probe with unshare. An unshare without it
		// (util-linux 2.23) leaves it to the rest: the probe is in
		// unshare's process group, which Run kills at its deadline, and
		// it waits for the host's answer to its hello before it acts,
		// which a host that is gone never gives (its end of the socket
		// closes, and the probe's read ends).
		if l.HasOption("--kill-child") {
			argv = append(argv, "--kill-child")
		}
		argv = append(argv, "--", opts.Probe)
		return append(argv, args...), func() {}, nil
	case LauncherBwrap:
		// The host's root, as it is: bwrap needs a root to build the
		// sandbox in, and the probe looks at namespaces, not files.
		argv = []string{l.Path, "--dev-bind", "/", "/"}
		for _, k := range set.Kinds() {
			switch k {
			case User:
				uid, gid := mapsOrCaller(opts)
				argv = append(argv, bwrapKindOption(User), "--uid", strconv.FormatUint(uint64(uid[0].Inside), 10), "--gid", strconv.FormatUint(uint64(gid[0].Inside), 10))
			case MNT:
			default:
				argv = append(argv, bwrapKindOption(k))
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
		return append(argv, args...), func() {}, nil
	case LauncherRunc, LauncherCrun:
		cgroupsPath := ""
		if opts.CgroupDir != "" {
			if cgroupsPath, err = cgroupPathOf(opts.CgroupDir); err != nil {
				return nil, nil, err
			}
		}
		b, err := l.newBundle(opts, args, cgroupsPath, 1)
		if err != nil {
			return nil, nil, err
		}
		return b.argv, b.remove, nil
	}
	return nil, nil, fmt.Errorf("start %s: not a launcher of its own program", l.Name)
}

// BareCommand returns the command that starts probe in set through l, with
// nothing else: no action, no hello. It measures what the launcher itself
// costs (the floor of a benchmark); done removes what it made.
func (l *Launcher) BareCommand(set Set, probe string) (argv []string, done func(), err error) {
	if l.Builtin() {
		return nil, nil, errors.New("bare command: the built-in launcher is a clone, not a program; clone the probe with the set's flags")
	}
	opts := Options{Probe: probe, Set: set}
	if err := l.TrialFailure(set); err != nil {
		return nil, nil, fmt.Errorf("bare command: %w", err)
	}
	if l.OCI() {
		opts.Probe = ociProbePath
		b, err := l.newBundle(opts, nil, "", 0)
		if err != nil {
			return nil, nil, err
		}
		return b.argv, b.remove, nil
	}
	return l.launcherArgv(opts, nil)
}

// cgroupPathOf returns the path of a cgroup v2 directory within its
// hierarchy, as an OCI runtime's cgroupsPath names it.
func cgroupPathOf(dir string) (string, error) {
	mounts, err := probes.ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, m := range mounts {
		if m.FSType != "cgroup2" {
			continue
		}
		if rel, err := filepath.Rel(m.MountPoint, dir); err == nil && !strings.HasPrefix(rel, "..") {
			return "/" + rel, nil
		}
	}
	return "", fmt.Errorf("find cgroup path: %s is under no cgroup v2 mount", dir)
}
