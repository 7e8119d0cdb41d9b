//go:build linux

package nsprobe

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// addTimensSteps adds to the stage what makes a time namespace with
// offsets and puts the observer inside.
//
// Offsets can only be written to a time namespace no process has entered
// yet, and unshare(CLONE_NEWTIME) moves only the caller's future children
// into it. Until Linux moved a task on exec too, and on many kernels after
// that (Debian 12's 6.1 among them), a task whose time namespace for
// children differs from its own cannot clone a thread: clone with CLONE_VM
// fails with EINVAL. A Go process starts threads whenever its runtime
// likes, so neither this process nor anything it execs may be the one that
// unshares. The stage does (see stage_linux.go): it unshares time (and pid
// with -newpid, so the observer is pid 1 of a pid namespace whose parent
// is the caller's), writes the offsets, and forks the observer, which
// every kernel with time namespaces puts inside. One path on every kernel
// from 5.6 on, nothing to detect.
func addTimensSteps(p *stagePlan, cfg *config) error {
	flags := uintptr(unix.CLONE_NEWTIME)
	what := "unshare time namespace"
	if cfg.newPID {
		flags |= unix.CLONE_NEWPID
		what = "unshare time and pid namespaces"
	}
	p.syscall(what, unix.SYS_UNSHARE, flags, 0, 0)
	return p.write("/proc/self/timens_offsets", []byte(probes.FormatTimensOffsets(cfg.monotonicOffset, cfg.boottimeOffset)), "write timens_offsets")
}

// observeInPlace is the answer when no time namespace could be prepared:
// an observer would read the host's clocks as if they were shifted ones,
// so this process observes and says why under clock.
func observeInPlace(cfg *config, stdout, stderr io.Writer, why error) int {
	r := run(cfg)
	fail(r, "clock", why)
	return emit(stdout, stderr, r)
}

// observeAfterExec runs in the observer the stage forked, or the launcher
// exec'd in place (-timens-exec): it checks that it is in another time
// namespace than the launcher was, and observes.
func observeAfterExec(cfg *config, stdout, stderr io.Writer) int {
	r := run(cfg)
	own, err := probes.StatNSID("/proc/self/ns/time")
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
		if cfg.timensExec {
			r.Actions["timens"] = "entered by exec after its launcher unshared it"
		}
	}
	return emit(stdout, stderr, r)
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
		args = append(args, "-"+probes.FlagHostname+"="+cfg.hostname)
	}
	if cfg.domainname != "" {
		args = append(args, "-"+probes.FlagDomainname+"="+cfg.domainname)
	}
	if cfg.msgq {
		args = append(args, "-"+probes.FlagMsgQueue+"="+strconv.FormatInt(int64(cfg.msgqKey), 10))
	}
	if cfg.mqName != "" {
		args = append(args, "-"+probes.FlagMQueue+"="+cfg.mqName)
	}
	if cfg.mountProc {
		args = append(args, "-"+probes.FlagMountProc)
	}
	if cfg.createFile != "" {
		args = append(args, "-"+probes.FlagCreateFile+"="+cfg.createFile)
	}
	if cfg.markerLink != "" {
		args = append(args, "-"+probes.FlagMarkerLink+"="+cfg.markerLink)
	}
	if len(cfg.parentNS) > 0 {
		var ids []probes.KindNSID
		for _, kind := range slices.Sorted(maps.Keys(cfg.parentNS)) {
			for _, id := range cfg.parentNS[kind] {
				ids = append(ids, probes.KindNSID{Kind: kind, ID: id})
			}
		}
		args = append(args, "-"+probes.FlagParentNS+"="+probes.FormatKindNSIDs(ids))
	}
	if cfg.canaries != nil {
		args = append(args, "-"+probes.FlagCanaries+"="+cfg.canaries.String())
	}
	if cfg.helloFD > 0 {
		// The observer inherits the descriptor, and says the hello.
		args = append(args, "-"+probes.FlagHelloFD+"="+strconv.Itoa(cfg.helloFD))
	}
	return args
}
