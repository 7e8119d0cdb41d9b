package check

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestValidateCommand(t *testing.T) {
	for _, tc := range []struct {
		argv       []string
		withConfig bool
		wantErr    string
	}{
		{[]string{"unshare", "-n", "{probe}", "{args}"}, false, ""},
		{[]string{"runc", "run", "--bundle", "{bundle}", "x"}, true, ""},
		{nil, false, "no command given"},
		{[]string{"unshare", "{probe}"}, false, "has no {args}"},
		{[]string{"sh", "-c", "{probe} {args}"}, false, "inside a word"},
		{[]string{"runc", "run", "--bundle", "{bundle}", "{args}"}, true, "goes in the config"},
		{[]string{"runc", "run", "x"}, true, "needs {bundle}"},
		{[]string{"runc", "run", "--bundle", "{bundle}", "{probe}", "{args}"}, false, "none was given"},
	} {
		err := ValidateCommand(tc.argv, tc.withConfig)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.argv, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want one saying %q", tc.argv, err, tc.wantErr)
		}
	}
}

func TestExpandPutsTheArgsInPlaceAndThePathsInsideWords(t *testing.T) {
	got := Expand(
		[]string{"docker", "run", "-v", "{probe}:{probe}:ro", "-v", "{hello}:{hello}", "img", "{probe}", "{args}", "{bundle}"},
		"/usr/bin/nsverify", []string{"probe", "-hello-path", "/tmp/h"}, "/tmp/h", "/tmp/b")
	want := []string{"docker", "run", "-v", "/usr/bin/nsverify:/usr/bin/nsverify:ro", "-v", "/tmp/h:/tmp/h", "img", "/usr/bin/nsverify", "probe", "-hello-path", "/tmp/h", "/tmp/b"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestOCIConfigTemplate(t *testing.T) {
	text := []byte(`{"process": {"args": ["{probe}", "{args}"], "terminal": false},
		"root": {"path": "rootfs"},
		"mounts": [{"destination": "{hello}", "source": "{hello}", "type": "bind"}],
		"linux": {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}}`)
	if err := ValidateOCIConfig(text); err != nil {
		t.Fatal(err)
	}
	out, err := ExpandOCIConfig(text, "/srv/bundle", `/opt/ns"verify`, []string{"probe", "-hello-path", "/tmp/h"}, "/tmp/h")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Process struct{ Args []string } `json:"process"`
		Root    struct{ Path string }   `json:"root"`
		Mounts  []struct{ Destination string }
		Linux   struct {
			UIDMappings []struct {
				HostID uint32 `json:"hostID"`
			} `json:"uidMappings"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("expanded config is not JSON: %v\n%s", err, out)
	}
	if want := []string{`/opt/ns"verify`, "probe", "-hello-path", "/tmp/h"}; !slices.Equal(c.Process.Args, want) {
		t.Errorf("args %q, want %q", c.Process.Args, want)
	}
	if c.Root.Path != "/srv/bundle/rootfs" {
		t.Errorf("root.path %q, want it made absolute against the config's directory", c.Root.Path)
	}
	if len(c.Mounts) != 1 || c.Mounts[0].Destination != "/tmp/h" {
		t.Errorf("mounts %+v, want {hello} substituted", c.Mounts)
	}
	// Numbers pass through as they were written.
	if len(c.Linux.UIDMappings) != 1 || c.Linux.UIDMappings[0].HostID != 100000 {
		t.Errorf("uidMappings %+v, want the map kept", c.Linux.UIDMappings)
	}
}

func TestOCIConfigWithoutArgsIsRefused(t *testing.T) {
	for _, text := range []string{`{"process": {"args": ["sh"]}}`, `{}`, `not json`, `{"process": {"args": ["{probe} {args}"]}}`} {
		if err := ValidateOCIConfig([]byte(text)); err == nil {
			t.Errorf("%s: accepted, want an error", text)
		}
	}
}
