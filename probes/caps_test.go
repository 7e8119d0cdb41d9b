package probes

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	docker := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"}
	yes, no, one, zero := true, false, 1, 0
	cases := []struct {
		name    string
		in      io.Reader
		want    *Caps
		wantErr string
	}{
		{"root", fixture(t, "status_root"), &Caps{Inh: []string{}, Prm: capNames, Eff: capNames, Bnd: capNames, Amb: []string{}, NoNewPrivs: &no, Seccomp: "disabled", SeccompFilters: &zero}, ""},
		{"unprivileged", fixture(t, "status_user"), &Caps{Inh: []string{}, Prm: []string{}, Eff: []string{}, Bnd: capNames, Amb: []string{}, NoNewPrivs: &no, Seccomp: "disabled", SeccompFilters: &zero}, ""},
		{"container with a filter", fixture(t, "status_container"), &Caps{Inh: []string{}, Prm: docker, Eff: docker, Bnd: docker, Amb: []string{}, NoNewPrivs: &yes, Seccomp: "filter", SeccompFilters: &one}, ""},
		{"kernel without NoNewPrivs and Seccomp_filters", fixture(t, "status_linux4_4"), &Caps{Inh: []string{}, Prm: capNames[:38], Eff: capNames[:38], Bnd: capNames[:38], Amb: []string{}, Seccomp: "disabled"}, ""},
		{"no CapAmb", strings.NewReader("CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t0\n"), nil, "no CapAmb line"},
		{"empty", strings.NewReader(""), nil, "no CapInh line"},
		{"not hex", strings.NewReader("CapEff:\tzz\n"), nil, "CapEff \"zz\" is not a 64-bit hex mask"},
		{"bad NoNewPrivs", strings.NewReader("NoNewPrivs:\tmaybe\n"), nil, "NoNewPrivs \"maybe\" is not 0 or 1"},
		{"bad Seccomp", strings.NewReader("Seccomp:\t3\n"), nil, "Seccomp \"3\" is not a mode"},
		{"bad Seccomp_filters", strings.NewReader("Seccomp_filters:\t-1\n"), nil, "Seccomp_filters \"-1\" is not a count"},
	}
	for _, c := range cases {
		got, err := ParseStatus(c.in)
		if wantError(t, c.name, err, c.wantErr) && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestParseStatusNamesUnknownBits(t *testing.T) {
	got, err := ParseStatus(fixture(t, "status_future_cap"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CAP_CHOWN", "cap_41"}; !reflect.DeepEqual(got.Eff, want) {
		t.Errorf("eff %v, want %v", got.Eff, want)
	}
	if n := len(got.Bnd); n != 42 || got.Bnd[41] != "cap_41" || got.Bnd[40] != "CAP_CHECKPOINT_RESTORE" {
		t.Errorf("bnd has %d names ending %v, want 42 ending CAP_CHECKPOINT_RESTORE cap_41", n, got.Bnd[n-2:])
	}
}

func TestCapName(t *testing.T) {
	for n, want := range map[int]string{0: "CAP_CHOWN", 21: "CAP_SYS_ADMIN", 24: "CAP_SYS_RESOURCE", 40: "CAP_CHECKPOINT_RESTORE", 41: "cap_41", 63: "cap_63"} {
		if got := CapName(n); got != want {
			t.Errorf("CapName(%d) = %q, want %q", n, got, want)
		}
	}
	if KnownCaps != 41 {
		t.Errorf("KnownCaps = %d, want 41 (CAP_LAST_CAP 40 since Linux 5.9)", KnownCaps)
	}
}

func TestParseLSMLabel(t *testing.T) {
	for name, want := range map[string]string{
		"attr_current_apparmor": "unconfined",
		"attr_current_selinux":  "system_u:system_r:unconfined_t:s0-s0:c0.c1023",
	} {
		got, err := ParseLSMLabel(fixture(t, name))
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestNSRefJSON(t *testing.T) {
	in := map[string]Ownership{
		"uts":  {Owner: &NSRef{ID: NSID{Dev: 4, Ino: 4026531837}}},
		"user": {Owner: &NSRef{Outside: true}, Parent: &NSRef{Outside: true}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"user":{"owner":"outside","parent":"outside"},"uts":{"owner":{"dev":4,"ino":4026531837}}}`
	if string(b) != want {
		t.Errorf("marshalled %s, want %s", b, want)
	}
	var out map[string]Ownership
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip gave %+v, want %+v", out, in)
	}
	if s := in["uts"].Owner.String() + " " + in["user"].Owner.String(); s != "4:4026531837 outside" {
		t.Errorf("String: %q", s)
	}
	var ref NSRef
	if err := json.Unmarshal([]byte(`"inside"`), &ref); err == nil || !strings.Contains(err.Error(), `want "outside"`) {
		t.Errorf("decoding \"inside\": %v, want an error naming the two forms", err)
	}
}

func TestParseNSpid(t *testing.T) {
	cases := []struct {
		name    string
		in      io.Reader
		want    []int
		wantErr string
	}{
		{"host", fixture(t, "status_root"), []int{4021}, ""},
		{"one level down", fixture(t, "status_container"), []int{48213, 7}, ""},
		{"kernel without NSpid", fixture(t, "status_linux4_4"), nil, ""},
		{"not a pid", strings.NewReader("NSpid:\t12\tx\n"), nil, "not a list of pids"},
		{"empty line", strings.NewReader("NSpid:\n"), nil, "empty NSpid"},
	}
	for _, c := range cases {
		got, err := ParseNSpid(c.in)
		if wantError(t, c.name, err, c.wantErr) && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCapsSummary(t *testing.T) {
	all := make([]string, KnownCaps)
	host := map[string]NSID{"user": {Dev: 4, Ino: InitialUserIno}}
	own := map[string]NSID{"user": {Dev: 4, Ino: 4026532184}}
	cases := []struct {
		name string
		r    *Report
		want string
	}{
		{"no report", nil, ""},
		{"no caps", &Report{NS: own}, ""},
		{"none", &Report{NS: own, Caps: &Caps{Eff: []string{}}}, "none"},
		{"host root without one", &Report{NS: host, Caps: &Caps{Eff: all[1:]}}, "host root (40/41)"},
		{"full in a new user namespace", &Report{NS: own, Caps: &Caps{Eff: all}}, "full in own userns"},
		{"some in a new user namespace", &Report{NS: own, Caps: &Caps{Eff: all[:3]}}, "3/41 in own userns"},
	}
	for _, c := range cases {
		if got := CapsSummary(c.r); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
