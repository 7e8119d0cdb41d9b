package launchers

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nsverify/nsverify/spawn"
)

// TestOCIBundleConfig checks the config.json written for a set: every kind
// of the set with mount always, the maps, the offsets split as the kernel
// takes them, the capabilities, the mounts, and the probe as the process.
func TestOCIBundleConfig(t *testing.T) {
	opts := spawn.Options{Set: spawn.SetOf(spawn.UTS, spawn.User, spawn.PID, spawn.Time), UIDMap: []spawn.IDMap{{Inside: 0, Outside: 1000, Count: 1}}, GIDMap: []spawn.IDMap{{Inside: 0, Outside: 1000, Count: 1}},
		Actions: spawn.Actions{MonotonicOffset: -1500 * time.Millisecond, BoottimeOffset: 9 * 24 * time.Hour}}
	caps := []string{"CAP_SYS_ADMIN"}
	c := decodeBundleConfig(t, opts, caps)
	var types []string
	for _, ns := range c.Linux.Namespaces {
		types = append(types, string(ns.Type))
	}
	if got := strings.Join(types, ","); got != "uts,pid,mount,user,time" {
		t.Errorf("namespaces %s", got)
	}
	if c.Linux.UIDMappings[0] != (specs.LinuxIDMapping{ContainerID: 0, HostID: 1000, Size: 1}) {
		t.Errorf("uid mappings %v", c.Linux.UIDMappings)
	}
	if m := c.Linux.TimeOffsets["monotonic"]; m.Secs != -2 || m.Nanosecs != 500000000 {
		t.Errorf("monotonic offset %+v, want -2 s and 500000000 ns", m)
	}
	if b := c.Linux.TimeOffsets["boottime"]; b.Secs != 9*24*3600 || b.Nanosecs != 0 {
		t.Errorf("boottime offset %+v", b)
	}
	if strings.Join(c.Process.Args, " ") != "/nsprobe -hostname x" || c.Root.Path != "/b/rootfs" || c.Linux.CgroupsPath != "/nsverify-oci-1" {
		t.Errorf("process %v, root %v, cgroups path %q", c.Process.Args, c.Root, c.Linux.CgroupsPath)
	}
	if c.Version != "1.0.2" || c.Process.Cwd != "/" || c.Process.User.UID != 0 || c.Process.NoNewPrivileges {
		t.Errorf("version %q, cwd %q, user %+v, no new privileges %v", c.Version, c.Process.Cwd, c.Process.User, c.Process.NoNewPrivileges)
	}
	pc := c.Process.Capabilities
	for name, got := range map[string][]string{"bounding": pc.Bounding, "effective": pc.Effective, "permitted": pc.Permitted} {
		if !slices.Equal(got, caps) {
			t.Errorf("%s capabilities %v, want %v", name, got, caps)
		}
	}
	if len(pc.Inheritable) != 0 || len(pc.Ambient) != 0 {
		t.Errorf("inheritable %v, ambient %v; want none", pc.Inheritable, pc.Ambient)
	}
	if len(c.Mounts) != 2 || c.Mounts[0].Destination != "/proc" || c.Mounts[0].Type != "proc" ||
		c.Mounts[1].Destination != "/dev" || c.Mounts[1].Type != "tmpfs" || !slices.Contains(c.Mounts[1].Options, "size=64k") {
		t.Errorf("mounts %+v", c.Mounts)
	}
	if c.Linux.Seccomp != nil || len(c.Linux.MaskedPaths) != 0 || c.Process.ApparmorProfile != "" || c.Process.SelinuxLabel != "" {
		t.Errorf("a filter, masked paths or an LSM profile: %+v", c.Linux)
	}
}

// TestOCIBundleConfigLeavesOutWhatTheSetDoesNotAsk: no maps without user,
// no offsets without time or without an offset, and mount even for the
// empty set.
func TestOCIBundleConfigLeavesOutWhatTheSetDoesNotAsk(t *testing.T) {
	for _, opts := range []spawn.Options{
		{Set: spawn.None, Actions: spawn.Actions{MonotonicOffset: time.Second}},
		{Set: spawn.SetOf(spawn.Time, spawn.Net)},
	} {
		c := decodeBundleConfig(t, opts, nil)
		var types []string
		for _, ns := range c.Linux.Namespaces {
			types = append(types, string(ns.Type))
		}
		want := "mount"
		if opts.Set.Has(spawn.Time) {
			want = "mount,network,time"
		}
		if got := strings.Join(types, ","); got != want {
			t.Errorf("%s: namespaces %s, want %s", opts.Set, got, want)
		}
		if c.Linux.UIDMappings != nil || c.Linux.GIDMappings != nil || c.Linux.TimeOffsets != nil {
			t.Errorf("%s: maps %v %v, offsets %v; want none", opts.Set, c.Linux.UIDMappings, c.Linux.GIDMappings, c.Linux.TimeOffsets)
		}
	}
}

// decodeBundleConfig writes the bundle config for opts and reads it back
// as a runtime would.
func decodeBundleConfig(t *testing.T, opts spawn.Options, caps []string) specs.Spec {
	t.Helper()
	data, err := ociBundleConfig(opts, "/b/rootfs", []string{"-hostname", "x"}, caps, "/nsverify-oci-1")
	if err != nil {
		t.Fatal(err)
	}
	var c specs.Spec
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if c.Process == nil || c.Root == nil || c.Linux == nil {
		t.Fatalf("config without process, root or linux: %s", data)
	}
	return c
}
