package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// launchInTimeNamespace is the first stage of a two-stage launch. Offsets
// can only be written to a time namespace no process has entered yet, so
// the launcher unshares one (which moves only its future children), writes
// the offsets, then starts its observer, which is born inside. Namespaces
// are per thread, and /proc/self/timens_offsets is the thread group
// leader's: all of it happens on the main thread, to which init locked the
// main goroutine.
func launchInTimeNamespace(cfg *config, args []string) int {
	err := unix.Unshare(unix.CLONE_NEWTIME)
	if err != nil {
		err = fmt.Errorf("unshare time namespace: %w", err)
	} else {
		err = writeOffsets(cfg.monotonicOffset, cfg.boottimeOffset)
	}
	if err != nil {
		// Without the namespace the observer would read the host's clocks
		// as if they were shifted ones: observe here and say why.
		report := run(cfg)
		fail(report, "clock", err)
		if werr := writeReport(os.Stdout, report); werr != nil {
			fmt.Fprintln(os.Stderr, "nsprobe:", werr)
			return 1
		}
		return 0
	}

	cmd := exec.Command("/proc/self/exe", observerArgs(args)...)
	cmd.Env = os.Environ()
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cfg.newPID {
		cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWPID
	}
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "nsprobe: run observer:", err)
		if exit, ok := err.(*exec.ExitError); ok && exit.ExitCode() > 0 {
			return exit.ExitCode()
		}
		return 1
	}
	report, err := probes.DecodeReport(&stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsprobe: read observer report:", err)
		return 1
	}
	report.Launcher = &probes.Launcher{PID: os.Getpid(), ObserverPID: cmd.Process.Pid}
	if err := writeReport(os.Stdout, report); err != nil {
		fmt.Fprintln(os.Stderr, "nsprobe:", err)
		return 1
	}
	return 0
}

// Lock the main goroutine to the main thread, the thread group leader, whose
// time namespace for children /proc/self/timens_offsets sets.
func init() { runtime.LockOSThread() }

// writeOffsets writes the offsets of the time namespace the main thread will
// put its children in.
func writeOffsets(monotonic, boottime time.Duration) error {
	text := fmt.Sprintf("monotonic %d %d\nboottime %d %d\n",
		int64(monotonic/time.Second), int64(monotonic%time.Second),
		int64(boottime/time.Second), int64(boottime%time.Second))
	f, err := os.OpenFile("/proc/self/timens_offsets", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open timens_offsets: %w", err)
	}
	defer f.Close()
	// The kernel takes the offsets in one write.
	if _, err := f.Write([]byte(text)); err != nil {
		return fmt.Errorf("write timens_offsets: %w", err)
	}
	return nil
}

// observerArgs drops the launcher's own flags from args.
func observerArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-timens", "--timens", "-newpid", "--newpid":
			continue
		case "-monotonic-offset", "--monotonic-offset", "-boottime-offset", "--boottime-offset":
			i++
			continue
		}
		if hasAnyPrefix(a, "-monotonic-offset=", "--monotonic-offset=", "-boottime-offset=", "--boottime-offset=", "-timens=", "-newpid=") {
			continue
		}
		out = append(out, a)
	}
	return out
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}
