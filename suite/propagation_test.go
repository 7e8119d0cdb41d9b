//go:build linux

package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// propagationEnv, when set to the path of nsprobe, makes this test binary
// act as the outer process of the mount propagation spec instead of running
// the suite: see propagationOuter.
const propagationEnv = "NSVERIFY_PROPAGATION_OUTER"

var _ = role(propagationEnv, func(probe string) int { return propagationOuter(probe, os.Stdout) })

// propagationResult is what the outer process prints.
type propagationResult struct {
	PID int `json:"pid"`
	// RootShared says whether / was shared in the outer mount namespace
	// when the probe started; the spec proves nothing unless it was.
	RootShared bool `json:"root_shared"`
	// Before and After are the outer namespace's mount table around the
	// probe run, SelfBefore and SelfAfter what its /proc/self points to.
	Before     string `json:"before"`
	After      string `json:"after"`
	SelfBefore string `json:"self_before"`
	SelfAfter  string `json:"self_after"`
	// ProcPIDs and ReportErrors come from the probe's report.
	ProcPIDs     []int             `json:"proc_pids"`
	ReportErrors map[string]string `json:"report_errors"`
	// Error is the outer process's own failure, if any.
	Error string `json:"error,omitempty"`
}

// propagationOuter runs in a process cloned into a new mount namespace. It
// makes / shared there, as systemd leaves it on most hosts, runs the probe
// in new pid and mnt namespaces with a /proc mount, and prints what its own
// mount namespace looked like before and after. It returns the exit code.
func propagationOuter(probe string, out io.Writer) int {
	res := propagationResult{PID: os.Getpid()}
	emit := func() int {
		if err := json.NewEncoder(out).Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, "propagation outer: encode result:", err)
			return 1
		}
		return 0
	}
	// Private first, to leave any peer group this namespace shares with the
	// host; shared then, in a peer group of this namespace's own. Whatever
	// propagates into it dies with it.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		res.Error = fmt.Sprintf("make / private in the outer namespace: %v", err)
		return emit()
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		res.Error = fmt.Sprintf("make / shared in the outer namespace: %v", err)
		return emit()
	}
	res.Before = string(hostMountinfo())
	res.RootShared = rootIsShared(res.Before)
	res.SelfBefore, _ = os.Readlink("/proc/self")
	r, err := spawn.Run(context.Background(), spawn.Options{
		Probe:   probe,
		Set:     spawn.SetOf(spawn.PID, spawn.MNT),
		Actions: spawn.Actions{MountProc: true},
	})
	res.After = string(hostMountinfo())
	res.SelfAfter, _ = os.Readlink("/proc/self")
	if err != nil {
		res.Error = err.Error()
		return emit()
	}
	res.ReportErrors = r.Report.Errors
	if r.Report.Proc != nil {
		res.ProcPIDs = r.Report.Proc.PIDs
	}
	return emit()
}

// rootIsShared reports whether a mount at / in mountinfo is shared (a
// shared:N tag among its optional fields).
func rootIsShared(mountinfo string) bool {
	mounts, err := probes.ParseMountinfo(strings.NewReader(mountinfo))
	return err == nil && slices.ContainsFunc(mounts, func(m probes.Mount) bool {
		return m.MountPoint == "/" && m.Propagation().Shared()
	})
}

var _ = Describe("mount propagation", Label("host"), Serial, func() {
	It("keeps the probe's /proc inside its namespace even when the outer namespace's / is shared, because the probe makes / private first", func(ctx SpecContext) {
		set := spawn.SetOf(spawn.PID, spawn.MNT)
		needsCreate(set)
		needsKinds(set)
		hostBefore := hostMountinfo()

		self, err := os.Executable()
		Expect(err).NotTo(HaveOccurred())
		runCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cmd := exec.CommandContext(runCtx, self)
		cmd.Env = append(os.Environ(), propagationEnv+"="+probePath)
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags: unix.CLONE_NEWNS,
			Pdeathsig:  syscall.SIGKILL,
			Setpgid:    true,
		}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = time.Second
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		Expect(cmd.Run()).To(Succeed(), "run the outer process; stderr: %s", stderr.String())

		var res propagationResult
		Expect(json.Unmarshal(stdout.Bytes(), &res)).To(Succeed(), "decode the outer process's result: %q", stdout.String())
		AddReportEntry("outer mount namespace", res, ReportEntryVisibilityFailureOrVerbose)
		Expect(res.Error).To(BeEmpty(), "the outer process failed")
		Expect(res.PID).To(Equal(cmd.Process.Pid), "the result is not the outer process's")
		Expect(res.RootShared).To(BeTrue(), "/ is not shared in the outer namespace, so the spec would prove nothing")
		Expect(res.ReportErrors).NotTo(HaveKey("proc"), "the probe could not mount its own /proc")
		Expect(res.ProcPIDs).To(Equal([]int{1}), "the probe's /proc lists pids beyond its own pid namespace")
		Expect(res.After).To(Equal(res.Before), "the outer namespace's mount table changed: the probe's /proc propagated out of its namespace")
		Expect(res.SelfBefore).To(Equal(strconv.Itoa(res.PID)))
		Expect(res.SelfAfter).To(Equal(strconv.Itoa(res.PID)), "the outer namespace's /proc no longer shows the outer process")

		Expect(string(hostMountinfo())).To(Equal(string(hostBefore)), "the host's mount table changed")
	})
})
