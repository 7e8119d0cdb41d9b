package scripts

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/nsverify/nsverify/internal/testreq"
	"github.com/nsverify/nsverify/spawn"
)

// nobody is the uid and gid the script runs as when the test runs as uid
// 0: the script changes the machine only as uid 0, so a mistake in its
// option handling cannot change anything here.
const nobody = 65534

// tree is a copy of what provision.sh reads (itself, the pinned sums and
// go.mod) in a directory every user can read, with sums in place of
// scripts/go.sha256 when not empty; it returns the script's path.
func tree(t *testing.T, sums string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nsverify-provision-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Mkdir(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"scripts/provision.sh", "scripts/go.sha256", "go.mod"} {
		data, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "scripts/go.sha256" && sums != "" {
			data = []byte(sums)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "scripts", "provision.sh")
}

// provision runs script with args and env (added to this process's), as
// nobody when this process is uid 0, and returns its exit code, stdout
// and stderr.
func provision(t *testing.T, script string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = "/"
	if os.Geteuid() == 0 {
		ids := []spawn.IDMap{{Inside: nobody, Outside: nobody, Count: 1}}
		testreq.Require(t)(spawn.ReadPrivilege().CanMapIDs(ids, ids))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run %s: %v", script, err)
	return 0, "", ""
}

func TestProvisionOptions(t *testing.T) {
	script := tree(t, "")
	for _, tc := range []struct {
		args         []string
		want         int
		stdout, errs string
	}{
		{[]string{"--help"}, 0, "--replace-go  replace a Go already in /usr/local/go", ""},
		{[]string{"-h"}, 0, "Exit status: 0 done, 1 a step failed, 2 bad usage (nothing was changed).", ""},
		// Help wins over what follows it, even a mistake.
		{[]string{"--help", "--bogus"}, 0, "--dry-run     say what would be done", ""},
		{[]string{"--bogus"}, 2, "", "provision: unknown option --bogus; nothing was changed\n\nPrepares a fresh machine"},
		{[]string{"--dry-run", "extra"}, 2, "", "provision: unknown option extra; nothing was changed"},
		{[]string{"--replace-go=yes"}, 2, "", "provision: unknown option --replace-go=yes"},
	} {
		code, stdout, stderr := provision(t, script, nil, tc.args...)
		if code != tc.want || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.errs) ||
			strings.Contains(stdout+stderr, "dry run") || strings.Contains(stdout+stderr, "run as root") {
			t.Errorf("provision.sh %s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q, stderr with %q, and nothing run",
				strings.Join(tc.args, " "), code, stdout, stderr, tc.want, tc.stdout, tc.errs)
		}
	}
	// Without --dry-run, only root may go on; the test is not root here.
	if code, _, stderr := provision(t, script, nil); code != 1 || !strings.Contains(stderr, "provision: run as root") {
		t.Errorf("provision.sh as nobody: exit %d, %s", code, stderr)
	}
}

// goArch is the word of Go's tarball names for this machine.
func goArch(t *testing.T) string {
	t.Helper()
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("provision.sh installs Go on amd64 and arm64 only, not %s", runtime.GOARCH)
	}
	return runtime.GOARCH
}

// installedGo is the version of the Go in /usr/local/go, "" if none runs.
// It is that Go's own: GOTOOLCHAIN=local keeps it from running another.
func installedGo() string {
	cmd := exec.Command("/usr/local/go/bin/go", "version")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	cmd.Dir = "/"
	out, err := cmd.Output()
	if f := strings.Fields(string(out)); err == nil && len(f) >= 3 {
		return f[2]
	}
	return ""
}

// TestProvisionGoIsCheckedAgainstThePinnedSum: a dry run names the sum of
// scripts/go.sha256 for the tarball it would fetch, and refuses a version
// that has none before anything else; a Go already in /usr/local/go stays
// unless --replace-go is given.
func TestProvisionGoIsCheckedAgainstThePinnedSum(t *testing.T) {
	arch := goArch(t)
	const fakeSum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	script := tree(t, "# test pins\n"+fakeSum+"  go1.99.1.linux-"+arch+".tar.gz\n")
	installed := installedGo()
	if installed == "go1.99.1" || installed == "go1.99.2" {
		t.Skipf("%s is in /usr/local/go, the version this test pretends to install", installed)
	}

	// Another version with a pinned sum: a dry run would fetch it, and
	// check it against that sum (replacing only with --replace-go).
	args := []string{"--dry-run"}
	if installed != "" {
		args = append(args, "--replace-go")
	}
	code, stdout, stderr := provision(t, script, []string{"GO_VERSION=1.99.1"}, args...)
	want := "provision: would download go1.99.1.linux-" + arch + ".tar.gz, check it against " + fakeSum + " (scripts/go.sha256)"
	if code != 0 || !strings.Contains(stdout, want) || !strings.HasSuffix(stdout, "provision: dry run: nothing was changed\n") {
		t.Errorf("provision.sh %s, GO_VERSION=1.99.1: exit %d\n%s%s\nwant %q", strings.Join(args, " "), code, stdout, stderr, want)
	}

	// A version without a pinned sum is refused before anything is done.
	code, stdout, stderr = provision(t, script, []string{"GO_VERSION=1.99.2"}, args...)
	want = "provision: no SHA-256 for go1.99.2.linux-" + arch + ".tar.gz in "
	if code != 1 || !strings.Contains(stderr, want) || strings.Contains(stdout, "would") {
		t.Errorf("provision.sh %s, GO_VERSION=1.99.2: exit %d\n%s%s\nwant exit 1 with %q before any step", strings.Join(args, " "), code, stdout, stderr, want)
	}

	if installed == "" {
		return
	}
	// The Go that is there stays without --replace-go, whichever version
	// is wanted, pinned or not, and the run says what it found.
	for _, version := range []string{"1.99.1", "1.99.2"} {
		code, stdout, stderr = provision(t, script, []string{"GO_VERSION=" + version}, "--dry-run")
		want = "provision: found " + installed + " in /usr/local/go, not go" + version + ": leaving it (--replace-go replaces it)"
		if code != 0 || !strings.Contains(stdout, want) || strings.Contains(stdout, "would download") {
			t.Errorf("provision.sh --dry-run, GO_VERSION=%s: exit %d\n%s%s\nwant %q", version, code, stdout, stderr, want)
		}
		if !strings.Contains(stdout, "provision: warning: go.mod asks for go"+version+" or newer; "+installed+" would have to download that toolchain") {
			t.Errorf("provision.sh --dry-run, GO_VERSION=%s: no warning that %s is older:\n%s", version, installed, stdout)
		}
	}
}

// TestTheRealPinsCoverGoMod: the version go.mod names has a pinned sum for
// each architecture provision.sh installs on.
func TestTheRealPinsCoverGoMod(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile("go.sha256")
	if err != nil {
		t.Fatal(err)
	}
	version := ""
	for line := range strings.SplitSeq(string(mod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && (f[0] == "toolchain" || f[0] == "go" && version == "") {
			version = strings.TrimPrefix(f[1], "go")
		}
	}
	if strings.Count(version, ".") == 1 {
		version += ".0"
	}
	for _, arch := range []string{"amd64", "arm64"} {
		name := "go" + version + ".linux-" + arch + ".tar.gz"
		found := false
		for line := range strings.SplitSeq(string(sums), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[1] == name {
				found = len(f[0]) == 64 && strings.Trim(f[0], "0123456789abcdef") == ""
			}
		}
		if !found {
			t.Errorf("scripts/go.sha256 pins no SHA-256 (64 hex digits) for %s, the Go that go.mod names", name)
		}
	}
}

// fakeDpkgQuery answers dpkg-query -S as dpkg does, from OWNERS
// ("path=package ..."); a path it does not list belongs to no package.
const fakeDpkgQuery = `#!/bin/sh
[ "$1" = -S ] || exit 2
for pair in $OWNERS; do
	if [ "${pair%%=*}" = "$2" ]; then
		echo "${pair#*=}: $2"
		exit 0
	fi
done
echo "dpkg-query: no path found matching pattern $2" >&2
exit 1
`

// TestProvisionLeavesAnEnginesRuntime: a runc that a container engine's
// package owns, or one from no package, stays, and the distribution's is
// not installed over it; one that is missing would be installed, with
// apt-get told never to remove a package for it.
func TestProvisionLeavesAnEnginesRuntime(t *testing.T) {
	osRelease, err := os.ReadFile("/etc/os-release")
	if err != nil || !bytes.Contains(osRelease, []byte("\nID=debian")) && !bytes.Contains(osRelease, []byte("\nID=ubuntu")) {
		t.Skip("the runtimes' owners are asked of dpkg here: a Debian or Ubuntu machine only")
	}
	script := tree(t, "")
	bin := filepath.Join(filepath.Dir(script), "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"dpkg-query": fakeDpkgQuery, "runc": "#!/bin/sh\n", "crun": "#!/bin/sh\n"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runc, crun := filepath.Join(bin, "runc"), filepath.Join(bin, "crun")

	code, stdout, stderr := provision(t, script, []string{"PATH=" + bin + ":/usr/bin:/bin", "OWNERS=" + runc + "=containerd.io"}, "--dry-run")
	for _, want := range []string{
		"provision: runc: " + runc + " belongs to package containerd.io, a container engine's: leaving it, and not installing the distribution's runc over it\n",
		"provision: crun: " + crun + " belongs to no package (installed by hand?): leaving it, and not installing the distribution's crun\n",
	} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("runc of containerd.io, crun of no package: exit %d\n%s%s\nwant %q", code, stdout, stderr, want)
		}
	}
	if strings.Contains(stdout, "would install runc") || strings.Contains(stdout, "would install crun") {
		t.Errorf("a runtime already there would be installed:\n%s", stdout)
	}

	// Neither runtime on PATH: one that holds only what a dry run uses.
	for _, name := range []string{"runc", "crun"} {
		if err := os.Remove(filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"awk", "cat", "dirname", "grep", "head", "id", "readlink", "sed", "sort", "uname"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("a dry run needs %s: %v", tool, err)
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr = provision(t, script, []string{"PATH=" + bin}, "--dry-run")
	for _, want := range []string{
		"provision: would install runc: apt-get install -y -qq --no-install-recommends --no-remove runc\n",
		"provision: would install crun: apt-get install -y -qq --no-install-recommends --no-remove crun\n",
	} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("runc and crun missing: exit %d\n%s%s\nwant %q", code, stdout, stderr, want)
		}
	}
}
