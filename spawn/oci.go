package spawn

import (
	"encoding/json"
	"fmt"
	"time"
)

// ociNamespaceTypes are the names the OCI runtime specification gives the
// kinds in linux.namespaces.
var ociNamespaceTypes = map[Kind]string{
	UTS: "uts", IPC: "ipc", PID: "pid", MNT: "mount", User: "user", Net: "network", Cgroup: "cgroup", Time: "time",
}

// ociConfig is the part of an OCI runtime config.json that nsverify writes.
type ociConfig struct {
	OCIVersion string     `json:"ociVersion"`
	Process    ociProcess `json:"process"`
	Root       ociRootFS  `json:"root"`
	Mounts     []ociMount `json:"mounts"`
	Linux      ociLinux   `json:"linux"`
}

type ociProcess struct {
	Terminal     bool           `json:"terminal"`
	User         ociUser        `json:"user"`
	Args         []string       `json:"args"`
	Env          []string       `json:"env"`
	Cwd          string         `json:"cwd"`
	Capabilities map[string]any `json:"capabilities"`
	NoNewPrivs   bool           `json:"noNewPrivileges"`
}

type ociUser struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
}

// ociRootFS is a bundle's root file system: a directory holding the probe
// alone, with the mount points it needs.
type ociRootFS struct {
	Path     string `json:"path"`
	Readonly bool   `json:"readonly"`
}

type ociMount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Options     []string `json:"options,omitempty"`
}

type ociLinux struct {
	Namespaces  []ociNamespace           `json:"namespaces"`
	UIDMappings []ociIDMapping           `json:"uidMappings,omitempty"`
	GIDMappings []ociIDMapping           `json:"gidMappings,omitempty"`
	TimeOffsets map[string]ociTimeOffset `json:"timeOffsets,omitempty"`
	CgroupsPath string                   `json:"cgroupsPath,omitempty"`
}

type ociNamespace struct {
	Type string `json:"type"`
}

type ociIDMapping struct {
	ContainerID uint32 `json:"containerID"`
	HostID      uint32 `json:"hostID"`
	Size        uint32 `json:"size"`
}

type ociTimeOffset struct {
	Secs     int64  `json:"secs"`
	Nanosecs uint32 `json:"nanosecs"`
}

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
	c := ociConfig{
		OCIVersion: "1.0.2",
		Process: ociProcess{
			Args: append([]string{ociProbePath}, args...),
			Env:  opts.Env,
			Cwd:  "/",
			Capabilities: map[string]any{
				"bounding": caps, "effective": caps, "permitted": caps, "inheritable": []string{}, "ambient": []string{},
			},
		},
		Root: ociRootFS{Path: rootfs},
		Mounts: []ociMount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			// Device nodes the runtime makes go to a tmpfs, not to the
			// bundle's directory on disk, which every container shares.
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755", "size=64k"}},
		},
		Linux: ociLinux{CgroupsPath: cgroupsPath},
	}
	if c.Process.Env == nil {
		c.Process.Env = []string{}
	}
	set := opts.Set.With(MNT)
	for _, k := range set.Kinds() {
		c.Linux.Namespaces = append(c.Linux.Namespaces, ociNamespace{Type: ociNamespaceTypes[k]})
	}
	if set.Has(User) {
		uid, gid := mapsOrCaller(opts)
		c.Linux.UIDMappings, c.Linux.GIDMappings = ociMappings(uid), ociMappings(gid)
	}
	if set.Has(Time) && (opts.Actions.MonotonicOffset != 0 || opts.Actions.BoottimeOffset != 0) {
		c.Linux.TimeOffsets = map[string]ociTimeOffset{
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

func ociMappings(maps []IDMap) []ociIDMapping {
	out := make([]ociIDMapping, len(maps))
	for i, m := range maps {
		out[i] = ociIDMapping{ContainerID: m.Inside, HostID: m.Outside, Size: m.Count}
	}
	return out
}

// ociOffset splits d as timens_offsets wants it: seconds, and nanoseconds
// from 0 to 999999999 (so -1.5s is -2s and 500000000ns).
func ociOffset(d time.Duration) ociTimeOffset {
	secs := int64(d / time.Second)
	ns := int64(d % time.Second)
	if ns < 0 {
		secs--
		ns += int64(time.Second)
	}
	return ociTimeOffset{Secs: secs, Nanosecs: uint32(ns)}
}
