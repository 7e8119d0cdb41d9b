//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// launchInTimeNamespace starts the observer in a new time namespace with
// offsets, and returns the exit code.
//
// Offsets can only be written to a time namespace no process has entered
// yet, and unshare(CLONE_NEWTIME) moves only the caller's future children
// into it. Until Linux moved a task on exec too, and on many kernels after
// that (Debian 12's 6.1 among them), a task whose time namespace for
// children differs from its own cannot clone a thread: clone with CLONE_VM
// fails with EINVAL. A Go process starts threads whenever its runtime
// likes, so neither this process nor anything it execs may be the one that
// unshares. Instead it forks a stage that runs raw system calls only, like
// the child half of Go's own fork and exec: it unshares time (and pid with
// -newpid, so the observer is pid 1 of a pid namespace whose parent is the
// caller's), writes the offsets, and forks the observer, which every kernel
// with time namespaces puts inside, then waits for it. One path on every
// kernel from 5.6 on, nothing to detect.
//
// The observer's report comes back through this process, which adds what
// the host knows of the observer (its pid here, and how many threads the
// stage that unshared had). If the namespace cannot be made, no observer
// starts: this process observes in place and says why under clock.
func launchInTimeNamespace(cfg *config, stdout, stderr io.Writer) int {
	// Pdeathsig of the stage follows the thread that forks it.
	runtime.LockOSThread()
	from, err := nsID("/proc/self/ns/time")
	if err != nil {
		return observeInPlace(cfg, stdout, stderr, err)
	}
	args := append([]string{os.Args[0]}, cfg.observerArgs()...)
	args = append(args, fmt.Sprintf("-timens-from=%d:%d", from.Dev, from.Ino))
	flags := uintptr(unix.CLONE_NEWTIME)
	if cfg.newPID {
		flags |= unix.CLONE_NEWPID
	}
	plan, err := newTimensPlan(flags, offsetsText(cfg.monotonicOffset, cfg.boottimeOffset), "/proc/self/exe", args, os.Environ())
	if err != nil {
		return observeInPlace(cfg, stdout, stderr, err)
	}
	defer plan.close()

	stagePID, err := plan.start()
	if err != nil {
		return observeInPlace(cfg, stdout, stderr, err)
	}
	// The stage and the observer hold the write ends now.
	plan.closeChildEnds()
	var out bytes.Buffer
	_, copyErr := io.Copy(&out, plan.stdoutR)
	status, statusErr := io.ReadAll(plan.statusR)
	var ws unix.WaitStatus
	_, waitErr := unix.Wait4(stagePID, &ws, 0, nil)
	if err := errors.Join(copyErr, statusErr, waitErr); err != nil {
		fmt.Fprintf(stderr, "nsprobe: run the time namespace stage: %v\n", err)
		return 1
	}
	rec, err := parseStageStatus(status)
	if err != nil {
		fmt.Fprintf(stderr, "nsprobe: read the time namespace stage's status: %v\n", err)
		return 1
	}
	if rec.failed != "" {
		// No observer started; nothing was entered.
		return observeInPlace(cfg, stdout, stderr, errors.New(rec.failed))
	}
	code := exitCode(ws)
	if code != 0 {
		// The observer said what went wrong on stderr; pass on what it
		// printed, if anything.
		_, _ = stdout.Write(out.Bytes())
		return code
	}
	r, err := probes.DecodeReport(&out)
	if err != nil {
		fmt.Fprintf(stderr, "nsprobe: read the observer's report: %v\n", err)
		return 1
	}
	r.Launcher = &probes.Launcher{ObserverPID: rec.observerPID, StageThreads: rec.threads}
	return emit(stdout, stderr, r)
}

// observeInPlace is the answer when no time namespace could be prepared:
// an observer would read the host's clocks as if they were shifted ones,
// so this process observes and says why under clock.
func observeInPlace(cfg *config, stdout, stderr io.Writer, why error) int {
	r := run(cfg)
	fail(r, "clock", why)
	return emit(stdout, stderr, r)
}

func exitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 1
}

// observeAfterExec runs in the observer the stage forked: it checks that it
// is in another time namespace than the launcher was, and observes.
func observeAfterExec(cfg *config, stdout, stderr io.Writer) int {
	r := run(cfg)
	own, err := nsID("/proc/self/ns/time")
	switch {
	case err != nil:
		fail(r, "clock", fmt.Errorf("check time namespace: %w", err))
	case own == *cfg.timensFrom:
		fail(r, "clock", errors.New("check time namespace: the observer is still in its launcher's time namespace"))
	default:
		if r.Actions == nil {
			r.Actions = map[string]string{}
		}
		r.Actions["timens"] = "entered by fork from a single-threaded stage"
	}
	return emit(stdout, stderr, r)
}

// Stage status records, written by the stage on the status pipe.
const (
	stageFailedUnshare = iota + 1
	stageFailedOpen
	stageFailedWrite
	stageFailedFork
	stageStarted
)

// stageRecord is what the stage writes: which step it reached, the errno
// of a failed one, the observer's pid, then the stage's /proc/self/stat.
type stageRecord struct {
	Step  uint32
	Errno uint32
	PID   uint32
}

// stageStatus is the decoded status.
type stageStatus struct {
	failed      string
	observerPID int
	threads     int
}

// parseStageStatus decodes what the stage wrote on its status pipe.
func parseStageStatus(b []byte) (stageStatus, error) {
	var rec stageRecord
	if err := binary.Read(bytes.NewReader(b), binary.NativeEndian, &rec); err != nil {
		return stageStatus{}, fmt.Errorf("decode stage record (%d bytes): %w", len(b), err)
	}
	errno := syscall.Errno(rec.Errno)
	switch rec.Step {
	case stageFailedUnshare:
		return stageStatus{failed: fmt.Sprintf("unshare time namespace: %v", errno)}, nil
	case stageFailedOpen:
		return stageStatus{failed: fmt.Sprintf("open timens_offsets: %v", errno)}, nil
	case stageFailedWrite:
		return stageStatus{failed: fmt.Sprintf("write timens_offsets: %v", errno)}, nil
	case stageFailedFork:
		return stageStatus{failed: fmt.Sprintf("fork the observer into the time namespace: %v", errno)}, nil
	case stageStarted:
	default:
		return stageStatus{}, fmt.Errorf("decode stage record: unknown step %d", rec.Step)
	}
	threads, err := statThreads(b[binary.Size(rec):])
	if err != nil {
		return stageStatus{}, err
	}
	return stageStatus{observerPID: int(rec.PID), threads: threads}, nil
}

// statThreads returns num_threads, field 20 of /proc/PID/stat. The fields
// after the command name, which ends at the last ')', start at field 3.
func statThreads(stat []byte) (int, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse stage stat: no command name in %q", stat)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 18 {
		return 0, fmt.Errorf("parse stage stat: %d fields after the command name, want at least 18", len(fields))
	}
	n, err := strconv.Atoi(fields[17])
	if err != nil {
		return 0, fmt.Errorf("parse stage stat num_threads: %w", err)
	}
	return n, nil
}

// offsetsText is what timens_offsets takes: "<clock> <sec> <nsec>" lines,
// nanoseconds in [0, 1e9), so a negative offset has negative seconds. One
// write applies all lines together.
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

// observerArgs are the arguments of the observer: the subcommand and every
// action, without the launcher's own flags. They are rebuilt from the
// parsed config rather than filtered from the command line, and always as
// -flag=value, so no value that looks like a flag can be misread.
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
