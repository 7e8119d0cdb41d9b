package launchers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// An OCI runtime (runc, crun) is given a bundle, not options: a root
// holding the probe alone, with /proc and a tmpfs /dev mounted, the set's
// namespaces (mount always), maps and time offsets, every capability the
// caller may give, no seccomp filter, no masked paths and no LSM profile,
// so that root inside can do whatever the namespaces alone allow. It puts
// the container in a cgroup of its own making (linux.cgroupsPath), and
// hands the probe the hello socket with --preserve-fds 1. Find tries it
// once in a mount and a pid namespace, then once more with each other
// kind: a kind it says it cannot make is not expressible, in its words
// (ocirefusal.go reads them).

// ociNamespaceTypes are the names the OCI runtime specification gives the
// kinds in linux.namespaces.
var ociNamespaceTypes = map[spawn.Kind]specs.LinuxNamespaceType{
	spawn.UTS: specs.UTSNamespace, spawn.IPC: specs.IPCNamespace, spawn.PID: specs.PIDNamespace, spawn.MNT: specs.MountNamespace,
	spawn.User: specs.UserNamespace, spawn.Net: specs.NetworkNamespace, spawn.Cgroup: specs.CgroupNamespace, spawn.Time: specs.TimeNamespace,
}

// ociAlways are the kinds an OCI runtime makes whatever it is asked, with
// why.
var ociAlways = map[spawn.Kind]string{
	spawn.MNT: "always makes a mount namespace (an OCI container has a root of its own)",
}

// Why an OCI runtime cannot express a set beyond its tables (ociCannot
// says when).
const (
	ociUserWithoutPID = "an OCI runtime mounts /proc in the container, and the kernel lets a new user namespace mount /proc only for a pid namespace of its own"
	ociRootless       = " is run here without CAP_SYS_ADMIN in the initial user namespace; nsverify writes bundles for a runtime run as root"
)

// ociVersion is the specification version the bundles claim: that of runc
// 1.1 (spec 1.0.2-dev), which crun accepts too. specs.Version, the
// module's own, would claim more than the oldest runtime here knows.
const ociVersion = "1.0.2"

// ociProbePath is where the probe is in a bundle's root.
const ociProbePath = "/nsprobe"

// ociTrialTimeout bounds one trial run of an OCI runtime, and the removal
// of a container it left.
const ociTrialTimeout = 20 * time.Second

// ociRuntime is the program of the OCI runtime name: runc and crun are
// given the same bundle and the same command line.
func ociRuntime(name string) *program {
	return &program{
		pkg:     "package " + name,
		oci:     true,
		always:  ociAlways,
		cannot:  ociCannot,
		command: ociCommand,
		bare:    ociBare,
	}
}

// ociCannot: the runtime mounts /proc, which a new user namespace may do
// only for a pid namespace of its own; and nsverify writes bundles for a
// runtime run as root.
func ociCannot(l *Launcher, opts spawn.Options) string {
	if opts.Set.Has(spawn.User) && !opts.Set.Has(spawn.PID) {
		return ociUserWithoutPID
	}
	if l.rootless {
		return l.name + ociRootless
	}
	return ""
}

// ociCommand writes a bundle for opts and returns the runtime's command
// that runs it, in opts.CgroupDir when given, passing it descriptor 3.
func ociCommand(l *Launcher, opts spawn.Options, args []string) (*spawn.Command, error) {
	cgroupsPath := ""
	if opts.CgroupDir != "" {
		var err error
		if cgroupsPath, err = cgroupPathOf(opts.CgroupDir); err != nil {
			return nil, err
		}
	}
	b, err := l.newBundle(opts, args, cgroupsPath, 1)
	if err != nil {
		return nil, err
	}
	return &spawn.Command{Argv: b.argv, OwnCgroup: true, Done: b.remove}, nil
}

// ociBare writes a bundle for set with the probe and nothing else: no
// argument, no descriptor passed, the runtime's own cgroup.
func ociBare(l *Launcher, set spawn.Set, _ string) (*spawn.Command, error) {
	b, err := l.newBundle(spawn.Options{Probe: ociProbePath, Set: set}, nil, "", 0)
	if err != nil {
		return nil, err
	}
	return &spawn.Command{Argv: b.argv, OwnCgroup: true, Done: b.remove}, nil
}

// ociBundleConfig returns the config.json that starts the probe with args
// in opts.Set: the namespaces of the set (mount always), its id maps and
// time offsets, every capability the runtime may give (caps), no seccomp
// filter, no masked paths and no LSM profile, so that root inside can do
// whatever the namespaces alone allow and the oracles see the namespaces'
// effect, not a filter's. cgroupsPath, when not empty, is where the
// runtime puts the container.
func ociBundleConfig(opts spawn.Options, rootfs string, args []string, caps []string, cgroupsPath string) ([]byte, error) {
	c := specs.Spec{
		Version: ociVersion,
		Process: &specs.Process{
			Args: append([]string{ociProbePath}, args...),
			Env:  opts.Env,
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
		},
		Root: &specs.Root{Path: rootfs},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			// Device nodes the runtime makes go to a tmpfs, not to the
			// bundle's directory on disk, which every container shares.
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755", "size=64k"}},
		},
		Linux: &specs.Linux{CgroupsPath: cgroupsPath},
	}
	set := opts.Set.With(spawn.MNT)
	for _, k := range set.Kinds() {
		c.Linux.Namespaces = append(c.Linux.Namespaces, specs.LinuxNamespace{Type: ociNamespaceTypes[k]})
	}
	if set.Has(spawn.User) {
		uid, gid := opts.IDMaps()
		c.Linux.UIDMappings, c.Linux.GIDMappings = ociMappings(uid), ociMappings(gid)
	}
	if set.Has(spawn.Time) && (opts.Actions.MonotonicOffset != 0 || opts.Actions.BoottimeOffset != 0) {
		c.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
			"monotonic": ociOffset(opts.Actions.MonotonicOffset),
			"boottime":  ociOffset(opts.Actions.BoottimeOffset),
		}
	}
	data, err := json.MarshalIndent(c, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("encode bundle config: %w", err)
	}
	return data, nil
}

func ociMappings(maps []spawn.IDMap) []specs.LinuxIDMapping {
	out := make([]specs.LinuxIDMapping, len(maps))
	for i, m := range maps {
		out[i] = specs.LinuxIDMapping{ContainerID: m.Inside, HostID: m.Outside, Size: m.Count}
	}
	return out
}

// ociOffset splits d as timens_offsets wants it: seconds, and nanoseconds
// from 0 to 999999999 (so -1.5s is -2s and 500000000ns).
func ociOffset(d time.Duration) specs.LinuxTimeOffset {
	secs := int64(d / time.Second)
	ns := int64(d % time.Second)
	if ns < 0 {
		secs--
		ns += int64(time.Second)
	}
	return specs.LinuxTimeOffset{Secs: secs, Nanosecs: uint32(ns)}
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
func (l *Launcher) newBundle(opts spawn.Options, args []string, cgroupsPath string, preserveFDs int) (*ociBundle, error) {
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
		ctx, cancel := context.WithTimeout(context.Background(), ociTrialTimeout)
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
		panic(fmt.Sprintf("launchers: read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}
