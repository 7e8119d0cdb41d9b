package check

import (
	"slices"
	"strings"
	"testing"
)

func TestParseExpectKinds(t *testing.T) {
	for in, want := range map[string][]string{
		"net,ipc":  {"ipc", "net"},
		"uts+pid":  {"uts", "pid"},
		"none":     {},
		"all":      {"uts", "ipc", "pid", "mnt", "user", "net", "cgroup", "time"},
		"net, pid": {"pid", "net"},
		"foo":      nil,
	} {
		e, err := ParseExpectKinds(in)
		if want == nil {
			if err == nil {
				t.Errorf("%q: accepted as %v, want an error", in, e.Isolated)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if !slices.Equal(e.Isolated, want) {
			t.Errorf("%q: %q, want %q", in, e.Isolated, want)
		}
	}
}

func TestParseExpectation(t *testing.T) {
	e, err := ParseExpectation(strings.NewReader(`{"isolated": ["net", "ipc"], "caps_absent": ["cap_sys_admin"], "seccomp": "filter", "no_new_privs": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Isolated, []string{"net", "ipc"}) || !slices.Equal(e.CapsAbsent, []string{"CAP_SYS_ADMIN"}) || e.Seccomp != "filter" || e.NoNewPrivs == nil || !*e.NoNewPrivs {
		t.Errorf("parsed %+v", e)
	}
	for text, want := range map[string]string{
		`{"isolated": ["net"], "seccom": "filter"}`:  "unknown field",
		`{"caps_absent": []}`:                        `no "isolated"`,
		`{"isolated": ["nett"]}`:                     "nett",
		`{"isolated": ["net", "net"]}`:               "twice",
		`{"isolated": [], "caps_absent": ["CAP_X"]}`: "CAP_X",
		`{"isolated": [], "seccomp": "on"}`:          "not a mode",
		`[`:                                          "parse expectation",
	} {
		_, err := ParseExpectation(strings.NewReader(text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", text, err, want)
		}
	}
}
