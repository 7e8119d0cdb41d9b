package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/internal/exitcode"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	// A real report (see internal/suiteexit/testdata/gen.sh), uncompressed.
	f, err := os.Open(filepath.Join("..", "..", "testdata", "missing-launcher.json.gz"))
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
	report := filepath.Join(dir, "report.json")
	notJSON := filepath.Join(dir, "report.xml")
	for path, data := range map[string][]byte{report: data, notJSON: []byte("<testsuites/>")} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		args         []string
		want         int
		stdout, errs string
	}{
		{[]string{"-in", report, "-status", "0"}, exitcode.NothingVerified,
			"matrix of crun: 0 passed, 0 failed, 0 skipped, 256 n/a, 0 not run; verified no set: ", ""},
		{[]string{"-in", report}, exitcode.NothingVerified, "exit 3 (nothing was verified: everything was skipped or not applicable): the matrix verified no set: crun 256 n/a", ""},
		{[]string{"-in", report, "-status", "2"}, exitcode.CouldNotVerify, "exit 2 (could not run or could not verify (bad usage included)): ginkgo exited with 2", ""},
		{[]string{"-in", notJSON}, exitcode.CouldNotVerify, "", "exit 2 (could not run or could not verify (bad usage included)): " + notJSON + ": decode Ginkgo report: not a Ginkgo JSON report (it looks like XML"},
		{[]string{"-in", filepath.Join(dir, "absent.json")}, exitcode.CouldNotVerify, "", "no such file or directory"},
		{nil, exitcode.CouldNotVerify, "", "suiteexit: give the report with -in, and nothing else"},
		{[]string{"-in", report, "extra"}, exitcode.CouldNotVerify, "", "suiteexit: give the report with -in, and nothing else"},
		{[]string{"-status", "x"}, exitcode.CouldNotVerify, "", `suiteexit: invalid value "x" for flag -status`},
		{[]string{"-h"}, exitcode.Verified, "usage: suiteexit -in report.json", ""},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.want || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.errs) {
			t.Errorf("suiteexit %s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q, stderr with %q",
				strings.Join(tc.args, " "), code, &stdout, &stderr, tc.want, tc.stdout, tc.errs)
		}
	}
}
