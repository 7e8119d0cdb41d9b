package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/internal/exitcode"
)

// marking is a command line that creates marker when it runs: a bad usage
// that still ran the command leaves the file behind. The probe's arguments
// go to sh as positional parameters, which the script ignores.
func marking(marker string, tail ...string) []string {
	return append([]string{"sh", "-c", `touch "$0"`, marker}, tail...)
}

// runDir makes a directory for a run's TMPDIR, removed after the test. Its
// name is short, unlike t.TempDir's, which holds the test's: the path of
// the hello socket nsverify makes below it must fit in a unix socket's
// address (108 bytes).
func runDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nsv-")
	if err != nil {
		t.Fatalf("make a TMPDIR for the run: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove the run's TMPDIR: %v", err)
		}
	})
	return dir
}

// runInProcess calls run with TMPDIR set to a directory of the test's own,
// and returns the exit code, what was printed and the entries nsverify
// left in TMPDIR.
func runInProcess(t *testing.T, args ...string) (code int, stdout, stderr string, left []string) {
	t.Helper()
	tmp := runDir(t)
	t.Setenv("TMPDIR", tmp)
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatalf("read TMPDIR: %v", err)
	}
	for _, e := range entries {
		left = append(left, e.Name())
	}
	return code, out.String(), errOut.String(), left
}

func TestBadUsageRunsNothingAndSaysWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	ociConfig := filepath.Join(dir, "config.json")
	if err := os.WriteFile(ociConfig, []byte(`{"process": {"args": ["{probe}", "{args}"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	misspelt := filepath.Join(dir, "expect.json")
	if err := os.WriteFile(misspelt, []byte(`{"isolated": ["net"], "isolatd": ["pid"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	good := marking(marker, "{probe}", "{args}")
	for _, tc := range []struct {
		name string
		args []string
		// why are the words the reason must hold: what was wrong.
		why []string
	}{
		{"no subcommand", nil, []string{"no subcommand given"}},
		{"an unknown subcommand", append([]string{"chek", "--"}, good...), []string{`unknown subcommand "chek"`}},
		{"an unknown kind to expect", append([]string{"check", "--expect", "foo", "--"}, good...), []string{"--expect", `"foo"`, "unknown namespace kind"}},
		{"--expect and --expect-file", append([]string{"check", "--expect", "net", "--expect-file", misspelt, "--"}, good...), []string{"--expect and --expect-file both given"}},
		{"--json and --markdown", append([]string{"check", "--json", "--markdown", "--"}, good...), []string{"--json and --markdown both given"}},
		{"an unknown flag", append([]string{"check", "--bogus", "--"}, good...), []string{"-bogus"}},
		{"no command", []string{"check", "--expect", "net"}, []string{"no command given"}},
		{"a command without {args}", append([]string{"check", "--"}, marking(marker, "{probe}")...), []string{"has no {args}"}},
		{"{args} inside a word", append([]string{"check", "--"}, marking(marker, "{probe}", "--probe-args={args}")...), []string{`"--probe-args={args}"`, "inside a word"}},
		{"--oci-config with {args} on the command line", append([]string{"check", "--oci-config", ociConfig, "--"}, marking(marker, "{bundle}", "{args}")...), []string{"--oci-config", "{args} goes in the config's process.args"}},
		{"an expectation file with an unknown field", append([]string{"check", "--expect-file", misspelt, "--"}, good...), []string{misspelt, `unknown field "isolatd"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr, left := runInProcess(t, tc.args...)
			if code != exitcode.CouldNotVerify {
				t.Errorf("exit %d, want %d (%s); stderr:\n%s", code, exitcode.CouldNotVerify, exitcode.Describe(exitcode.CouldNotVerify), stderr)
			}
			for _, w := range append(tc.why, "nothing was run") {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if stdout != "" {
				t.Errorf("stdout holds %q, want nothing", stdout)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Errorf("the command ran (%s is there: %v)", marker, err)
				_ = os.Remove(marker)
			}
			if len(left) > 0 {
				t.Errorf("TMPDIR holds %q: something was made", left)
			}
		})
	}
}

// TestTheMarkerShowsACommandThatRan is the control of the test above: the
// same command line, given correctly, runs and leaves its marker. Its
// probe never says hello (sh does not run it), so the check itself could
// not verify.
func TestTheMarkerShowsACommandThatRan(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("nsverify check runs commands on Linux only, and this is %s", runtime.GOOS)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	code, _, stderr, left := runInProcess(t, append([]string{"check", "--no-canaries", "--linger", "0s", "--"}, marking(marker, "{probe}", "{args}")...)...)
	if code != exitcode.CouldNotVerify || !strings.Contains(stderr, "never said hello") {
		t.Errorf("exit %d, want %d saying the probe never said hello; stderr:\n%s", code, exitcode.CouldNotVerify, stderr)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the command did not leave its marker: %v", err)
	}
	if len(left) > 0 {
		t.Errorf("TMPDIR holds %q after the check", left)
	}
}

func TestHelpListsTheExitCodes(t *testing.T) {
	for _, arg := range []string{"help", "--help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			code, stdout, stderr, _ := runInProcess(t, arg)
			if code != exitcode.Verified {
				t.Errorf("exit %d, want %d", code, exitcode.Verified)
			}
			if stderr != "" {
				t.Errorf("stderr holds %q, want nothing", stderr)
			}
			for c := exitcode.Verified; c <= exitcode.NothingVerified; c++ {
				if line := fmt.Sprintf("\n  %d  %s\n", c, exitcode.Describe(c)); !strings.Contains(stdout, line) {
					t.Errorf("the usage does not list exit code %d as %q:\n%s", c, strings.TrimSpace(line), stdout)
				}
			}
			for _, w := range []string{"nsverify check", "{probe}", "{args}", "{hello}", "{bundle}", "--expect", "--oci-config"} {
				if !strings.Contains(stdout, w) {
					t.Errorf("the usage does not mention %s", w)
				}
			}
		})
	}
}
