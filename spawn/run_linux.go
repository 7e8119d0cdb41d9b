package spawn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/testseam"
	"github.com/nsverify/nsverify/probes"
)

// runBuiltin clones the probe into opts.Set itself, with the hello
// handshake every launcher has (helloSocket), and returns its report.
func runBuiltin(ctx context.Context, opts Options, timeout time.Duration) (*Result, error) {
	cmd, args, release, err := command(ctx, opts)
	if err != nil {
		return nil, &Error{Set: opts.Set, Op: "prepare probe", Err: err}
	}
	defer release()
	hello, err := newHelloSocket()
	if err != nil {
		return nil, &Error{Set: opts.Set, Op: "make hello socket", Err: err}
	}
	defer hello.close()
	cmd.ExtraFiles = []*os.File{hello.theirs}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	started := func() {
		hello.closeTheirs()
		hello.listen(opts.WhileHeld)
	}
	pid, waitErr, err := startAndWait(ctx, cmd, opts, started)
	if err != nil {
		var timeErr *makeTimeError
		if errors.As(err, &timeErr) {
			return nil, &Error{Set: opts.Set, Kind: Time, Op: "make time namespace", Err: timeErr.err, Args: args}
		}
		e := &Error{Set: opts.Set, Op: "clone probe", Err: err, Args: args}
		diagnose(e)
		return nil, e
	}
	h := hello.result()
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
	if h.err != nil {
		return nil, &Error{Set: opts.Set, Op: "hear the probe's hello", Err: h.err, Stderr: stderr.String(), Args: args}
	}
	if h.pid != pid && !stagedObserver(ctx, opts) {
		// Nothing stands between this process and the child it cloned:
		// the hello must come from that child.
		return nil, &Error{Set: opts.Set, Op: "hear the probe's hello", Err: fmt.Errorf("the hello came from pid %d, and the probe Run started is pid %d", h.pid, pid), Stderr: stderr.String(), Args: args}
	}
	return &Result{Set: opts.Set, Report: report, PID: pid, HostPID: h.pid, Outside: h.outside, Args: args, Launcher: BuiltinLauncher}, nil
}

// stagedObserver says whether the probe Run starts for opts observes from
// a process its stage forks (a join, or a time namespace with offsets
// where exec does not enter it), rather than being the observer itself.
func stagedObserver(ctx context.Context, opts Options) bool {
	maker, _ := makerOfTime(ctx, opts)
	return !opts.Join.empty() || maker == timeByProbeStage
}

// command builds the exec.Cmd for opts; the context's deadline (or the
// default timeout) kills the child's whole process group.
func command(ctx context.Context, opts Options) (cmd *exec.Cmd, args []string, release func(), err error) {
	if args, err = probeArgs(opts); err != nil {
		return nil, nil, nil, err
	}
	flags := opts.Set.CloneFlags()
	maker, err := makerOfTime(ctx, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	if maker != timeByClone {
		// Offsets need a time namespace no process has entered yet, which
		// the clone flag does not give: Run (its thread for time before
		// the clone, its fork before the exec) or the probe makes it.
		flags &^= Time.CloneFlag()
	}
	if maker.byProbe() {
		args = append(args, "-"+probes.FlagTimens,
			"-"+probes.FlagMonotonicOffset, opts.Actions.MonotonicOffset.String(),
			"-"+probes.FlagBoottimeOffset, opts.Actions.BoottimeOffset.String())
		if maker == timeByProbeExec {
			// Where exec enters it, the probe unshares it, writes the
			// offsets and execs itself as the observer: the pid the
			// caller started is the observer's, in the set's pid
			// namespace from the clone.
			args = append(args, "-"+probes.FlagTimensExec)
		} else {
			// Elsewhere a single-threaded stage of the probe unshares it,
			// writes the offsets and forks the observer inside (see
			// nsprobe). With pid, the stage unshares pid too, so the
			// observer is pid 1 of a pid namespace whose parent is the
			// caller's, as a clone flag would make it.
			flags &^= unix.CLONE_NEWPID
			if opts.Set.Has(PID) {
				args = append(args, "-"+probes.FlagNewPID)
			}
		}
	}
	flags, args = stagePID(opts, flags, args)

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
	// Maps and credentials go only with a clone that really makes a user
	// namespace. Without CLONE_NEWUSER Go clones with CLONE_VFORK, and a
	// child given maps would wait for its suspended parent to write them:
	// the clone would never return, and a set whose user flag went missing
	// would hang the suite instead of failing on the user kind.
	if attr.Cloneflags&unix.CLONE_NEWUSER != 0 {
		uidMap, gidMap := opts.IDMaps()
		seam := testseam.UserNSFrom(ctx)
		if !seam.NoMaps {
			attr.UidMappings = toSysProcIDMaps(uidMap)
			attr.GidMappings = toSysProcIDMaps(gidMap)
		}
		attr.GidMappingsEnableSetgroups = seam.SetgroupsAllow
		// Become root of the new namespace: with a map such as 0 → 100000
		// the caller's own id is not mapped at all, and the child would
		// run as the overflow id (65534) instead.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: !seam.SetgroupsAllow}
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
	// Kill the whole group: a probe may have a child of its own (the time
	// namespace on an old kernel, a misbehaving probe's helpers).
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	release = func() {
		if cgroupFile != nil {
			cgroupFile.Close()
		}
	}
	return cmd, args, release, nil
}

// probeArgs returns the probe's arguments for opts, every launcher's.
func probeArgs(opts Options) ([]string, error) {
	var args []string
	if opts.Subcommand != "" {
		args = append(args, opts.Subcommand)
	}
	args = append(args, opts.Actions.args()...)
	args = append(args, opts.Join.args()...)
	if opts.Canaries != nil {
		args = append(args, "-"+probes.FlagCanaries, opts.Canaries.String())
	}
	// Every child says hello on descriptor 3 (see helloSocket).
	args = append(args, "-"+probes.FlagHelloFD, "3")
	// The probe refuses every action in the namespaces of its parent.
	parent, err := ownNamespaces(opts.Actions)
	if err != nil {
		return nil, err
	}
	if parent != "" {
		args = append(args, "-"+probes.FlagParentNS, parent)
	}
	return args, nil
}

// execEntersTimeNS says whether this kernel moves a task into its time
// namespace for children when it execs (see TimeNSOnExec).
var execEntersTimeNS = sync.OnceValue(func() bool {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return false
	}
	return TimeNSOnExec(unix.ByteSliceToString(uts.Release[:]))
})

// ownNamespaces returns "kind=dev:ino,…" of the caller's namespaces that
// the actions would change if the child shared them.
func ownNamespaces(a Actions) (string, error) {
	var kinds []string
	if a.Hostname != "" || a.Domainname != "" {
		kinds = append(kinds, "uts")
	}
	if a.MsgQueueKey != 0 || a.MQueueName != "" {
		kinds = append(kinds, "ipc")
	}
	if a.MountProc {
		kinds = append(kinds, "mnt")
	}
	if a.MarkerLink != "" {
		kinds = append(kinds, "net")
	}
	if len(kinds) > 0 {
		// The probe trusts who owns a namespace only when its own user
		// namespace is not the caller's.
		kinds = append(kinds, "user")
	}
	var ids []probes.KindNSID
	for _, kind := range kinds {
		id, err := probes.StatNSID("/proc/self/ns/" + kind)
		if err != nil {
			return "", fmt.Errorf("stat own %s namespace: %w", kind, err)
		}
		ids = append(ids, probes.KindNSID{Kind: kind, ID: id})
	}
	return probes.FormatKindNSIDs(ids), nil
}
