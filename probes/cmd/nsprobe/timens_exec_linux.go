//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// The launcher of -timens-exec unshares on the main thread: the offsets are
// written through /proc/self/timens_offsets, which is the main thread's
// time namespace for children, and the exec that enters it is done by the
// thread that unshared. Locking the main goroutine in an init function is
// what keeps it on the main thread; only a launcher pays for it.
func init() {
	for _, a := range os.Args[1:] {
		if a == "-timens-exec" || a == "--timens-exec" || strings.HasPrefix(a, "-timens-exec=") || strings.HasPrefix(a, "--timens-exec=") {
			runtime.LockOSThread()
			return
		}
	}
}

// execIntoTimens makes the time namespace -timens asks for and execs this
// binary again, in place, as the observer inside it.
//
// Since Linux 6.1 a task enters its time namespace for children when it
// execs, not only when it forks, and until then the new namespace has no
// process and takes offsets. So the launcher unshares it, writes the
// offsets and execs: one process and one exec fewer than the stage's fork
// of an observer, and the observer keeps the launcher's pid, which the
// caller started, cloned into whatever pid namespace the set has. Its
// threads never enter the new namespace (Go starts no thread from a locked
// thread, see init), and the exec ends them.
//
// The caller chooses this path only on kernels that have it; the observer
// still checks that it is in another time namespace than the launcher was.
// What fails before the exec leaves this process to observe in place and
// say why under clock, as the stage's launcher does.
func execIntoTimens(cfg *config, stdout, stderr io.Writer) int {
	if unix.Gettid() != unix.Getpid() {
		return observeInPlace(cfg, stdout, stderr, errors.New("unshare time namespace: the launcher is not on its main thread, whose time namespace for children timens_offsets sets"))
	}
	from, err := nsID("/proc/self/ns/time")
	if err != nil {
		return observeInPlace(cfg, stdout, stderr, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return observeInPlace(cfg, stdout, stderr, fmt.Errorf("find own binary: %w", err))
	}
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return observeInPlace(cfg, stdout, stderr, fmt.Errorf("unshare time namespace: %w", err))
	}
	offsets := offsetsText(cfg.monotonicOffset, cfg.boottimeOffset)
	if err := os.WriteFile("/proc/self/timens_offsets", []byte(offsets), 0); err != nil {
		return observeInPlace(cfg, stdout, stderr, fmt.Errorf("write timens_offsets: %w", err))
	}
	args := append([]string{os.Args[0]}, cfg.observerArgs()...)
	args = append(args, fmt.Sprintf("-timens-from=%d:%d", from.Dev, from.Ino), "-timens-exec")
	err = unix.Exec(exe, args, os.Environ())
	return observeInPlace(cfg, stdout, stderr, fmt.Errorf("exec the observer: %w", err))
}
