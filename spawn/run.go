package spawn

import (
	"context"
	"fmt"

	"github.com/nsverify/nsverify/probes"
)

// Result is what one child reported, with what the host knows of it.
type Result struct {
	// Set is the namespace set the child was cloned into.
	Set Set
	// Report is the probe's decoded report.
	Report *probes.Report
	// PID is the pid the host started. HostPID is the observer's pid as the
	// kernel gave it with the probe's hello (SCM_CREDENTIALS), in this
	// process's pid namespace: the same as PID, except where a launcher
	// or the probe's own stage started the observer (a time namespace
	// with offsets on an old kernel, a join).
	PID     int
	HostPID int
	// Outside is what this process read of the observer from its own
	// /proc while the observer waited for the answer to its hello: the
	// host's word on its namespaces, ids, maps, capabilities and cgroups,
	// which the report must agree with.
	Outside *probes.Outside
	// Args are the probe's arguments, for reports.
	Args []string
	// Launcher names the launcher that started the child.
	Launcher string
}

// Run clones the probe into opts.Set, waits for it and returns its report.
//
// pid and time namespaces are made by clone flags, never by unshare in the
// child: unshare of either moves only the caller's future children, so an
// exec'd child would not be inside them. The one exception is time with
// offsets: they need a namespace no process has entered yet. Where exec
// enters it (TimeNSOnExec), Run makes it (see makerOfTime): from its thread
// for time without user, in the child it forks, just before its exec,
// with user; on older kernels the probe makes it and starts its observer
// inside (pid with it, when asked).
//
// On systems other than Linux it returns an *Error wrapping
// errors.ErrUnsupported once the options are valid.
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
	if !builtin(opts.Launcher) {
		if ok, reason := opts.Launcher.Expresses(opts); !ok {
			return nil, &NotExpressibleError{Launcher: opts.Launcher.Name(), Set: opts.Set, Reason: reason}
		}
		return runLaunched(ctx, opts, timeout)
	}
	return runBuiltin(ctx, opts, timeout)
}

// timeWithOffsets reports whether the set's time namespace gets offsets,
// which need a namespace no process has entered yet: a clone flag cannot
// make it, so Run or the probe does (see makerOfTime).
func (o Options) timeWithOffsets() bool {
	return o.Set.Has(Time) && (o.Actions.MonotonicOffset != 0 || o.Actions.BoottimeOffset != 0)
}

// makeTimeError is a failure to make the child's time namespace, before
// anything was exec'd: Run reports it as the time kind's.
type makeTimeError struct{ err error }

func (e *makeTimeError) Error() string { return e.err.Error() }
func (e *makeTimeError) Unwrap() error { return e.err }

// timeNSOnExecSince is the first kernel where exec, and not only fork,
// moves a task into its time namespace for children (and where such a task
// may start threads): the execve changes merged for 6.2.
const timeNSOnExecSince = "6.2"

// TimeNSOnExec reports whether a kernel of release rel moves a task into
// its time namespace for children when it execs. There the probe can write
// a new time namespace's offsets and exec itself inside; elsewhere it
// needs a stage that forks the observer. A release that cannot be read
// counts as older: the stage works everywhere.
func TimeNSOnExec(rel string) bool {
	if _, ok := majorMinor(rel); !ok {
		return false
	}
	return !olderThan(rel, timeNSOnExecSince)
}
