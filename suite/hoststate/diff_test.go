package hoststate

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/probes"
)

// sample is a snapshot with something in every area.
func sample() *Snapshot {
	return &Snapshot{
		Hostname:   "build-7",
		Domainname: "(none)",
		SysvMsg:    []probes.IPCObject{{Key: 0x1234, ID: 5}},
		SysvShm:    []probes.IPCObject{{Key: 0, ID: 1}, {Key: -1, ID: 2}},
		SysvSem:    []probes.IPCObject{{Key: 0x51, ID: 9}},
		PosixMqueues: []string{
			"host-queue",
		},
		Links:      []string{"eth0", "lo"},
		NetnsFiles: []string{"cni-1"},
		Cgroups:    []string{"/sys/fs/cgroup/nsverify-aaaa"},
		Mountinfo: []string{
			"/ ext4 /dev/vda root=/ opts=rw,relatime super=rw prop=shared:1",
			"/proc proc proc root=/ opts=rw,nosuid super=rw prop=shared:12",
		},
		RootPropagation: "shared",
		Sysctls:         map[string]string{"user.max_user_namespaces": "640", "kernel.msgmni": "32000"},
		Children: []Process{
			{PID: 10, PPID: 1, State: "S", Comm: "ginkgo", StartTime: 100},
			{PID: 11, PPID: 10, State: "R", Comm: "suite.test", StartTime: 101},
		},
		Notes: []string{"no mqueue file system is mounted"},
	}
}

func TestDiffOfIdenticalSnapshotsIsEmpty(t *testing.T) {
	if d := Diff(sample(), sample()); d != nil {
		t.Errorf("Diff of two equal snapshots = %v, want none", d)
	}
	if d := Diff(&Snapshot{}, &Snapshot{}); d != nil {
		t.Errorf("Diff of two empty snapshots = %v, want none", d)
	}
	if d := Diff(nil, &Snapshot{Sysctls: map[string]string{}}); d != nil {
		t.Errorf("Diff of nil and an empty snapshot = %v, want none", d)
	}
}

func TestDiffReportsEveryArea(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *Snapshot)
		want   []string
	}{
		{"hostname changed", func(s *Snapshot) { s.Hostname = "nsverify-child" },
			[]string{`hostname: "build-7" → "nsverify-child"`}},
		{"hostname emptied", func(s *Snapshot) { s.Hostname = "" },
			[]string{`hostname: "build-7" → ""`}},
		{"domainname changed", func(s *Snapshot) { s.Domainname = "example.org" },
			[]string{`domainname: "(none)" → "example.org"`}},

		{"queue added", func(s *Snapshot) { s.SysvMsg = append(s.SysvMsg, probes.IPCObject{Key: 0x7abc, ID: 6}) },
			[]string{"sysvipc msg: + key 0x7abc id 6 (left behind)"}},
		{"queue removed", func(s *Snapshot) { s.SysvMsg = nil },
			[]string{"sysvipc msg: - key 0x1234 id 5 (removed)"}},
		{"queue made anew under the same key", func(s *Snapshot) { s.SysvMsg = []probes.IPCObject{{Key: 0x1234, ID: 32773}} },
			[]string{"sysvipc msg: - key 0x1234 id 5 (removed)", "sysvipc msg: + key 0x1234 id 32773 (left behind)"}},
		{"shared memory added", func(s *Snapshot) { s.SysvShm = append(s.SysvShm, probes.IPCObject{Key: -2, ID: 3}) },
			[]string{"sysvipc shm: + key 0xfffffffe id 3 (left behind)"}},
		{"shared memory removed", func(s *Snapshot) { s.SysvShm = s.SysvShm[1:] },
			[]string{"sysvipc shm: - key 0x0 id 1 (removed)"}},
		{"semaphore added", func(s *Snapshot) { s.SysvSem = append(s.SysvSem, probes.IPCObject{Key: 0x52, ID: 10}) },
			[]string{"sysvipc sem: + key 0x52 id 10 (left behind)"}},
		{"semaphore removed", func(s *Snapshot) { s.SysvSem = nil },
			[]string{"sysvipc sem: - key 0x51 id 9 (removed)"}},

		{"POSIX queue added", func(s *Snapshot) { s.PosixMqueues = append(s.PosixMqueues, "nsverify-q") },
			[]string{"posix mqueues: + nsverify-q (left behind)"}},
		{"POSIX queue removed", func(s *Snapshot) { s.PosixMqueues = nil },
			[]string{"posix mqueues: - host-queue (removed)"}},

		{"link added", func(s *Snapshot) { s.Links = []string{"eth0", "lo", "nsvh1234", "nsvp1234"} },
			[]string{"links: + nsvh1234 (left behind)", "links: + nsvp1234 (left behind)"}},
		{"link removed", func(s *Snapshot) { s.Links = []string{"lo"} },
			[]string{"links: - eth0 (removed)"}},
		{"link renamed", func(s *Snapshot) { s.Links = []string{"lo", "wan0"} },
			[]string{"links: - eth0 (removed)", "links: + wan0 (left behind)"}},

		{"netns added", func(s *Snapshot) { s.NetnsFiles = append(s.NetnsFiles, "nsverify-n") },
			[]string{"netns files: + nsverify-n (left behind)"}},
		{"netns removed", func(s *Snapshot) { s.NetnsFiles = nil },
			[]string{"netns files: - cni-1 (removed)"}},

		{"cgroup added", func(s *Snapshot) {
			s.Cgroups = append(s.Cgroups, "/sys/fs/cgroup/unified/nsverify-bbbb")
		}, []string{"cgroups: + /sys/fs/cgroup/unified/nsverify-bbbb (left behind)"}},
		{"cgroup removed", func(s *Snapshot) { s.Cgroups = nil },
			[]string{"cgroups: - /sys/fs/cgroup/nsverify-aaaa (removed)"}},

		{"mount added", func(s *Snapshot) {
			s.Mountinfo = append(s.Mountinfo, "/tmp/x tmpfs tmpfs root=/ opts=rw super=rw prop=private")
		}, []string{"mountinfo: + /tmp/x tmpfs tmpfs root=/ opts=rw super=rw prop=private (left behind)"}},
		{"same mount stacked again", func(s *Snapshot) {
			s.Mountinfo = append(s.Mountinfo, s.Mountinfo[1])
		}, []string{"mountinfo: + /proc proc proc root=/ opts=rw,nosuid super=rw prop=shared:12 (left behind)"}},
		{"mount removed", func(s *Snapshot) { s.Mountinfo = s.Mountinfo[:1] },
			[]string{"mountinfo: - /proc proc proc root=/ opts=rw,nosuid super=rw prop=shared:12 (removed)"}},
		{"root made private", func(s *Snapshot) {
			s.Mountinfo[0] = "/ ext4 /dev/vda root=/ opts=rw,relatime super=rw prop=private"
			s.RootPropagation = "private"
		}, []string{
			"mountinfo: - / ext4 /dev/vda root=/ opts=rw,relatime super=rw prop=shared:1 (removed)",
			"mountinfo: + / ext4 /dev/vda root=/ opts=rw,relatime super=rw prop=private (left behind)",
			`root propagation: "shared" → "private"`,
		}},

		{"sysctl changed", func(s *Snapshot) { s.Sysctls["user.max_user_namespaces"] = "0" },
			[]string{`sysctl user.max_user_namespaces: "640" → "0"`}},
		{"sysctl gone", func(s *Snapshot) { delete(s.Sysctls, "kernel.msgmni") },
			[]string{`sysctl kernel.msgmni: "32000" → "(absent)"`}},
		{"sysctl appeared", func(s *Snapshot) { s.Sysctls["/proc/sys/kernel/ns_last_pid"] = "4242" },
			[]string{`sysctl /proc/sys/kernel/ns_last_pid: "(absent)" → "4242"`}},

		{"child left running", func(s *Snapshot) {
			s.Children = append(s.Children, Process{PID: 12, PPID: 11, State: "S", Comm: "nsprobe", StartTime: 200})
		}, []string{"children: + pid 12 (nsprobe) ppid 11 state S (left behind)"}},
		{"child left a zombie", func(s *Snapshot) {
			s.Children = append(s.Children, Process{PID: 13, PPID: 11, State: "Z", Comm: "sh", StartTime: 201})
		}, []string{"children: + pid 13 (sh) ppid 11 state Z, a zombie (left behind)"}},
		{"child gone", func(s *Snapshot) { s.Children = s.Children[:1] },
			[]string{"children: - pid 11 (suite.test) ppid 10 state R (removed)"}},
		{"child became a zombie", func(s *Snapshot) { s.Children[1].State = "Z" },
			[]string{`children: "pid 11 (suite.test) ppid 10 state R" → "pid 11 (suite.test) ppid 10 state Z, a zombie"`}},
		{"child exec'd another program", func(s *Snapshot) { s.Children[1].Comm = "sleep" },
			[]string{`children: "pid 11 (suite.test) ppid 10 state R" → "pid 11 (sleep) ppid 10 state R"`}},
		{"pid reused by a later process", func(s *Snapshot) { s.Children[1].StartTime = 999 },
			[]string{
				"children: - pid 11 (suite.test) ppid 10 state R (removed)",
				"children: + pid 11 (suite.test) ppid 10 state R (left behind)",
			}},

		{"notes differ", func(s *Snapshot) { s.Notes = nil }, nil},
		{"child went from running to sleeping", func(s *Snapshot) { s.Children[1].State = "S" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := sample()
			tt.change(after)
			got := strs(Diff(sample(), after))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Diff:\n got %q\nwant %q", got, tt.want)
			}
			// Backwards, an addition is a removal and a change swaps sides.
			back := Diff(after, sample())
			if len(back) != len(tt.want) {
				t.Errorf("Diff backwards has %d changes, want %d: %q", len(back), len(tt.want), strs(back))
			}
		})
	}
}

func TestDiffOrdersAreasAndItems(t *testing.T) {
	after := sample()
	after.Hostname = "x"
	after.Links = []string{"a0", "eth0", "lo", "z9"}
	after.Children = nil
	after.Sysctls = map[string]string{}
	var areas []string
	for _, c := range Diff(sample(), after) {
		areas = append(areas, c.Area)
	}
	want := []string{
		"hostname", "links", "links",
		"sysctl kernel.msgmni", "sysctl user.max_user_namespaces",
		"children", "children",
	}
	if !slices.Equal(areas, want) {
		t.Errorf("areas in order %q, want %q", areas, want)
	}
}

func TestFormat(t *testing.T) {
	if got := Format(nil); got != "the host is unchanged" {
		t.Errorf("Format(nil) = %q", got)
	}
	after := sample()
	after.Hostname = "child"
	after.Links = append(after.Links, "nsvh1234")
	got := Format(Diff(sample(), after))
	want := "the host changed in 2 places:\n" +
		`  hostname: "build-7" → "child"` + "\n" +
		"  links: + nsvh1234 (left behind)"
	if got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	if got := Format([]Change{{Area: "links", Op: Removed, Before: "eth0"}}); !strings.HasPrefix(got, "the host changed in 1 place:\n") {
		t.Errorf("Format of one change = %q", got)
	}
}

func TestChangeJSON(t *testing.T) {
	in := Change{Area: "links", Op: Added, After: "nsvh1"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"area":"links","op":"+","after":"nsvh1"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var out Change
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("decoded %s as %+v (%v), want %+v", b, out, err, in)
	}
	if err := json.Unmarshal([]byte(`{"op":"?"}`), &out); err == nil {
		t.Error("an unknown op decoded without an error")
	}
}
