//go:build linux

package suite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// chosen is the dedicated cgroup the running spec chose for its child, or
// empty. It is set by DedicatedCgroup, not taken from spawn.Options, so
// that a child left outside the chosen cgroup (CgroupDir forgotten or
// ignored) is still looked for there, and its absence fails the spec.
// Specs run one at a time in a process, so one variable does.
var chosen struct{ dir, hostPath string }

// chooseCgroup records dir, seen by the host at hostPath, as the cgroup
// the spec chose, until the spec ends.
func chooseCgroup(dir, hostPath string) {
	chosen.dir, chosen.hostPath = dir, hostPath
	deferCleanup(func() { chosen.dir, chosen.hostPath = "", "" })
}

// cgroupSighting is what the host read of a child in the cgroup a spec
// chose for it, while the child waited after its hello.
type cgroupSighting struct {
	// Dir is the cgroup looked at.
	Dir string
	// PID is the process the cgroup's cgroup.procs listed that said
	// hello, 0 if none.
	PID int
	// Err says why nothing was seen.
	Err error
}

// holdForCgroup has the host look, while the child waits after its hello
// (spawn.Options.WhileHeld), whether the cgroup the spec chose lists it:
// every child says hello and waits, whoever starts it, so a child is seen
// there only if it is there, alive. Where the host sees it is read with
// the rest of the child (spawn.Result.Outside). The returned function
// says what was seen once the child was waited for.
func holdForCgroup(opts *spawn.Options, dir string) (seen func() *cgroupSighting) {
	s := &cgroupSighting{Dir: dir, Err: errors.New("the probe never said hello")}
	held := opts.WhileHeld
	opts.WhileHeld = func(pid int) {
		if held != nil {
			held(pid)
		}
		// The kernel's list of the cgroup's processes must hold the probe
		// the kernel named with its hello: the pid found is the
		// cgroup's word, not the hello's again.
		pids, err := cgroupProcs(dir)
		if err != nil {
			s.Err = err
			return
		}
		s.Err = fmt.Errorf("find the child in cgroup %s: its processes %v do not include the probe that said hello, pid %d", dir, pids, pid)
		if slices.Contains(pids, pid) {
			s.PID, s.Err = pid, nil
		}
	}
	return func() *cgroupSighting { return s }
}

// cgroupProcs lists the pids in dir's cgroup.procs.
func cgroupProcs(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("read cgroup procs: %w", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("read cgroup procs of %s: %w", dir, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// expectCgroupSeen asserts the host's side of the cgroup oracle: the host
// read the child, while it waited after its hello, at hostPath; and where
// the spec chose a cgroup for it, that cgroup's list of processes held it.
func expectCgroupSeen(c *Child, hostPath string) {
	read, ok := probes.CgroupPath(c.Result.Outside.Cgroup, "")
	Expect(ok).To(BeTrue(), "cgroup: the host read no cgroup v2 path of the child in %s: %v; errors: %v", c.Set, c.Result.Outside.Cgroup, c.Result.Outside.Errors)
	Expect(read).To(Equal(hostPath), "cgroup: the host reads the child in %s at %s, and the spec chose %s", c.Set, read, hostPath)
	s := c.CgroupSeen
	if s == nil {
		// No cgroup of its own: the child is where the suite is, as
		// every child of the suite starts.
		return
	}
	Expect(s.Err).NotTo(HaveOccurred(), "cgroup: the host did not see the child cloned with %s in the cgroup the spec chose", c.Set)
	Expect(s.PID).To(Equal(c.Result.HostPID), "cgroup: the process the host found in the cgroup chosen for the child in %s is pid %d, and the child is pid %d", c.Set, s.PID, c.Result.HostPID)
}

// noCgroupPathReason says why the child's cgroup has no path to judge its
// view by.
func noCgroupPathReason() string {
	if _, err := ownCgroup2Path(); err != nil {
		return "the child's cgroup has no cgroup v2 path to compare its view with: " + err.Error()
	}
	return "the spec placed the child in no cgroup whose path it knows"
}
