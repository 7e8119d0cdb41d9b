//go:build linux

package nsprobe

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// timensExecFailed says why the exec in place of -timens-exec did not
// happen; main then observes in place and says so under clock.
var timensExecFailed error

// The launcher of -timens-exec unshares, writes the offsets and execs from
// an init function, which the runtime runs on the main thread: the offsets
// go through /proc/self/timens_offsets, the main thread's time namespace
// for children, and the exec that enters it must come from the thread
// that unshared. It is also the cheapest point: nothing of main has run,
// and the exec ends fewer threads.
func init() {
	_, own := commandLine()
	cfg, err := parseArgs(own)
	if err != nil || !cfg.timens || !cfg.timensExec {
		return
	}
	timensExecFailed = execIntoTimens(cfg)
}

// execIntoTimens makes the time namespace -timens asks for and execs this
// binary again, in place, as the observer inside it. It returns only if
// that fails, with the reason.
//
// Since Linux 6.2 a task enters its time namespace for children when it
// execs, not only when it forks, and until then the new namespace has no
// process and takes offsets. So the launcher unshares it, writes the
// offsets and execs: one process and one exec fewer than the stage's fork
// of an observer, and the observer keeps the launcher's pid, which the
// caller started, cloned into whatever pid namespace the set has. The
// launcher's other threads never enter the new namespace, and the exec
// ends them. The same kernel change lets a task whose time namespace for
// children is not its own start threads, so a launcher whose write failed
// after the unshare can still observe in place.
//
// The caller chooses this path only on kernels that have it; the observer
// still checks that it is in another time namespace than the launcher was.
func execIntoTimens(cfg *config) error {
	if unix.Gettid() != unix.Getpid() {
		return errors.New("unshare time namespace: the launcher is not on its main thread, whose time namespace for children timens_offsets sets")
	}
	from, err := probes.StatNSID("/proc/self/ns/time")
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("unshare time namespace: %w", err)
	}
	offsets := probes.FormatTimensOffsets(cfg.monotonicOffset, cfg.boottimeOffset)
	if err := os.WriteFile("/proc/self/timens_offsets", []byte(offsets), 0); err != nil {
		return fmt.Errorf("write timens_offsets: %w", err)
	}
	lead, _ := commandLine()
	args := append(lead, cfg.observerArgs()...)
	args = append(args, "-"+probes.FlagTimensFrom+"="+from.String(), "-"+probes.FlagTimensExec)
	return fmt.Errorf("exec the observer: %w", unix.Exec(exe, args, os.Environ()))
}

// observeWithoutTimens is main's part of -timens-exec, reached only when
// the exec in place failed: an observer would read the host's clocks as if
// they were shifted ones, so this process observes and says why.
func observeWithoutTimens(cfg *config, stdout, stderr io.Writer) int {
	why := timensExecFailed
	if why == nil {
		why = errors.New("exec the observer: -timens-exec execs at start-up, and this run did not start with it")
	}
	return observeInPlace(cfg, stdout, stderr, why)
}
