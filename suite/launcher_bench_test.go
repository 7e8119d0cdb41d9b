//go:build linux

package suite

import (
	"context"
	"io"
	"os/exec"
	"syscall"
	"testing"

	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/spawn/launchers"
)

// BenchmarkLaunchers measures, per launcher, over the sets it expresses on
// this machine:
//
//   - floor: the launcher's bare cost, its program starting the probe in
//     each set with nothing else (no action, no hello), output discarded;
//     for the built-in launcher, the bare clone and exec;
//   - matrix: what each matrix entry through that launcher does (the probe
//     with its actions, the hello, the host reads, every oracle).
//
// It reports both per pass and their ratio, which the matrix keeps near 1:
// a launcher's own start (tens of milliseconds for an OCI runtime)
// dominates, and the suite adds little to it. Run it as root with
//
//	NSVERIFY_LAUNCHER=all go test -run '^$' -bench Launchers -benchtime 3x ./suite
//
// (without NSVERIFY_LAUNCHER it measures every launcher too).
func BenchmarkLaunchers(b *testing.B) {
	runCleanups, _ := setUpBench(b)
	names := launchers.Names()
	if launcherEnvErr == nil && len(chosenLaunchers) > 1 {
		names = nil
		for _, c := range chosenLaunchers {
			names = append(names, c.name)
		}
	}
	ctx := context.Background()
	for _, name := range names {
		l, err := launchers.Find(name, "", probePath)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = l.Close() })
		b.Run(name, func(b *testing.B) {
			if l.Refused != "" {
				b.Skip(l.Refused)
			}
			var sets []spawn.Set
			for _, set := range spawn.PowerSet(spawn.All) {
				opts := PlanFor(set, NewMarkers())
				opts.Launcher = l
				if ok, _ := l.Expresses(opts); ok && presentAll(set) {
					sets = append(sets, set)
				}
			}
			var launcher *launchers.Launcher
			if !l.Builtin() {
				launcher = l
			}
			floor := func(set spawn.Set) { bareLaunch(b, l, set) }
			if l.Builtin() {
				floor = func(set spawn.Set) { bareExec(b, set) }
			}
			measureAgainstFloor(b, sets, floor, func(set spawn.Set) {
				VerifySet(ctx, set, launcher)
				runCleanups()
			})
		})
	}
}

// bareLaunch runs the probe in set through l's program and nothing else.
func bareLaunch(b *testing.B, l *launchers.Launcher, set spawn.Set) {
	argv, done, err := l.BareCommand(set, probePath)
	if err != nil {
		b.Fatal(err)
	}
	defer done()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		b.Fatalf("run the probe through %s in %s: %v", l.Name(), set, err)
	}
}
