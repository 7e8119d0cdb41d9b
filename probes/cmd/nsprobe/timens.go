//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// launchInTimeNamespace is the first stage of a two-stage launch. Offsets
// can only be written to a time namespace that no process has entered yet,
// and unshare(CLONE_NEWTIME) moves only the caller's future children into
// the new one. So the launcher unshares, writes the offsets, then starts
// its observer (this same binary without the launcher's flags), which is
// born inside, and hands on the observer's report with itself named in
// report.Launcher. It returns the exit code.
func launchInTimeNamespace(cfg *config, stdout, stderr io.Writer) int {
	// Namespaces belong to threads: the unshare, the offsets and the clone
	// of the observer must happen on one thread, the main one (see init).
	// It is never unlocked, so no other goroutine ever runs on a thread
	// whose children would land in the new time namespace.
	runtime.LockOSThread()
	if err := prepareTimeNamespace(cfg.monotonicOffset, cfg.boottimeOffset); err != nil {
		// Without the namespace an observer would read the host's clocks
		// as if they were shifted ones: observe here and say why.
		r := run(cfg)
		fail(r, "clock", err)
		if cfg.newPID {
			fail(r, "pid", errors.New("start observer: no new pid namespace, since the time namespace failed first"))
		}
		return emit(stdout, stderr, r)
	}

	cmd := exec.Command("/proc/self/exe", cfg.observerArgs()...)
	cmd.Env = os.Environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cfg.newPID {
		cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWPID
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "nsprobe: start observer in the new time namespace: %v\n", err)
		return 1
	}
	observerPID := cmd.Process.Pid
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			// The observer has said what went wrong on stderr.
			return exit.ExitCode()
		}
		fmt.Fprintf(stderr, "nsprobe: wait for observer %d: %v\n", observerPID, err)
		return 1
	}
	r, err := probes.DecodeReport(&out)
	if err != nil {
		fmt.Fprintf(stderr, "nsprobe: read observer report: %v\n", err)
		return 1
	}
	r.Launcher = &probes.Launcher{PID: os.Getpid(), ObserverPID: observerPID}
	return emit(stdout, stderr, r)
}

// The kernel has timens_offsets only per process, not per thread: a write
// to /proc/self/timens_offsets sets the offsets of the time namespace for
// children of the thread group leader, the main thread. So the launcher
// must unshare on the main thread, and init, which runs on it, locks the
// main goroutine there.
func init() { runtime.LockOSThread() }

// prepareTimeNamespace unshares a time namespace for the main thread's
// children and writes its offsets.
func prepareTimeNamespace(monotonic, boottime time.Duration) error {
	if tid, pid := unix.Gettid(), unix.Getpid(); tid != pid {
		return fmt.Errorf("unshare time namespace: on thread %d, not the main thread %d whose offsets /proc/self/timens_offsets sets", tid, pid)
	}
	if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
		return fmt.Errorf("unshare time namespace: %w", err)
	}
	f, err := os.OpenFile("/proc/self/timens_offsets", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open timens_offsets: %w", err)
	}
	defer f.Close()
	// One write: the kernel applies the lines of one write together.
	if _, err := f.WriteString(offsetsText(monotonic, boottime)); err != nil {
		return fmt.Errorf("write timens_offsets: %w", err)
	}
	return nil
}

// offsetsText is what timens_offsets takes: "<clock> <sec> <nsec>" lines,
// nanoseconds in [0, 1e9), so a negative offset has negative seconds.
func offsetsText(monotonic, boottime time.Duration) string {
	line := func(clock string, d time.Duration) string {
		sec, nsec := int64(d/time.Second), int64(d%time.Second)
		if nsec < 0 {
			sec, nsec = sec-1, nsec+int64(time.Second)
		}
		return fmt.Sprintf("%s %d %d\n", clock, sec, nsec)
	}
	return line("monotonic", monotonic) + line("boottime", boottime)
}

// observerArgs are the arguments of the second stage: the subcommand and
// every action, without the launcher's own flags. They are rebuilt from
// the parsed config rather than filtered from the command line, and always
// as -flag=value, so no value that looks like a flag can be misread.
func (cfg *config) observerArgs() []string {
	var args []string
	if cfg.subcommand != "" {
		args = append(args, cfg.subcommand)
	}
	if cfg.hostname != "" {
		args = append(args, "-hostname="+cfg.hostname)
	}
	if cfg.domainname != "" {
		args = append(args, "-domainname="+cfg.domainname)
	}
	if cfg.msgq {
		args = append(args, "-msgq="+strconv.FormatInt(int64(cfg.msgqKey), 10))
	}
	if cfg.mountProc {
		args = append(args, "-mount-proc")
	}
	if cfg.createFile != "" {
		args = append(args, "-create-file="+cfg.createFile)
	}
	if cfg.markerLink != "" {
		args = append(args, "-marker-link="+cfg.markerLink)
	}
	if len(cfg.parentNS) > 0 {
		var parts []string
		for _, kind := range slices.Sorted(maps.Keys(cfg.parentNS)) {
			for _, id := range cfg.parentNS[kind] {
				parts = append(parts, fmt.Sprintf("%s=%d:%d", kind, id.Dev, id.Ino))
			}
		}
		args = append(args, "-parent-ns="+strings.Join(parts, ","))
	}
	return args
}
