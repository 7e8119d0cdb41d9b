//go:build linux

package nsprobe

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// joinConfig is what -join and -join-pidfd ask for.
type joinConfig struct {
	// paths maps a kind to the namespace file to join (-join).
	paths map[string]string
	// pid and pidKinds: join these kinds of process pid at once through a
	// pidfd (-join-pidfd).
	pid      int
	pidKinds []string
}

// joining reports whether the probe joins any namespace.
func (cfg *config) joining() bool { return len(cfg.join.paths) > 0 || cfg.join.pid != 0 }

// defineJoinFlags defines -join and -join-pidfd into j.
func defineJoinFlags(fs *flag.FlagSet, j *joinConfig) {
	fs.Func(probes.FlagJoin, "`KIND=PATH,...` join the namespace at PATH (a /proc/PID/ns/KIND file or a bind mount of one, such as /run/netns/NAME) for each KIND before observing; user first", func(v string) error {
		return parseJoinPaths(v, j)
	})
	fs.Func(probes.FlagJoinPidfd, "`PID=KIND+KIND...` join those namespaces of process PID at once through a pidfd (Linux 5.8 or later) before observing", func(v string) error {
		return parseJoinPidfd(v, j)
	})
}

// parseJoinPaths parses "net=/run/netns/a,uts=/proc/42/ns/uts".
func parseJoinPaths(v string, j *joinConfig) error {
	if j.paths == nil {
		j.paths = map[string]string{}
	}
	for part := range strings.SplitSeq(v, ",") {
		kind, path, ok := strings.Cut(part, "=")
		if !ok || path == "" {
			return fmt.Errorf("%q is not KIND=PATH", part)
		}
		if !slices.Contains(nsKinds, kind) {
			return fmt.Errorf("unknown namespace kind %q; use one of %s", kind, strings.Join(nsKinds, " "))
		}
		if !filepath.IsAbs(path) {
			return fmt.Errorf("path %q of the %s namespace to join is relative; give an absolute path such as /proc/PID/ns/%s", path, kind, kind)
		}
		if _, dup := j.paths[kind]; dup {
			return fmt.Errorf("the %s namespace to join is given twice; a process is in one namespace of each kind", kind)
		}
		j.paths[kind] = path
	}
	return nil
}

// parseJoinPidfd parses "4242=uts+net".
func parseJoinPidfd(v string, j *joinConfig) error {
	pid, kinds, ok := strings.Cut(v, "=")
	n, err := strconv.Atoi(pid)
	if !ok || err != nil || n <= 0 {
		return fmt.Errorf("%q is not PID=KIND+KIND with a positive pid", v)
	}
	j.pid, j.pidKinds = n, nil
	for kind := range strings.SplitSeq(kinds, "+") {
		if !slices.Contains(nsKinds, kind) {
			return fmt.Errorf("unknown namespace kind %q; use one of %s", kind, strings.Join(nsKinds, " "))
		}
		if slices.Contains(j.pidKinds, kind) {
			return fmt.Errorf("the %s namespace to join is given twice", kind)
		}
		j.pidKinds = append(j.pidKinds, kind)
	}
	return nil
}

// checkJoin rejects combinations the probe cannot honour.
func checkJoin(cfg *config) error {
	if !cfg.joining() {
		return nil
	}
	j := &cfg.join
	if len(j.paths) > 0 && j.pid != 0 {
		return errors.New("-join and -join-pidfd cannot be combined; name every namespace by path, or all of them by one process")
	}
	if cfg.confine.any() {
		return errors.New("confinement actions cannot be combined with -join; run them in a child that joins nothing")
	}
	joins := func(kind string) bool { return j.paths[kind] != "" || slices.Contains(j.pidKinds, kind) }
	if cfg.timens && joins("time") {
		return errors.New("-timens makes a new time namespace and -join names one to join; give one of them")
	}
	if cfg.newPID && joins("pid") {
		return errors.New("-newpid makes a new pid namespace and -join names one to join; give one of them")
	}
	return nil
}

// addJoinSteps opens every namespace to join (or the pidfd) and adds the
// stage's setns calls in JoinOrder: user first, then, as nsenter does, uid
// and gid 0 of the joined user namespace, so that the observer is its
// root. With -newpid (and without -timens, which unshares pid itself) the
// stage then unshares pid, so that the observer is pid 1 of a namespace
// below the joined user namespace's. It returns the kinds joined and a function that closes what it
// opened, which the caller runs once the stage has started.
func addJoinSteps(p *stagePlan, cfg *config) (joined []string, release func(), err error) {
	var fds []int
	release = func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	j := &cfg.join
	if j.pid != 0 {
		fd, err := unix.PidfdOpen(j.pid, 0)
		if err != nil {
			return nil, release, fmt.Errorf("open a pidfd of process %d: %w", j.pid, err)
		}
		fds = append(fds, fd)
		var flags uintptr
		for _, kind := range probes.JoinOrder {
			if slices.Contains(j.pidKinds, kind) {
				flags |= cloneFlag[kind]
				joined = append(joined, kind)
			}
		}
		p.syscall(fmt.Sprintf("setns into the %s namespaces of process %d through a pidfd", strings.Join(joined, "+"), j.pid), unix.SYS_SETNS, uintptr(fd), flags, 0)
		if flags&unix.CLONE_NEWUSER != 0 {
			becomeRoot(p)
		}
		newPIDAfterJoin(p, cfg)
		return joined, release, nil
	}
	for _, kind := range probes.JoinOrder {
		path, ok := j.paths[kind]
		if !ok {
			continue
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, release, fmt.Errorf("open the %s namespace to join: %w", kind, err)
		}
		fds = append(fds, fd)
		p.syscall(fmt.Sprintf("setns into the %s namespace at %s", kind, path), unix.SYS_SETNS, uintptr(fd), cloneFlag[kind], 0)
		joined = append(joined, kind)
		if kind == "user" {
			becomeRoot(p)
		}
	}
	newPIDAfterJoin(p, cfg)
	return joined, release, nil
}

// newPIDAfterJoin adds the unshare of -newpid, unless -timens does it.
func newPIDAfterJoin(p *stagePlan, cfg *config) {
	if cfg.newPID && !cfg.timens {
		p.syscall("unshare pid namespace after joining", unix.SYS_UNSHARE, unix.CLONE_NEWPID, 0, 0)
	}
}

// becomeRoot adds setresgid and setresuid to 0, in that order: after it
// changes its uid, a process may no longer change its gid.
func becomeRoot(p *stagePlan) {
	p.syscall("become gid 0 of the joined user namespace", unix.SYS_SETRESGID, 0, 0, 0)
	p.syscall("become uid 0 of the joined user namespace", unix.SYS_SETRESUID, 0, 0, 0)
}

// cloneFlag maps each kind to its CLONE_NEW* flag, the nstype of setns.
var cloneFlag = map[string]uintptr{
	"uts": unix.CLONE_NEWUTS, "ipc": unix.CLONE_NEWIPC, "pid": unix.CLONE_NEWPID, "mnt": unix.CLONE_NEWNS,
	"user": unix.CLONE_NEWUSER, "net": unix.CLONE_NEWNET, "cgroup": unix.CLONE_NEWCGROUP, "time": unix.CLONE_NEWTIME,
}
