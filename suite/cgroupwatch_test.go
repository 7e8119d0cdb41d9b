//go:build linux

package suite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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

// cgroupWatchEnv, set in the environment of the suite's own binary, makes
// it the cgroup watcher of watchCgroup instead of a run of the specs: the
// value is the cgroup directory to watch.
const cgroupWatchEnv = "NSVERIFY_WATCH_CGROUP"

var _ = role(cgroupWatchEnv, func(dir string) int { return runCgroupWatcher(dir, os.Stdin, os.Stdout) })

// watchCgroup looks, from the host, at the child about to be cloned into
// dir: it freezes dir (empty until then), so the child stops as soon as it
// is there, before it can exec, let alone exit; a watcher waits for it to
// appear in cgroup.procs, reads its /proc/<pid>/cgroup while it is frozen
// and alive, and thaws the cgroup. The child is never seen only if it
// never was in dir: it cannot finish while frozen.
//
// The watcher is a process of its own (this binary, see cgroupWatchEnv),
// not a goroutine: without user in the set, Go clones the child with
// CLONE_VFORK, so the thread that cloned it waits in the kernel, holding
// its P, until the child execs. A garbage collection that stops the world
// meanwhile would then wait for that thread, a goroutine that should thaw
// the child would never run, and the suite would hang.
//
// The returned function is called once the child has been waited for; it
// stops the watcher and says what it saw. A watcher that fails leaves the
// child frozen, and spawn's deadline then kills it.
func watchCgroup(dir string) (stop func() *cgroupSighting) {
	failed := func(err error) func() *cgroupSighting {
		return func() *cgroupSighting { return &cgroupSighting{Dir: dir, Err: err} }
	}
	freeze := filepath.Join(dir, "cgroup.freeze")
	exe, err := os.Executable()
	if err != nil {
		return failed(fmt.Errorf("find the suite binary to watch cgroup %s: %w", dir, err))
	}
	if err := os.WriteFile(freeze, []byte("1"), 0); err != nil {
		return failed(fmt.Errorf("freeze cgroup %s: %w", dir, err))
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{cgroupWatchEnv + "=" + dir}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	in, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		_ = os.WriteFile(freeze, []byte("0"), 0)
		return failed(fmt.Errorf("start the watcher of cgroup %s: %w", dir, err))
	}
	return func() *cgroupSighting {
		// The child has been waited for: a watcher that has not seen it
		// by now never will, and stops when its stdin closes.
		in.Close()
		timer := time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
		defer timer.Stop()
		if err := cmd.Wait(); err != nil {
			return &cgroupSighting{Dir: dir, Err: fmt.Errorf("watch cgroup %s: %w; stderr: %s", dir, err, errOut.String())}
		}
		var w watcherReport
		if err := json.Unmarshal(out.Bytes(), &w); err != nil {
			return &cgroupSighting{Dir: dir, Err: fmt.Errorf("read the watcher of cgroup %s: %w", dir, err)}
		}
		s := &cgroupSighting{Dir: dir, PID: w.PID, Path: w.Path}
		if w.Error != "" {
			s.Err = errors.New(w.Error)
		}
		return s
	}
}

// watcherReport is what the watcher prints: the process it found in the
// cgroup and its path, or why it found none.
type watcherReport struct {
	PID   int    `json:"pid,omitempty"`
	Path  string `json:"path,omitempty"`
	Error string `json:"error,omitempty"`
}

// runCgroupWatcher is the watcher's main: it polls dir's cgroup.procs
// until a process is there or stdin closes, reads that process's cgroup,
// thaws dir and prints a watcherReport. Its own deadline outlasts spawn's
// default, in case the suite dies without closing stdin (it has Pdeathsig
// too).
func runCgroupWatcher(dir string, stdin io.Reader, stdout io.Writer) int {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		close(done)
	}()
	deadline := time.After(time.Minute)
	var w watcherReport
	func() {
		for {
			pids, err := cgroupProcs(dir)
			if err != nil {
				w.Error = err.Error()
				return
			}
			if len(pids) > 0 {
				w.PID = pids[0]
				if w.Path, err = procCgroup2Path(w.PID); err != nil {
					w.Error = err.Error()
				}
				return
			}
			select {
			case <-done:
				w.Error = fmt.Sprintf("find the child in cgroup %s: no process was there while the child ran", dir)
				return
			case <-deadline:
				w.Error = fmt.Sprintf("find the child in cgroup %s: no process came within a minute", dir)
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0); err != nil && w.Error == "" {
		w.Error = fmt.Sprintf("thaw cgroup %s: %v", dir, err)
	}
	if err := json.NewEncoder(stdout).Encode(w); err != nil {
		return 1
	}
	return 0
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

// holdForCgroup has the host read, from outside, the cgroup of a probe
// started by a launcher other than the built-in one, while the probe waits
// after its hello (spawn.Options.WhileHeld). The returned function says
// what was seen once the child was waited for.
func holdForCgroup(opts *spawn.Options) (seen func() *cgroupSighting) {
	s := &cgroupSighting{Dir: chosen.dir, Err: errors.New("the probe never said hello")}
	dir := chosen.dir
	opts.WhileHeld = func(pid int) {
		// The kernel's list of the cgroup's processes must hold the probe
		// the kernel named with its hello: the pid found is the
		// cgroup's word, not the hello's again.
		if dir == "" {
			// No cgroup chosen: only where the host sees the probe.
			s.PID = pid
			s.Path, s.Err = procCgroup2Path(pid)
			return
		}
		pids, err := cgroupProcs(dir)
		if err != nil {
			s.Err = err
			return
		}
		s.Err = fmt.Errorf("find the child in cgroup %s: its processes %v do not include the probe that said hello, pid %d", dir, pids, pid)
		for _, p := range pids {
			if p == pid {
				s.PID, s.Err = p, nil
			}
		}
		if s.Err == nil {
			s.Path, s.Err = procCgroup2Path(pid)
		}
	}
	return func() *cgroupSighting { return s }
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
	if s.Dir != "" {
		// Found in the chosen cgroup's list of processes: the child Run
		// started, or for another launcher the probe that said hello.
		want := c.Result.PID
		if !c.Opts.Launcher.Builtin() {
			want = c.Result.HostPID
		}
		Expect(s.PID).To(Equal(want), "cgroup: the process the host found in the cgroup chosen for the child in %s is pid %d, and the child is pid %d", c.Set, s.PID, want)
	}
	Expect(s.Path).To(Equal(hostPath), "cgroup: the host sees the child in %s at %s, and the spec chose %s", c.Set, s.Path, hostPath)
	// And where the host read the observer while it waited after its
	// hello, whoever started it.
	read, ok := probes.CgroupPath(c.Result.Outside.Cgroup, "")
	Expect(ok).To(BeTrue(), "cgroup: the host read no cgroup v2 path of the child in %s: %v; errors: %v", c.Set, c.Result.Outside.Cgroup, c.Result.Outside.Errors)
	Expect(read).To(Equal(hostPath), "cgroup: the host reads the child in %s at %s, and the spec chose %s", c.Set, read, hostPath)
}

// noCgroupPathReason says why the child's cgroup has no path to judge its
// view by.
func noCgroupPathReason() string {
	if _, err := ownCgroup2Path(); err != nil {
		return "the child's cgroup has no cgroup v2 path to compare its view with: " + err.Error()
	}
	return "the spec placed the child in no cgroup whose path it knows"
}
