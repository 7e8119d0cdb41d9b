//go:build linux

package suite

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
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
// chose for it.
type cgroupSighting struct {
	// Dir is the cgroup looked at.
	Dir string
	// PID is the process found in the cgroup's cgroup.procs, 0 if none.
	PID int
	// Path is that process's cgroup v2 path in /proc/<PID>/cgroup, read by
	// the host while the process was alive.
	Path string
	// Err says why nothing was seen.
	Err error
}

// watchCgroup looks, from the host, at the child about to be cloned into
// dir: it freezes dir (empty until then), so the child stops as soon as it
// is there, before it can exec, let alone exit; another goroutine waits for
// it to appear in cgroup.procs, reads its /proc/<pid>/cgroup while it is
// frozen and alive, and thaws the cgroup. The child is never seen only if
// it never was in dir: it cannot finish while frozen.
//
// The returned function is called once the child has been waited for; it
// stops the watch and says what was seen. A goroutine that failed leaves
// the child frozen, and spawn's deadline then kills it.
func watchCgroup(dir string) (stop func() *cgroupSighting) {
	freeze := filepath.Join(dir, "cgroup.freeze")
	if err := os.WriteFile(freeze, []byte("1"), 0); err != nil {
		return func() *cgroupSighting {
			return &cgroupSighting{Dir: dir, Err: fmt.Errorf("freeze cgroup %s: %w", dir, err)}
		}
	}
	done := make(chan struct{})
	seen := make(chan *cgroupSighting, 1)
	go func() {
		s := &cgroupSighting{Dir: dir}
		defer func() {
			if err := os.WriteFile(freeze, []byte("0"), 0); err != nil && s.Err == nil {
				s.Err = fmt.Errorf("thaw cgroup %s: %w", dir, err)
			}
			seen <- s
		}()
		for {
			pids, err := cgroupProcs(dir)
			if err != nil {
				s.Err = err
				return
			}
			if len(pids) > 0 {
				s.PID = pids[0]
				s.Path, s.Err = procCgroup2Path(s.PID)
				return
			}
			select {
			case <-done:
				s.Err = fmt.Errorf("find the child in cgroup %s: no process was there while the child ran", dir)
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	return func() *cgroupSighting {
		close(done)
		return <-seen
	}
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

// procCgroup2Path is the cgroup v2 path of process pid as the host sees it.
func procCgroup2Path(pid int) (string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", fmt.Errorf("open cgroup of pid %d: %w", pid, err)
	}
	defer f.Close()
	lines, err := probes.ParseCgroup(f)
	if err != nil {
		return "", fmt.Errorf("read cgroup of pid %d: %w", pid, err)
	}
	path, ok := probes.CgroupPath(lines, "")
	if !ok {
		return "", fmt.Errorf("read cgroup of pid %d: no cgroup v2 line in %v", pid, lines)
	}
	return path, nil
}

// expectCgroupSeen asserts the host's side of the cgroup oracle where the
// spec chose a cgroup of the child's own: the host saw the child there,
// alive, at hostPath, the path of the cgroup the spec chose.
func expectCgroupSeen(c *Child, hostPath string) {
	s := c.CgroupSeen
	if s == nil {
		// Not in a cgroup of its own: the child is where the suite is,
		// as every child of the suite starts, and only its own view is
		// compared with that path.
		return
	}
	Expect(s.Err).NotTo(HaveOccurred(), "cgroup: the host did not see the child cloned with %s in the cgroup the spec chose", c.Set)
	Expect(s.PID).To(Equal(c.Result.PID), "cgroup: the process the host found in the cgroup chosen for the child in %s is pid %d, and the child is pid %d", c.Set, s.PID, c.Result.PID)
	Expect(s.Path).To(Equal(hostPath), "cgroup: the host sees the child in %s at %s, and the spec chose %s", c.Set, s.Path, hostPath)
}

// noCgroupPathReason says why the child's cgroup has no path to judge its
// view by.
func noCgroupPathReason() string {
	if _, err := ownCgroup2Path(); err != nil {
		return "the child's cgroup has no cgroup v2 path to compare its view with: " + err.Error()
	}
	return "the spec placed the child in no cgroup whose path it knows"
}
