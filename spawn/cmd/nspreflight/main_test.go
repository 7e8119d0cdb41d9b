package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/internal/kernelsim"
	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/spawn"
)

// machine is what Detect would find where exactly the kinds of can are
// creatable, each other kind failing with a reason that names it.
func machine(can spawn.Set) *spawn.Features {
	f := &spawn.Features{Exe: "nspreflight"}
	for _, k := range spawn.All.Kinds() {
		ks := spawn.KindSupport{Kind: k, Present: true, Creatable: can.Has(k), Limit: -1}
		if !ks.Creatable {
			ks.Reason = string(k) + ": cannot create " + string(k) + " namespaces (clone failed with EINVAL)"
		}
		f.Kinds = append(f.Kinds, ks)
	}
	return f
}

func TestRun(t *testing.T) {
	all, none := machine(spawn.All), machine(spawn.None)
	some := machine(spawn.SetOf(spawn.User, spawn.Net))
	broken := machine(spawn.None)
	broken.Error = "run nspreflight in no new namespace (the control child): exec format error"
	for _, tc := range []struct {
		name   string
		args   []string
		found  *spawn.Features
		want   int
		stdout string // what stdout holds
		stderr string // what stderr holds; "" for nothing at all
	}{
		{"every kind", nil, all, exitcode.Verified, "8 of 8 kinds can be created here.", ""},
		{"every kind, all required", []string{"-require", "all"}, all, exitcode.Verified, "8 of 8 kinds", ""},
		{"some kinds", nil, some, exitcode.Verified, "2 of 8 kinds", ""},
		{"some kinds, those required", []string{"-require", "user,net"}, some, exitcode.Verified, "2 of 8 kinds", ""},
		{"no kind", nil, none, exitcode.NothingVerified, "0 of 8 kinds",
			"nspreflight: exit 3 (nothing was verified: everything was skipped or not applicable): no namespace kind can be created here"},
		{"no kind, as JSON", []string{"-json"}, none, exitcode.NothingVerified, `"creatable": false`, "nspreflight: exit 3"},
		{"a required kind missing", []string{"-require", "uts+net"}, some, exitcode.Differs, "2 of 8 kinds",
			"nspreflight: exit 1 (a verdict differs from what was expected): required, but cannot be created here: uts (uts: cannot create uts namespaces (clone failed with EINVAL))"},
		{"required kinds where none can be made", []string{"-require", "all"}, none, exitcode.Differs, "0 of 8 kinds",
			"required, but cannot be created here: uts, ipc, pid, mnt, user, net, cgroup, time"},
		{"a detection that failed", nil, broken, exitcode.CouldNotVerify, "exec format error",
			"nspreflight: exit 2 (could not run or could not verify (bad usage included)): the detection failed, so no kind can be judged: "},
		{"an unknown flag", []string{"-bogus"}, all, exitcode.CouldNotVerify, "", "nspreflight: flag provided but not defined: -bogus\n\nusage: nspreflight"},
		{"an argument", []string{"uts"}, all, exitcode.CouldNotVerify, "", `nspreflight: unexpected argument "uts"`},
		{"a kind that does not exist", []string{"-require", "uts+pidfd"}, all, exitcode.CouldNotVerify, "", `nspreflight: -require: parse set "uts+pidfd"`},
		{"-require without kinds", []string{"-require"}, all, exitcode.CouldNotVerify, "", "flag needs an argument: -require"},
		{"help", []string{"-h"}, all, exitcode.Verified, "Exit status, the same codes as every nsverify command:", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			detected := false
			code := run(tc.args, &stdout, &stderr, false, func() (*spawn.Features, error) {
				detected = true
				return tc.found, nil
			})
			if code != tc.want || !strings.Contains(stdout.String(), tc.stdout) ||
				(tc.stderr == "") != (stderr.Len() == 0) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("nspreflight %s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q, stderr with %q",
					strings.Join(tc.args, " "), code, &stdout, &stderr, tc.want, tc.stdout, tc.stderr)
			}
			// Bad usage and -h end before anything is cloned.
			commandLineOnly := tc.want == exitcode.CouldNotVerify && tc.found.Error == "" || slices.Equal(tc.args, []string{"-h"})
			if detected == commandLineOnly {
				t.Errorf("detection ran: %v; want it to run for a command line that asks for it, only", detected)
			}
		})
	}
}

func TestRunSaysWhyItCouldNotDetect(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(nil, &stdout, &stderr, false, func() (*spawn.Features, error) {
		return nil, errors.New("find own executable: no such file or directory")
	})
	if code != exitcode.CouldNotVerify || stdout.Len() != 0 || stderr.String() != "nspreflight: find own executable: no such file or directory\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, &stdout, &stderr)
	}
}

// The binary, its path handed to the re-executed test in exeEnv, under a
// role named in roleEnv.
const (
	exeEnv       = "NSPREFLIGHT_TEST_EXE"
	roleEnv      = "NSPREFLIGHT_TEST_ROLE"
	refusingRole = "refusing"
	refusingDone = "refusing child: done"
)

// exitCode runs exe with args and returns its exit code and output.
func exitCode(t *testing.T, exe string, args ...string) (int, []byte, []byte) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), exe, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.Bytes(), stderr.Bytes()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.Bytes(), stderr.Bytes()
	}
	t.Fatalf("run %s: %v", exe, err)
	return 0, nil, nil
}

// TestTheCommandExitsWithItsVerdict runs the built command: on bad usage,
// on this machine, and under a seccomp filter that refuses every kind, as a
// kernel without namespaces would.
func TestTheCommandExitsWithItsVerdict(t *testing.T) {
	if os.Getenv(roleEnv) == refusingRole {
		refusingChild(t)
		return
	}
	if testing.Short() {
		t.Skip("builds the command")
	}
	exe, err := testbuild.Static(t.Context(), testbuild.Preflight)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testbuild.Remove(exe) })

	if code, _, stderr := exitCode(t, exe, "-require", "nope"); code != exitcode.CouldNotVerify || !bytes.Contains(stderr, []byte("usage: nspreflight")) {
		t.Errorf("bad usage: exit %d, stderr:\n%s", code, stderr)
	}

	// This machine, whatever it can do: the code is the one its own report
	// calls for.
	code, stdout, stderr := exitCode(t, exe, "-json", "-require", "all")
	var found spawn.Features
	if err := json.Unmarshal(stdout, &found); err != nil {
		t.Fatalf("nspreflight -json printed %s: %v", stdout, err)
	}
	if want, why := judge(&found, spawn.All); code != want {
		t.Errorf("this machine: exit %d, want %d (%s)\n%s", code, want, why, stderr)
	}
	t.Logf("this machine: exit %d %s", code, stderr)

	if err := kernelsim.Supported(); err != nil {
		t.Skip(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), roleEnv+"="+refusingRole, exeEnv+"="+exe)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(refusingDone)) {
		t.Fatalf("the child under the filter: %v\n%s", err, out)
	}
	t.Logf("the child said:\n%s", out)
}

// refusingChild installs a filter that refuses every namespace kind in
// this process, which the command inherits: with no kind to create it
// must say that nothing can be verified, and that a required kind is
// missing when one is required.
func refusingChild(t *testing.T) {
	exe := os.Getenv(exeEnv)
	if err := kernelsim.Refuse(uint32(spawn.All.CloneFlags())); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := exitCode(t, exe)
	if code != exitcode.NothingVerified || !bytes.Contains(stdout, []byte("0 of 8 kinds can be created here.")) ||
		!bytes.Contains(stderr, []byte("nspreflight: exit 3 ")) {
		t.Errorf("every kind refused: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := exitCode(t, exe, "-require", "uts"); code != exitcode.Differs || !bytes.Contains(stderr, []byte("required, but cannot be created here: uts (uts: ")) {
		t.Errorf("every kind refused, uts required: exit %d\n%s", code, stderr)
	}
	t.Log(refusingDone)
}
