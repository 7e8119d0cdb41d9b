package suiteexit

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/internal/testbuild"
)

// fakeGo stands in for go on the PATH of scripts/run-suite.sh, so that the
// script runs from its options to its exit code without running the suite:
// "go build" copies the judge the test built, "go tool ginkgo" writes
// FAKE_REPORT (if set) as the report and exits with FAKE_STATUS, and
// "go run" (the matrix tables) prints nothing.
const fakeGo = `#!/bin/sh
case "$1" in
version) echo "go version (a stand-in)" ;;
build) cp "$FAKE_SUITEEXIT" "$3" ;;
tool)
	for a do
		case $a in --output-dir=*) dir=${a#--output-dir=} ;; esac
	done
	echo "a stand-in for ginkgo"
	[ -z "$FAKE_REPORT" ] || cp "$FAKE_REPORT" "$dir/report.json"
	exit "$FAKE_STATUS"
	;;
run) ;;
*) exit 99 ;;
esac
`

// scriptTree copies scripts/run-suite.sh into a directory of its own, so
// that the repository the script finds beside it has no suite to run, and
// returns the script's path and a PATH whose go is fakeGo.
func scriptTree(t *testing.T) (script, path string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "scripts", "run-suite.sh"))
	if err != nil {
		t.Fatal(err)
	}
	tree := t.TempDir()
	script = filepath.Join(tree, "scripts", "run-suite.sh")
	bin := filepath.Join(tree, "bin")
	for _, dir := range []string{filepath.Dir(script), bin} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(script, src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, bin + string(os.PathListSeparator) + os.Getenv("PATH")
}

// runScript runs the script with args and env, and returns its exit code
// and what it printed.
func runScript(t *testing.T, script string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("run %s: %v\n%s", script, err, out)
	return 0, ""
}

// gunzip writes the fixture name, uncompressed, into dir.
func gunzip(t *testing.T, name, dir string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".json")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunSuiteRefusesBadOptions: every option mistake exits 2 and says
// which, before anything runs; -h exits 0 with the usage, which lists the
// exit codes.
func TestRunSuiteRefusesBadOptions(t *testing.T) {
	script, path := scriptTree(t)
	// A stand-in that would leave a mark had anything been run.
	env := []string{"PATH=" + path, "FAKE_STATUS=0", "FAKE_REPORT=", "FAKE_SUITEEXIT=/nonexistent"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-x"}, "run-suite: unknown option -x"},
		{[]string{"-n"}, "run-suite: -n needs a value"},
		{[]string{"-o"}, "run-suite: -o needs a value"},
		{[]string{"extra"}, "run-suite: unexpected argument 'extra': ginkgo's flags go after --"},
		{[]string{"-k", "extra", "--", "--label-filter=matrix"}, "run-suite: unexpected argument 'extra'"},
	} {
		code, out := runScript(t, script, env, tc.args...)
		if code != exitcode.CouldNotVerify || !strings.Contains(out, tc.want) || strings.Contains(out, "a stand-in for ginkgo") {
			t.Errorf("run-suite.sh %s: exit %d\n%s\nwant exit 2 saying %q, having run nothing", strings.Join(tc.args, " "), code, out, tc.want)
		}
	}
	code, out := runScript(t, script, env, "-h")
	if code != exitcode.Verified || !strings.Contains(out, "3  nothing verified") || strings.Contains(out, "a stand-in for ginkgo") {
		t.Errorf("run-suite.sh -h: exit %d\n%s", code, out)
	}
}

// TestRunSuiteExitsWithTheReportsCode runs the script on the real reports
// of testdata, as ginkgo would have written them, and on none.
func TestRunSuiteExitsWithTheReportsCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the judge")
	}
	judge, err := testbuild.Static(t.Context(), "github.com/nsverify/nsverify/internal/suiteexit/cmd/suiteexit")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testbuild.Remove(judge) })
	script, path := scriptTree(t)
	fixtures := t.TempDir()
	for _, tc := range []struct {
		fixture   string // "" for no report
		status    int    // ginkgo's
		keepGoing bool
		want      int
		says      string
	}{
		{"mixed", 0, false, exitcode.Verified, "run-suite: exit 0 (verified as expected): 32 matrix sets verified; crun verified none"},
		{"lying", 1, false, exitcode.Differs, "run-suite: exit 1 (a verdict differs from what was expected): 8 failed"},
		{"timeout", 1, false, exitcode.CouldNotVerify, "run-suite: exit 2 (could not run or could not verify (bad usage included)): Ginkgo says: Suite Timeout Elapsed"},
		{"missing-launcher", 0, false, exitcode.NothingVerified, "run-suite: exit 3 (nothing was verified: everything was skipped or not applicable): the matrix verified no set: crun 256 n/a"},
		{"", 1, false, exitcode.CouldNotVerify, "run-suite: exit 2 (could not run): no report"},
		{"lying", 1, true, exitcode.Verified, "run-suite: -k: exiting 0 instead of 1"},
		{"missing-launcher", 0, true, exitcode.Verified, "run-suite: -k: exiting 0 instead of 3"},
		{"", 1, true, exitcode.CouldNotVerify, "run-suite: exit 2 (could not run): no report"},
		// A report that shows no failure from a ginkgo that failed.
		{"mixed", 1, false, exitcode.CouldNotVerify, "ginkgo exited with 1, yet its report shows no failure"},
	} {
		report := ""
		if tc.fixture != "" {
			report = gunzip(t, tc.fixture, fixtures)
		}
		env := []string{"PATH=" + path, "FAKE_SUITEEXIT=" + judge, "FAKE_REPORT=" + report, "FAKE_STATUS=" + strconv.Itoa(tc.status)}
		args := []string{"-n", "test", "-o", t.TempDir()}
		if tc.keepGoing {
			args = append(args, "-k")
		}
		code, out := runScript(t, script, env, args...)
		if code != tc.want || !strings.Contains(out, tc.says) || !strings.Contains(out, "a stand-in for ginkgo") {
			t.Errorf("run-suite.sh %s on %q, ginkgo exiting %d: exit %d\n%s\nwant exit %d saying %q",
				strings.Join(args[4:], " "), tc.fixture, tc.status, code, out, tc.want, tc.says)
		}
	}
}
