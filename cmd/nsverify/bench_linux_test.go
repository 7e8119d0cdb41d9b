package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/nsverify/nsverify/internal/exitcode"
)

// What check adds to a sandbox's own start: the same `unshare -uipmn
// --fork` alone, running /bin/true, and under nsverify check with the
// probe, with and without canaries. The difference is the price of a
// check: building nothing, the hello, the host's reading of the probe,
// the probe's observations, the canaries planted and removed.

func BenchmarkCommandAlone(b *testing.B) {
	unshare := requireCommand(b, "unshare")
	requireCreate(b, isolatedByUnshare)
	for b.Loop() {
		cmd := exec.CommandContext(b.Context(), unshare, "-uipmn", "--fork", "/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("unshare -uipmn --fork /bin/true: %v\n%s", err, out)
		}
	}
}

func BenchmarkUnderCheck(b *testing.B) {
	benchmarkCheck(b)
}

func BenchmarkUnderCheckNoCanaries(b *testing.B) {
	benchmarkCheck(b, "--no-canaries")
}

func benchmarkCheck(b *testing.B, flags ...string) {
	requireCommand(b, "unshare")
	requireCreate(b, isolatedByUnshare)
	tmp := runDir(b)
	args := append(append([]string{"check", "--expect", "uts,ipc,pid,mnt,net"}, flags...), "--", "unshare", "-uipmn", "--fork", "{probe}", "{args}")
	env := append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TMPDIR=") }), "TMPDIR="+tmp)
	for b.Loop() {
		cmd := exec.CommandContext(b.Context(), nsverifyPath, args...)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); err != nil || code != exitcode.Verified {
			b.Fatalf("nsverify %s: exit %d (%v), want %d\n%s", strings.Join(args, " "), code, err, exitcode.Verified, out)
		}
	}
}
