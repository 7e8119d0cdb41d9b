//go:build linux

package suite

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("a child's pid namespace", Label("confinement"), func() {

	signal := func(ctx SpecContext, set spawn.Set) (string, string) {
		GinkgoHelper()
		opts := confinedOpts(set)
		opts.Actions.Confine.SignalPID = os.Getpid()
		r := runConfined(ctx, opts).Report
		a := attempt(spawn.PID, r, "signal "+strconv.Itoa(os.Getpid()))
		return a.Result, a.Detail
	}

	It("when new, hides the suite's process: signal 0 to the suite's host pid fails with ESRCH", Label("ns:pid"), func(ctx SpecContext) {
		set := rootlessOr(spawn.SetOf(spawn.PID))
		result, detail := signal(ctx, set)
		Expect(result).To(Equal("ESRCH"), "pid: signal 0 from a child in %s to the suite's pid %d: %s (%s), want ESRCH", set, os.Getpid(), result, detail)
	})

	It("when shared, reaches the suite's process with signal 0", func(ctx SpecContext) {
		set := rootlessOr(spawn.None)
		result, detail := signal(ctx, set)
		Expect(result).To(Equal("allowed"), "pid: signal 0 from a child in %s to the suite's pid %d: %s (%s), want it delivered", set, os.Getpid(), result, detail)
	})

	It("when new, with a /proc of its own, has the child as /proc/1", Label("ns:pid", "ns:mnt"), func(ctx SpecContext) {
		opts := confinedOpts(rootlessOr(spawn.SetOf(spawn.PID, spawn.MNT)))
		opts.Actions.MountProc = true
		r := runConfined(ctx, opts).Report
		Expect(r.Errors).NotTo(HaveKey("proc"), "pid: the child in %s could not mount its /proc", opts.Set)
		Expect(r.Proc).NotTo(BeNil(), "pid: no /proc listing from the child in %s", opts.Set)
		Expect(r.Proc.Self).To(Equal("1"), "pid: /proc/self of the child in %s is %q, want 1", opts.Set, r.Proc.Self)
		Expect(r.PID).To(Equal(1), "pid: the child in %s is not pid 1", opts.Set)
	})

	It("when shared, with a /proc of its own, has the child under its host pid", func(ctx SpecContext) {
		// A /proc for the host's pid namespace needs CAP_SYS_ADMIN over the
		// user namespace that owns it, which root in a user namespace of
		// its own (or a child in a new one) lacks: the kernel refuses.
		needs(features.CanCreate(spawn.SetOf(spawn.MNT)))
		needs(features.NeedOver(spawn.PID, spawn.CapSysAdmin, "mount a /proc for it"))
		opts := confinedOpts(spawn.SetOf(spawn.MNT))
		opts.Actions.MountProc = true
		res := runConfined(ctx, opts)
		r := res.Report
		Expect(r.Errors).NotTo(HaveKey("proc"), "pid: the child in %s could not mount its /proc", opts.Set)
		Expect(r.Proc).NotTo(BeNil(), "pid: no /proc listing from the child in %s", opts.Set)
		Expect(r.Proc.Self).To(Equal(strconv.Itoa(res.HostPID)), "pid: /proc/self of the child in %s is %q, want its host pid %d", opts.Set, r.Proc.Self, res.HostPID)
	})

	It("when new, takes its init's descendants with it when init exits", Label("ns:pid"), func(ctx SpecContext) {
		opts := confinedOpts(rootlessOr(spawn.SetOf(spawn.PID)))
		opts.Actions.Confine.LeaveDescendant = true
		r := runConfined(ctx, opts).Report
		Expect(r.Errors).NotTo(HaveKey("confine"), "pid: the child in %s could not start its descendant", opts.Set)
		pid := r.Confine.DescendantPID
		Expect(pid).To(BeNumerically(">", 1), "pid: the child in %s reports no host pid for its descendant", opts.Set)
		DeferCleanup(killDescendant, pid)
		Expect(unix.Kill(pid, 0)).To(MatchError(unix.ESRCH), "pid: the descendant (host pid %d) of init of a child in %s still runs after init exited", pid, opts.Set)
	})

	It("when shared, lets a descendant outlive the child", func(ctx SpecContext) {
		opts := confinedOpts(rootlessOr(spawn.None))
		opts.Actions.Confine.LeaveDescendant = true
		r := runConfined(ctx, opts).Report
		Expect(r.Errors).NotTo(HaveKey("confine"), "pid: the child in %s could not start its descendant", opts.Set)
		pid := r.Confine.DescendantPID
		Expect(pid).To(BeNumerically(">", 1), "pid: the child in %s reports no host pid for its descendant", opts.Set)
		DeferCleanup(killDescendant, pid)
		Expect(isDescendant(pid)).To(BeTrue(), "pid: the descendant (host pid %d) of a child in %s is gone after the child exited", pid, opts.Set)
	})
})

// isDescendant reports whether pid is a probe started as -descendant.
func isDescendant(pid int) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && strings.Contains(string(cmdline), "-descendant")
}

// killDescendant kills the probe's descendant at pid, if it is still
// that process, and waits until it is gone.
func killDescendant(pid int) {
	if !isDescendant(pid) {
		return
	}
	_ = unix.Kill(pid, unix.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) || !isDescendant(pid) {
			return
		}
	}
}
