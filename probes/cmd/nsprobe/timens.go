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

// launchInTimeNamespace enters a new time namespace with offsets. Offsets
// can only be written to a time namespace that no process has entered yet,
// and unshare(CLONE_NEWTIME) moves only the caller's future children into
// it. So the launcher unshares, writes the offsets, then execs itself
// without its launcher flags: since Linux 6.0 exec moves a process into its
// time namespace for children, so the observer is this very process, with
// its pid and every other namespace unchanged (pid 1 stays pid 1). On an
// older kernel the observer finds itself still outside and falls back to a
// child (see observeAfterExec). It returns the exit code.
func launchInTimeNamespace(cfg *config, stdout, stderr io.Writer) int {
	// Namespaces belong to threads: the unshare, the offsets and the exec
	// must happen on the main thread (see init), which is never unlocked.
	runtime.LockOSThread()
	from, fromErr := nsID("/proc/self/ns/time")
	if err := errors.Join(fromErr, prepareTimeNamespace(cfg.monotonicOffset, cfg.boottimeOffset)); err != nil {
		// Without the namespace an observer would read the host's clocks
		// as if they were shifted ones: observe here and say why.
		r := run(cfg)
		fail(r, "clock", err)
		return emit(stdout, stderr, r)
	}
	args := append([]string{os.Args[0]}, cfg.observerArgs()...)
	args = append(args, fmt.Sprintf("-timens-from=%d:%d", from.Dev, from.Ino))
	if cfg.newPID {
		args = append(args, "-newpid")
	}
	err := unix.Exec("/proc/self/exe", args, os.Environ())
	fmt.Fprintf(stderr, "nsprobe: exec the observer into the new time namespace: %v\n", err)
	return 1
}

// observeAfterExec runs in the process a launcher exec'd. If exec moved it
// into the new time namespace, it observes there. Otherwise (a kernel
// before 6.0) its time namespace for children is still the new one, with
// the offsets, and a child it starts is born inside: that child observes,
// and this process hands on its report with itself named in
// report.Launcher. With -newpid the child gets a new pid namespace of its
// own, so it is pid 1 as the set asks.
func observeAfterExec(cfg *config, stdout, stderr io.Writer) int {
	own, err := nsID("/proc/self/ns/time")
	if err != nil || own != *cfg.timensFrom {
		r := run(cfg)
		if err != nil {
			fail(r, "clock", fmt.Errorf("check time namespace after exec: %w", err))
		} else {
			if r.Actions == nil {
				r.Actions = map[string]string{}
			}
			r.Actions["timens"] = "entered on exec"
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
	if r.Actions == nil {
		r.Actions = map[string]string{}
	}
	r.Actions["timens"] = "entered by a child: this kernel does not move a process into its time namespace on exec"
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
