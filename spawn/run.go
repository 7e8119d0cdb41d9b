package spawn

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// Result is what one child reported, with what the host knows of it.
type Result struct {
	// Set is the namespace set the child was cloned into.
	Set Set
	// Report is the probe's decoded report.
	Report *probes.Report
	// PID is the pid the host started. HostPID is the observer's pid as the
	// host sees it: the same as PID unless the probe launched its observer
	// in a second stage (to enter a time namespace with offsets).
	PID     int
	HostPID int
	// Args are the probe's arguments, for reports.
	Args []string
	// Stderr is what the probe wrote on stderr.
	Stderr string
}

// Run clones the probe into opts.Set, waits for it and returns its report.
//
// pid and time namespaces are always made by clone flags, never by
// unshare: unshare of either moves only the caller's future children, so an
// exec'd child would not be inside them. Time offsets need a namespace that
// no process has entered yet, so when offsets are asked for the probe
// creates the time namespace itself and launches its observer into it.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", opts.Set, err)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd, args, release, err := command(ctx, opts)
	if err != nil {
		return nil, &Error{Set: opts.Set, Op: "prepare probe", Err: err}
	}
	defer release()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		e := &Error{Set: opts.Set, Op: "clone probe", Err: err, Args: args}
		diagnose(e)
		return nil, e
	}
	pid := cmd.Process.Pid
	waitErr := cmd.Wait()
	if waitErr != nil && ctx.Err() != nil {
		return nil, &Error{Set: opts.Set, Op: "wait for probe", Err: fmt.Errorf("killed its process group after %s: %w", timeout, ctx.Err()), Stderr: stderr.String(), Args: args}
	}
	if waitErr != nil {
		e := &Error{Set: opts.Set, Op: "wait for probe", Err: waitErr, Stderr: stderr.String(), Args: args}
		diagnose(e) // only when stderr shows a failed uid/gid map write
		return nil, e
	}
	report, err := probes.DecodeReport(&stdout)
	if err != nil {
		return nil, &Error{Set: opts.Set, Op: "read probe report", Err: err, Stderr: stderr.String(), Args: args}
	}
	res := &Result{Set: opts.Set, Report: report, PID: pid, HostPID: pid, Args: args, Stderr: stderr.String()}
	if report.Launcher != nil {
		res.HostPID = report.Launcher.ObserverPID
	}
	return res, nil
}

// twoStage reports whether the probe must create the time namespace itself
// to write offsets into it before its observer enters.
func (o Options) twoStage() bool {
	return o.Set.Has(Time) && (o.Actions.MonotonicOffset != 0 || o.Actions.BoottimeOffset != 0)
}

// command builds the exec.Cmd for opts; the context's deadline (or the
// default timeout) kills the child's whole process group.
func command(ctx context.Context, opts Options) (cmd *exec.Cmd, args []string, release func(), err error) {
	if opts.Subcommand != "" {
		args = append(args, opts.Subcommand)
	}
	args = append(args, opts.Actions.args()...)
	// The probe refuses every action in the namespaces of its parent.
	parent, err := ownNamespaces(opts.Actions)
	if err != nil {
		return nil, nil, nil, err
	}
	if parent != "" {
		args = append(args, "-parent-ns", parent)
	}
	flags := opts.Set.CloneFlags()
	if opts.twoStage() {
		flags &^= unix.CLONE_NEWTIME | unix.CLONE_NEWPID
		args = append(args, "-timens",
			"-monotonic-offset", opts.Actions.MonotonicOffset.String(),
			"-boottime-offset", opts.Actions.BoottimeOffset.String())
		if opts.Set.Has(PID) {
			args = append(args, "-newpid")
		}
	}

	cmd = exec.CommandContext(ctx, opts.Probe, args...)
	cmd.Env = opts.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	attr := &syscall.SysProcAttr{
		Cloneflags: flags,
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true,
	}
	if opts.Set.Has(User) {
		uidMap, gidMap := opts.UIDMap, opts.GIDMap
		callerUID, callerGID := CallerMaps()
		if len(uidMap) == 0 {
			uidMap = callerUID
		}
		if len(gidMap) == 0 {
			gidMap = callerGID
		}
		if !opts.NoMaps {
			attr.UidMappings = toSysProcIDMaps(uidMap)
			attr.GidMappings = toSysProcIDMaps(gidMap)
		}
		attr.GidMappingsEnableSetgroups = opts.SetgroupsAllow
		// Become root of the new namespace: with a map such as 0 → 100000
		// the caller's own id is not mapped at all, and the child would
		// run as the overflow id (65534) instead.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: !opts.SetgroupsAllow}
	}
	var cgroupFile *os.File
	if opts.CgroupDir != "" {
		f, err := os.Open(opts.CgroupDir)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("open cgroup: %w", err)
		}
		cgroupFile = f
		attr.UseCgroupFD = true
		attr.CgroupFD = int(f.Fd())
	}
	cmd.SysProcAttr = attr
	// Kill the whole group: a two-stage probe has an observer below it.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	release = func() {
		if cgroupFile != nil {
			cgroupFile.Close()
		}
	}
	return cmd, args, release, nil
}

// ownNamespaces returns "kind=dev:ino,…" of the caller's namespaces that
// the actions would change if the child shared them.
func ownNamespaces(a Actions) (string, error) {
	var kinds []string
	if a.Hostname != "" || a.Domainname != "" {
		kinds = append(kinds, "uts")
	}
	if a.MsgQueueKey != 0 {
		kinds = append(kinds, "ipc")
	}
	if a.MountProc {
		kinds = append(kinds, "mnt")
	}
	if a.MarkerLink != "" {
		kinds = append(kinds, "net")
	}
	var parts []string
	for _, kind := range kinds {
		var st unix.Stat_t
		if err := unix.Stat("/proc/self/ns/"+kind, &st); err != nil {
			return "", fmt.Errorf("stat own %s namespace: %w", kind, err)
		}
		parts = append(parts, kind+"="+strconv.FormatUint(st.Dev, 10)+":"+strconv.FormatUint(st.Ino, 10))
	}
	return strings.Join(parts, ","), nil
}
