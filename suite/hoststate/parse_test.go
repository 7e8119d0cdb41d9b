package hoststate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/probes"
)

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParseSysvIPC(t *testing.T) {
	tests := []struct {
		file string
		want []probes.IPCObject
	}{
		{"sysvipc_msg.txt", []probes.IPCObject{{Key: -1919393099, ID: 1}, {Key: 1270099774, ID: 0}}},
		{"sysvipc_shm.txt", []probes.IPCObject{{Key: -1135021878, ID: 0}}},
		{"sysvipc_sem.txt", []probes.IPCObject{{Key: -29250659, ID: 0}}},
		{"sysvipc_empty.txt", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseSysvIPC(open(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if got := (probes.IPCObject{Key: -1919393099, ID: 1}).String(); got != "key 0x8d9862b5 id 1" {
		t.Errorf("String() = %q, want the key as ipcs prints it", got)
	}
}

func TestParseSysvIPCRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"       key      msqid perms\n42\n",
		"       key      msqid perms\nkey0 1 644\n",
		"       key      msqid perms\n42 one 644\n",
		"       key      msqid perms\n4294967296 1 644\n", // wider than a key
	} {
		if got, err := parseSysvIPC(strings.NewReader(in)); err == nil {
			t.Errorf("parseSysvIPC(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	mounts, err := parseMountinfo(open(t, "mountinfo_base.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 13 {
		t.Fatalf("got %d mounts, want 13", len(mounts))
	}
	root := mounts[0]
	want := mount{
		ID: 22, Parent: 1, MajorMinor: "253:1", Root: "/", MountPoint: "/", Options: "rw,relatime",
		Optional: []string{"shared:1"}, FSType: "ext4", Source: "/dev/mapper/vg-root", SuperOptions: "rw,errors=remount-ro",
	}
	if !equalMount(root, want) {
		t.Errorf("first mount = %+v, want %+v", root, want)
	}
	if got := line(root); got != "/ ext4 /dev/mapper/vg-root root=/ opts=rw,relatime super=rw,errors=remount-ro prop=shared:1" {
		t.Errorf("line() = %q", got)
	}
	bind := mounts[11]
	if bind.Root != "/srv/data" || bind.MountPoint != "/mnt/my data" {
		t.Errorf("bind mount = %+v, want root /srv/data at /mnt/my data (unescaped)", bind)
	}
}

func equalMount(a, b mount) bool {
	return a.ID == b.ID && a.Parent == b.Parent && a.MajorMinor == b.MajorMinor && a.Root == b.Root &&
		a.MountPoint == b.MountPoint && a.Options == b.Options && slices.Equal(a.Optional, b.Optional) &&
		a.FSType == b.FSType && a.Source == b.Source && a.SuperOptions == b.SuperOptions
}

func TestParseMountinfoRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"22 1 253:1 / / rw,relatime shared:1 ext4 /dev/vda rw\n", // no separator
		"22 1 253:1 / / - ext4 /dev/vda rw\n",                    // too few fields before it
		"22 1 253:1 / / rw - ext4\n",                             // too few after it
		"x 1 253:1 / / rw - ext4 /dev/vda rw\n",
		"22 y 253:1 / / rw - ext4 /dev/vda rw\n",
	} {
		if got, err := parseMountinfo(strings.NewReader(in)); err == nil {
			t.Errorf("parseMountinfo(%q) = %+v, want an error", in, got)
		}
	}
}

func table(t *testing.T, file string) mountTable {
	t.Helper()
	mt, err := readMountTable(open(t, file))
	if err != nil {
		t.Fatal(err)
	}
	return mt
}

func TestMountTable(t *testing.T) {
	base := table(t, "mountinfo_base.txt")
	if base.rootPropagation != "shared" {
		t.Errorf("root propagation = %q, want shared", base.rootPropagation)
	}
	if base.mqueue != "/dev/mqueue" {
		t.Errorf("mqueue mount = %q, want /dev/mqueue", base.mqueue)
	}
	if !slices.IsSorted(base.lines) {
		t.Errorf("lines are not sorted: %q", base.lines)
	}
	vm := table(t, "mountinfo_vm.txt")
	if vm.rootPropagation != "private" || vm.mqueue != "" || len(vm.lines) != 6 {
		t.Errorf("VM table: propagation %q, mqueue %q, %d lines; want private, none, 6",
			vm.rootPropagation, vm.mqueue, len(vm.lines))
	}
	if slave := table(t, "mountinfo_root_slave.txt"); slave.rootPropagation != "slave" {
		t.Errorf("root propagation = %q, want slave", slave.rootPropagation)
	}
}

// TestMountDiffOnFixtures checks that the normalised table catches what a
// run could do to the mounts, and nothing else.
func TestMountDiffOnFixtures(t *testing.T) {
	snap := func(file string) *Snapshot {
		mt := table(t, file)
		return &Snapshot{Mountinfo: mt.lines, RootPropagation: mt.rootPropagation}
	}
	base := snap("mountinfo_base.txt")
	tests := []struct {
		file string
		want []string
	}{
		{"mountinfo_base.txt", nil},
		{"mountinfo_renumbered.txt", nil},
		{"mountinfo_added.txt", []string{
			"mountinfo: + /tmp/nsverify-42 tmpfs tmpfs root=/ opts=rw,relatime super=rw,size=1024k,inode64 prop=shared:401 (left behind)",
		}},
		{"mountinfo_removed.txt", []string{
			"mountinfo: - /boot ext4 /dev/vda1 root=/ opts=rw,relatime super=rw prop=shared:30 (removed)",
		}},
		{"mountinfo_remounted.txt", []string{
			"mountinfo: - /home ext4 /dev/mapper/vg-home root=/ opts=rw,relatime super=rw prop=shared:31 (removed)",
			"mountinfo: + /home ext4 /dev/mapper/vg-home root=/ opts=ro,relatime super=rw prop=shared:31 (left behind)",
		}},
		{"mountinfo_root_private.txt", []string{
			"mountinfo: - / ext4 /dev/mapper/vg-root root=/ opts=rw,relatime super=rw,errors=remount-ro prop=shared:1 (removed)",
			"mountinfo: + / ext4 /dev/mapper/vg-root root=/ opts=rw,relatime super=rw,errors=remount-ro prop=private (left behind)",
			`root propagation: "shared" → "private"`,
		}},
		{"mountinfo_root_slave.txt", []string{
			"mountinfo: - / ext4 /dev/mapper/vg-root root=/ opts=rw,relatime super=rw,errors=remount-ro prop=shared:1 (removed)",
			"mountinfo: + / ext4 /dev/mapper/vg-root root=/ opts=rw,relatime super=rw,errors=remount-ro prop=master:1 (left behind)",
			"mountinfo: - /run tmpfs tmpfs root=/ opts=rw,nosuid,nodev,noexec,relatime super=rw,size=1632000k,mode=755,inode64 prop=shared:5 (removed)",
			"mountinfo: + /run tmpfs tmpfs root=/ opts=rw,nosuid,nodev,noexec,relatime super=rw,size=1632000k,mode=755,inode64 prop=unbindable (left behind)",
			`root propagation: "shared" → "slave"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := strs(Diff(base, snap(tt.file)))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Diff:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		file string
		want Process
	}{
		{"stat_cat.txt", Process{PID: 15558, PPID: 15552, Pgrp: 15552, State: "R", Comm: "cat", StartTime: 299921}},
		{"stat_parens.txt", Process{PID: 15561, PPID: 15552, Pgrp: 15552, State: "S", Comm: "a) (b c)", StartTime: 299921}},
		{"stat_zombie.txt", Process{PID: 15583, PPID: 15582, Pgrp: 15578, State: "Z", Comm: "sh", StartTime: 300367}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := parseStat(open(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"",
		"42 sleep S 1",
		"(sleep) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
		"x (sleep) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
		"42 (sleep) S 1 1 1",
		"42 (sleep) S one 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
		"42 (sleep) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 later 0 0",
	} {
		if got, err := parseStat(strings.NewReader(in)); err == nil {
			t.Errorf("parseStat(%q) = %+v, want an error", in, got)
		}
	}
}
