package probes

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fixture opens testdata/name; the files there are copies of what the
// kernel prints (ids and keys changed), so no test here needs privilege.
func fixture(t *testing.T, name string) io.Reader {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return strings.NewReader(string(data))
}

// wantError checks err against a wanted substring; "" wants no error.
func wantError(t *testing.T, name string, err error, want string) bool {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: unexpected error %v", name, err)
		return false
	case want != "" && err == nil:
		t.Errorf("%s: no error, want one saying %q", name, want)
		return false
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("%s: error %q does not say %q", name, err, want)
		return false
	}
	return want == ""
}

func TestParseSysvIPC(t *testing.T) {
	cases := []struct {
		name    string
		in      io.Reader
		want    []IPCObject
		wantErr string
	}{
		{"msg with a negative key", fixture(t, "sysvipc_msg"), []IPCObject{{1353036913, 32777}, {4242, 32780}, {-2132465174, 32781}}, ""},
		{"msg header only", fixture(t, "sysvipc_msg_empty"), []IPCObject{}, ""},
		{"shm with IPC_PRIVATE", fixture(t, "sysvipc_shm"), []IPCObject{{611028439, 0}, {0, 1}}, ""},
		{"sem", fixture(t, "sysvipc_sem"), []IPCObject{{-1891247508, 0}}, ""},
		{"trailing blank line", strings.NewReader("key msqid perms\n  7  3 600\n\n"), []IPCObject{{7, 3}}, ""},
		{"empty", strings.NewReader(""), nil, "empty input"},
		{"no header", strings.NewReader("      4242      32780   600\n"), nil, "not the header"},
		{"short row", strings.NewReader("key msqid\n4242\n"), nil, "short row"},
		{"key beyond int32", strings.NewReader("key msqid\n4294967296 1\n"), nil, "parse sysvipc key"},
		{"id not a number", strings.NewReader("key msqid\n1 x\n"), nil, "parse sysvipc id"},
	}
	for _, c := range cases {
		got, err := ParseSysvIPC(c.in)
		if wantError(t, c.name, err, c.wantErr) && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseNetDev(t *testing.T) {
	cases := []struct {
		name    string
		in      io.Reader
		want    []string
		wantErr string
	}{
		{"host with a marker pair, long names unpadded", fixture(t, "net_dev"), []string{"eth0", "lo", "nsvh1a2b3c4d", "nsvp1a2b3c4d"}, ""},
		{"headers only", strings.NewReader("Inter-|   Receive |  Transmit\n face |bytes|bytes\n"), []string{}, ""},
		{"empty", strings.NewReader(""), nil, "0 lines"},
		{"not net/dev", strings.NewReader("key msqid perms\n4242 1 600\n"), nil, "not a header"},
		{"row without a name", strings.NewReader("a|b\nc|d\n  123 456\n"), nil, "no link name"},
	}
	for _, c := range cases {
		got, err := ParseNetDev(c.in)
		if wantError(t, c.name, err, c.wantErr) && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseIDMap(t *testing.T) {
	cases := []struct {
		name    string
		in      io.Reader
		want    []IDRange
		wantErr string
	}{
		{"host identity", fixture(t, "uid_map_host"), []IDRange{{0, 0, 4294967295}}, ""},
		{"rootless two ranges", fixture(t, "uid_map_rootless"), []IDRange{{0, 1000, 1}, {1, 100000, 65536}}, ""},
		{"never written", fixture(t, "uid_map_unwritten"), []IDRange{}, ""},
		{"two fields", strings.NewReader("0 0\n"), nil, "want 3 fields"},
		{"not a number", strings.NewReader("0 root 1\n"), nil, "parse id map"},
		{"beyond uint32", strings.NewReader("0 0 4294967296\n"), nil, "parse id map"},
		{"negative", strings.NewReader("-1 0 1\n"), nil, "parse id map"},
	}
	for _, c := range cases {
		got, err := ParseIDMap(c.in)
		if wantError(t, c.name, err, c.wantErr) && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseCgroup(t *testing.T) {
	cases := []struct {
		name    string
		in      io.Reader
		want    []string
		wantErr string
	}{
		{"v2 only", fixture(t, "cgroup_v2"), []string{"0::/user.slice/user-1000.slice/session-2.scope"}, ""},
		{"in a cgroup namespace", fixture(t, "cgroup_v2_namespaced"), []string{"0::/"}, ""},
		{"trimmed, blank lines dropped", strings.NewReader("  0::/a  \n\n"), []string{"0::/a"}, ""},
		{"colon in the path", strings.NewReader("0::/a:b\n"), []string{"0::/a:b"}, ""},
		{"no path", strings.NewReader("0::\n"), nil, "not hierarchy-id:controllers:/path"},
		{"one colon", strings.NewReader("0:/\n"), nil, "not hierarchy-id:controllers:/path"},
		{"hierarchy not a number", strings.NewReader("x::/\n"), nil, "hierarchy id"},
	}
	for _, c := range cases {
		got, err := ParseCgroup(c.in)
		if wantError(t, c.name, err, c.wantErr) && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}

	hybrid, err := ParseCgroup(fixture(t, "cgroup_hybrid"))
	if err != nil {
		t.Fatal(err)
	}
	if len(hybrid) != 10 {
		t.Errorf("hybrid: %d lines, want 10", len(hybrid))
	}
}

func TestCgroupPath(t *testing.T) {
	hybrid, err := ParseCgroup(fixture(t, "cgroup_hybrid"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := ParseCgroup(fixture(t, "cgroup_v2"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		lines      []string
		controller string
		want       string
		wantOK     bool
	}{
		{"v2 line of a hybrid host", hybrid, "", "/", true},
		{"v2 host", v2, "", "/user.slice/user-1000.slice/session-2.scope", true},
		{"named hierarchy", hybrid, "name=systemd", "/", true},
		{"single controller", hybrid, "memory", "/machine/vm-7", true},
		{"second of a list", hybrid, "cpuacct", "/machine/vm-7", true},
		{"first of a list", hybrid, "net_cls", "/", true},
		{"no such controller", hybrid, "hugetlb", "", false},
		{"v1 controller on a v2 host", v2, "memory", "", false},
		{"no v2 line", []string{"4:memory:/x"}, "", "", false},
		{"prefix is not a match", hybrid, "cpu,cpuacct", "", false},
		{"nothing", nil, "", "", false},
	}
	for _, c := range cases {
		got, ok := CgroupPath(c.lines, c.controller)
		if got != c.want || ok != c.wantOK {
			t.Errorf("%s: CgroupPath(%q) = %q, %v; want %q, %v", c.name, c.controller, got, ok, c.want, c.wantOK)
		}
	}
}

func TestParseCapEff(t *testing.T) {
	cases := []struct {
		name    string
		in      io.Reader
		want    string
		wantErr string
	}{
		{"root", fixture(t, "status_root"), "000001ffffffffff", ""},
		{"unprivileged", fixture(t, "status_user"), "0000000000000000", ""},
		{"no CapEff", strings.NewReader("Name:\tsh\nCapPrm:\t0000000000000000\n"), "", "no CapEff line"},
		{"not hex", strings.NewReader("CapEff:\tzz\n"), "", "not a 64-bit hex mask"},
		{"empty", strings.NewReader(""), "", "no CapEff line"},
	}
	for _, c := range cases {
		got, err := ParseCapEff(c.in)
		if wantError(t, c.name, err, c.wantErr) && got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseTimensOffsets(t *testing.T) {
	cases := []struct {
		name       string
		in         io.Reader
		mono, boot time.Duration
		wantErr    string
	}{
		{"no offsets", fixture(t, "timens_offsets_zero"), 0, 0, ""},
		{"a week and nine days", fixture(t, "timens_offsets_week"), 7 * 24 * time.Hour, 9 * 24 * time.Hour, ""},
		{"negative, normalised", fixture(t, "timens_offsets_negative"), -1500 * time.Millisecond, 1250 * time.Millisecond, ""},
		{"numbered clocks", strings.NewReader("1 10 0\n7 20 5\n"), 10 * time.Second, 20*time.Second + 5, ""},
		{"monotonic only", strings.NewReader("monotonic 3 0\n"), 3 * time.Second, 0, ""},
		{"empty", strings.NewReader(""), 0, 0, ""},
		{"unknown clock", strings.NewReader("realtime 1 0\n"), 0, 0, `unknown clock "realtime"`},
		{"two fields", strings.NewReader("monotonic 1\n"), 0, 0, "want 3 fields"},
		{"seconds not a number", strings.NewReader("monotonic x 0\n"), 0, 0, "seconds"},
		{"nanoseconds not a number", strings.NewReader("monotonic 1 x\n"), 0, 0, "nanoseconds"},
		{"nanoseconds out of range", strings.NewReader("monotonic 1 1000000000\n"), 0, 0, "out of range"},
		{"too many seconds", strings.NewReader("boottime 9223372036854775807 0\n"), 0, 0, "do not fit"},
	}
	for _, c := range cases {
		mono, boot, err := ParseTimensOffsets(c.in)
		if wantError(t, c.name, err, c.wantErr) && (mono != c.mono || boot != c.boot) {
			t.Errorf("%s: got %s, %s; want %s, %s", c.name, mono, boot, c.mono, c.boot)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	mounts, err := ParseMountinfo(fixture(t, "mountinfo_systemd"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 16 {
		t.Fatalf("%d mounts, want 16", len(mounts))
	}
	root := Mount{ID: 22, Parent: 1, MajorMinor: "252:1", Root: "/", MountPoint: "/", Options: "rw,relatime",
		Optional: []string{"shared:1"}, FSType: "ext4", Source: "/dev/vda1", SuperOptions: "rw,seclabel"}
	if !reflect.DeepEqual(mounts[0], root) {
		t.Errorf("root mount = %+v, want %+v", mounts[0], root)
	}
	escaped := mounts[12]
	if escaped.MountPoint != "/mnt/my files" || escaped.Root != "/alice/My Files" || escaped.Source != `alice@host:/srv/back\up` {
		t.Errorf("escapes not undone: %+v", escaped)
	}
	if escaped.FSType != "fuse.sshfs" || !reflect.DeepEqual(escaped.Optional, []string{"shared:302", "master:29"}) {
		t.Errorf("mount with two optional fields = %+v", escaped)
	}
	if m := findFS(mounts, "cgroup2"); m == nil || m.MountPoint != "/sys/fs/cgroup" {
		t.Errorf("cgroup2 mount = %+v, want one at /sys/fs/cgroup", m)
	}
	propagation := map[string]Propagation{
		"/": "shared", "/mnt/my files": "shared+slave", "/mnt/private": "private",
		"/mnt/slave": "slave", "/mnt/unbindable": "unbindable",
	}
	for _, m := range mounts {
		if want, ok := propagation[m.MountPoint]; ok && m.Propagation() != want {
			t.Errorf("%s: propagation %q, want %q", m.MountPoint, m.Propagation(), want)
		}
	}
	if mounts[13].Optional != nil {
		t.Errorf("a private mount has optional fields %q", mounts[13].Optional)
	}

	hybrid, err := ParseMountinfo(fixture(t, "mountinfo_hybrid"))
	if err != nil {
		t.Fatal(err)
	}
	if m := findFS(hybrid, "cgroup2"); m == nil || m.MountPoint != "/sys/fs/cgroup/unified" {
		t.Errorf("hybrid cgroup2 mount = %+v, want one at /sys/fs/cgroup/unified", m)
	}
	if m := hybrid[7]; m.MountPoint != "/sys/fs/cgroup/cpu,cpuacct" || m.SuperOptions != "rw,cpu,cpuacct" {
		t.Errorf("v1 mount = %+v", m)
	}

	child, err := ParseMountinfo(fixture(t, "mountinfo_child"))
	if err != nil {
		t.Fatal(err)
	}
	if len(child) != 4 || child[0].Propagation() != "private" || child[3].Parent != child[1].ID || child[3].Options != "rw,nosuid,nodev,noexec,relatime" {
		t.Errorf("child mounts = %+v", child)
	}
}

func findFS(mounts []Mount, fstype string) *Mount {
	for i := range mounts {
		if mounts[i].FSType == fstype {
			return &mounts[i]
		}
	}
	return nil
}

func TestParseMountinfoRejectsMalformedLines(t *testing.T) {
	cases := []struct{ name, in, wantErr string }{
		{"no separator", "22 1 252:1 / / rw,relatime shared:1 ext4 /dev/vda1 rw\n", "no \" - \" separator"},
		{"separator too early", "22 1 252:1 / - ext4 /dev/vda1 rw\n", "no \" - \" separator"},
		{"no source", "22 1 252:1 / / rw - ext4\n", "lacks the filesystem type or source"},
		{"id not a number", "x 1 252:1 / / rw - ext4 /dev/vda1 rw\n", "mount id"},
		{"parent not a number", "22 y 252:1 / / rw - ext4 /dev/vda1 rw\n", "parent id"},
	}
	for _, c := range cases {
		_, err := ParseMountinfo(strings.NewReader(c.in))
		wantError(t, c.name, err, c.wantErr)
	}
	got, err := ParseMountinfo(strings.NewReader(""))
	if err != nil || len(got) != 0 {
		t.Errorf("empty mountinfo: %v, %v", got, err)
	}
}

func TestDecodeReport(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"one report", `{"schema":2,"pid":1,"ppid":0,"hostname":"x","domainname":"","ns":{"uts":{"dev":4,"ino":4026532180}},"errors":{"proc":"mount proc: operation not permitted"}}` + "\n", ""},
		{"fields a newer probe added", `{"schema":2,"pid":7,"ns":{},"future":{"a":1}}`, ""},
		{"empty", "", "decode report: the probe printed nothing"},
		{"blank", " \n\t\n", "decode report: the probe printed nothing"},
		{"invalid JSON", `{"schema":2,`, "decode report: the probe printed invalid JSON"},
		{"not JSON at all", "nsprobe: unknown flag\n", "decode report: the probe printed invalid JSON"},
		{"two objects", `{"schema":2}` + "\n" + `{"schema":2}` + "\n", "decode report: the probe printed more than one JSON object"},
		{"trailing text", `{"schema":2} done`, "decode report: the probe printed more than one JSON object"},
		{"an array", `[{"schema":2}]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"newer schema", `{"schema":3,"pid":"now a string"}`, "decode report: schema 3, this reader knows 2; rebuild the probe"},
		{"no schema", `{"pid":1}`, "decode report: schema 0, this reader knows 2; rebuild the probe"},
		{"wrong field type", `{"schema":2,"pid":"one"}`, "does not fit this reader"},
		{"schema 1, before caps and owners", `{"schema":1,"pid":1,"ns":{}}`, "decode report: schema 1, this reader knows 2; rebuild the probe"},
		{"owner outside", `{"schema":2,"pid":1,"ns":{},"owners":{"uts":{"owner":"outside"},"user":{"owner":"outside","parent":"outside"},"pid":{"owner":{"dev":4,"ino":4026531837},"parent":"outside"}}}`, ""},
		{"owner neither outside nor an identity", `{"schema":2,"owners":{"uts":{"owner":"inside"}}}`, "does not fit this reader"},
	}
	for _, c := range cases {
		r, err := DecodeReport(strings.NewReader(c.in))
		if !wantError(t, c.name, err, c.wantErr) {
			continue
		}
		if r.Schema != Schema {
			t.Errorf("%s: schema %d", c.name, r.Schema)
		}
	}

	r, err := DecodeReport(strings.NewReader(cases[0].in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Report{Schema: 2, PID: 1, Hostname: "x", NS: map[string]NSID{"uts": {Dev: 4, Ino: 4026532180}},
		Errors: map[string]string{"proc": "mount proc: operation not permitted"}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("decoded %+v, want %+v", r, want)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("pipe broke") }

func TestDecodeReportKeepsTheReadError(t *testing.T) {
	_, err := DecodeReport(failingReader{})
	if err == nil || !strings.Contains(err.Error(), "decode report: read: pipe broke") {
		t.Errorf("error %v does not carry the read error", err)
	}
}

func TestRootPropagation(t *testing.T) {
	for _, c := range []struct {
		mountinfo string
		want      Propagation
		found     bool
	}{
		{"1 0 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n", PropShared, true},
		{"1 0 8:1 / / rw shared:4 master:3 - ext4 /dev/sda1 rw\n", PropSharedSlave, true},
		// Two mounts at /: the last is on top and is the one seen.
		{"1 0 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n2 1 0:5 / / rw - tmpfs none rw\n", PropPrivate, true},
		{"2 1 0:5 / /tmp rw master:2 - tmpfs none rw\n", "", false},
	} {
		mounts, err := ParseMountinfo(strings.NewReader(c.mountinfo))
		if err != nil {
			t.Fatal(err)
		}
		got, found := RootPropagation(mounts)
		if got != c.want || found != c.found {
			t.Errorf("RootPropagation(%q) = %q, %v; want %q, %v", c.mountinfo, got, found, c.want, c.found)
		}
		if got.Shared() != (c.want == PropShared || c.want == PropSharedSlave) {
			t.Errorf("%q.Shared() = %v", got, got.Shared())
		}
	}
}

func TestNSIDText(t *testing.T) {
	ids := []KindNSID{{"mnt", NSID{Dev: 4, Ino: 4026531832}}, {"user", NSID{Dev: 4, Ino: 4026531837}}}
	text := FormatKindNSIDs(ids)
	if text != "mnt=4:4026531832,user=4:4026531837" {
		t.Fatalf("FormatKindNSIDs = %q", text)
	}
	back, err := ParseKindNSIDs(text)
	if err != nil || !reflect.DeepEqual(back, ids) {
		t.Fatalf("ParseKindNSIDs(%q) = %v, %v; want %v", text, back, err, ids)
	}
	for _, bad := range []string{"mnt", "mnt=4", "mnt=4:x", "mnt=:1", "mnt=4:1,"} {
		if _, err := ParseKindNSIDs(bad); err == nil {
			t.Errorf("ParseKindNSIDs(%q) took it", bad)
		}
	}
	if id, err := ParseNSID(ids[0].ID.String()); err != nil || id != ids[0].ID {
		t.Errorf("ParseNSID(String()) = %v, %v", id, err)
	}
}

func TestMountPropagation(t *testing.T) {
	for opt, want := range map[string]Propagation{
		"":                          "private",
		"shared:1":                  "shared",
		"master:3":                  "slave",
		"master:3 propagate_from:2": "slave",
		"shared:4 master:3":         "shared+slave",
		"unbindable":                "unbindable",
	} {
		if got := (Mount{Optional: strings.Fields(opt)}).Propagation(); got != want {
			t.Errorf("propagation of %q = %q, want %q", opt, got, want)
		}
	}
}
