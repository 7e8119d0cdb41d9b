package spawn

import (
	"encoding/json"
	"fmt"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ociNamespaceTypes are the names the OCI runtime specification gives the
// kinds in linux.namespaces.
var ociNamespaceTypes = map[Kind]specs.LinuxNamespaceType{
	UTS: specs.UTSNamespace, IPC: specs.IPCNamespace, PID: specs.PIDNamespace, MNT: specs.MountNamespace,
	User: specs.UserNamespace, Net: specs.NetworkNamespace, Cgroup: specs.CgroupNamespace, Time: specs.TimeNamespace,
}

// ociVersion is the specification version the bundles claim: that of runc
// 1.1 (spec 1.0.2-dev), which crun accepts too. specs.Version, the
// module's own, would claim more than the oldest runtime here knows.
const ociVersion = "1.0.2"

// ociProbePath is where the probe is in a bundle's root.
const ociProbePath = "/nsprobe"

// ociBundleConfig returns the config.json that starts the probe with args
// in opts.Set: the namespaces of the set (mount always), its id maps and
// time offsets, every capability the runtime may give (caps), no seccomp
// filter, no masked paths and no LSM profile, so that root inside can do
// whatever the namespaces alone allow and the oracles see the namespaces'
// effect, not a filter's. cgroupsPath, when not empty, is where the
// runtime puts the container.
func ociBundleConfig(opts Options, rootfs string, args []string, caps []string, cgroupsPath string) ([]byte, error) {
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
	set := opts.Set.With(MNT)
	for _, k := range set.Kinds() {
		c.Linux.Namespaces = append(c.Linux.Namespaces, specs.LinuxNamespace{Type: ociNamespaceTypes[k]})
	}
	if set.Has(User) {
		uid, gid := mapsOrCaller(opts)
		c.Linux.UIDMappings, c.Linux.GIDMappings = ociMappings(uid), ociMappings(gid)
	}
	if set.Has(Time) && (opts.Actions.MonotonicOffset != 0 || opts.Actions.BoottimeOffset != 0) {
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

func ociMappings(maps []IDMap) []specs.LinuxIDMapping {
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
