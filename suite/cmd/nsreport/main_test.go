package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unzipFixture writes the matrixreport fixture name (a gzipped Ginkgo JSON
// report) to dir/<machine>/report.json, as scripts/run-suite.sh lays out
// reports, and returns its path.
func unzipFixture(t *testing.T, dir, name, machine string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "matrixreport", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, machine, "report.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func setRows(md string) int {
	n := 0
	for line := range strings.Lines(md) {
		if strings.HasPrefix(line, "| `") {
			n++
		}
	}
	return n
}

func TestMatrixThenCombine(t *testing.T) {
	dir := t.TempDir()
	centos := unzipFixture(t, dir, "el7.json.gz", "centos7")
	rocky := unzipFixture(t, dir, "modern.json.gz", "rocky9")
	md, js := filepath.Join(dir, "centos7", "matrix.md"), filepath.Join(dir, "centos7", "matrix.json")

	var stdout bytes.Buffer
	if err := run([]string{"matrix", "-in", centos, "-name", "centos7", "-md", md, "-json", js}, &stdout); err != nil {
		t.Fatal(err)
	}
	if stdout.Len() != 0 {
		t.Errorf("matrix wrote to stdout with -md and -json given: %q", stdout.String())
	}
	table, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if n := setRows(string(table)); n != 256 {
		t.Errorf("matrix.md has %d set rows, want 256", n)
	}
	if !strings.HasPrefix(string(table), "## nsverify matrix: centos7\n") {
		t.Errorf("matrix.md starts %q", string(table)[:40])
	}

	// With neither -md nor -json, the table goes to stdout; -kernel fills
	// in for a report without a "kernel" entry.
	stdout.Reset()
	if err := run([]string{"matrix", "-in", rocky, "-name", "rocky9", "-kernel", "5.14.0-503.el9.x86_64"}, &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "- kernel: `5.14.0-503.el9.x86_64` (given with -kernel)") || setRows(stdout.String()) != 256 {
		t.Errorf("matrix to stdout:\n%s", stdout.String()[:300])
	}

	// combine takes a matrix JSON and a Ginkgo report, naming the latter
	// after its directory.
	out := filepath.Join(dir, "combined.md")
	if err := run([]string{"combine", "-md", out, js, rocky}, &stdout); err != nil {
		t.Fatal(err)
	}
	combined, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(combined), "| set | centos7 | rocky9 | machines agree |") || setRows(string(combined)) != 256 {
		t.Errorf("combined.md:\n%s", string(combined)[:600])
	}
}

func TestBadInputSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	junit := filepath.Join(dir, "report.xml")
	if err := os.WriteFile(junit, []byte(`<?xml version="1.0"?><testsuites/>`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args  []string
		usage bool
		says  []string
	}{
		{[]string{}, true, []string{"no subcommand"}},
		{[]string{"tabulate"}, true, []string{`unknown subcommand "tabulate"`}},
		{[]string{"matrix"}, true, []string{"-in is required"}},
		{[]string{"matrix", "-in"}, true, []string{"flag needs an argument"}},
		{[]string{"matrix", "-in", "a.json", "b.json"}, true, []string{`unexpected argument "b.json"`}},
		{[]string{"combine"}, true, []string{"no input"}},
		{[]string{"matrix", "-in", filepath.Join(dir, "missing.json")}, false, []string{"no such file", "--json-report=" + filepath.Join(dir, "missing.json")}},
		{[]string{"matrix", "-in", junit}, false, []string{junit, "not a Ginkgo JSON report", "JUnit", "--json-report"}},
		{[]string{"combine", junit}, false, []string{junit, "not JSON", "nsreport matrix -json"}},
	}
	for _, tc := range cases {
		err := run(tc.args, io.Discard)
		if err == nil {
			t.Errorf("%q: no error", tc.args)
			continue
		}
		if errors.Is(err, errUsage) != tc.usage {
			t.Errorf("%q: usage error %v, want %v: %v", tc.args, !tc.usage, tc.usage, err)
		}
		for _, s := range tc.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%q: error %q should say %q", tc.args, err, s)
			}
		}
	}
}

func TestNameFromPath(t *testing.T) {
	cases := map[string]string{
		"reports/centos7/report.json": "centos7",
		"reports/rocky9/matrix.json":  "rocky9",
		"ubuntu-24.04.json":           "ubuntu-24.04",
		"report.json":                 "report",
	}
	for path, want := range cases {
		if got := nameFromPath(path); got != want {
			t.Errorf("nameFromPath(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestLaunchers: a real run of every launcher's matrix as root (fixture
// launchers.json.gz) lists its launchers, gives each launcher's matrix, and
// combines into one table with a column per launcher, the built-in first.
func TestLaunchers(t *testing.T) {
	dir := t.TempDir()
	in := unzipFixture(t, dir, "launchers.json.gz", "vm")
	var out bytes.Buffer
	if err := run([]string{"launchers", "-in", in}, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out.String()); strings.Join(got, ",") != "go,unshare,bwrap,runc,crun" {
		t.Errorf("launchers: %v", got)
	}
	out.Reset()
	if err := run([]string{"matrix", "-in", in, "-launcher", "runc", "-name", "vm"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- launcher: `runc` (runc version", "256 sets: 48 passed, 0 failed, 0 skipped, 208 n/a"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("runc's matrix lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run([]string{"combine", in}, &out); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	for _, want := range []string{
		"## nsverify launchers: vm",
		"| set | go | unshare | bwrap | runc | crun |",
		"| `uts+mnt` | `I S S I S S S S` | `I S S I S S S S` | `I S S I S S S S` | `I S S I S S S S` | n/a [",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("combined table lacks %q:\n%.3000s", want, md)
		}
	}
	if setRows(md) != 256+5 {
		t.Errorf("combined table has %d rows starting with a code span, want 256 sets and 5 launchers", setRows(md))
	}
	if strings.Contains(md, "**`") {
		t.Errorf("a cell differs from the built-in launcher's in a run where all agreed:\n%.2000s", md)
	}
	if err := run([]string{"matrix", "-in", in, "-launcher", "docker"}, &out); err == nil || !strings.Contains(err.Error(), "go, unshare, bwrap, runc, crun") {
		t.Errorf("a launcher the report lacks: %v", err)
	}
}
