//go:build linux

package suite

import (
	"os/exec"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("the network namespace", Label("ns:net"), func() {

	Context("when the child is cloned with net", func() {
		It("sees only lo and its own marker, not the host's marker link", func(ctx SpecContext) {
			m := NewMarkers().WithHostLink()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.Net), m), m)
			ExpectKind(c, spawn.Net)
		})

		It("has a network namespace that the host, looking from outside, finds different and holding only lo", func() {
			m := NewMarkers().WithHostLink()
			ns := heldNetns(spawn.SetOf(spawn.Net))
			self, err := netns.Get()
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(self.Close)
			Expect(ns.Equal(self)).To(BeFalse(), "net: the child's network namespace %s is the suite's %s", ns.UniqueId(), self.UniqueId())
			Expect(linksAt(ns)).To(Equal([]string{"lo"}), "net: seen from outside, the child's namespace holds links beyond lo (the host's marker is %s)", m.HostLink)
		})
	})

	Context("when the child is cloned without net", func() {
		It("sees the host's links, the marker included", func(ctx SpecContext) {
			m := NewMarkers().WithHostLink()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.UTS), m), m)
			ExpectKind(c, spawn.Net)
		})

		It("has the host's network namespace, seen from outside", func() {
			m := NewMarkers().WithHostLink()
			ns := heldNetns(spawn.SetOf(spawn.UTS))
			self, err := netns.Get()
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(self.Close)
			Expect(ns.Equal(self)).To(BeTrue(), "net: the child's network namespace %s is not the suite's %s", ns.UniqueId(), self.UniqueId())
			Expect(linksAt(ns)).To(ContainElement(m.HostLink), "net: seen from outside, the child's namespace lacks the host's marker")
		})
	})
})

// heldNetns starts a child that stays alive in set (sleep stands in for a
// long-lived process) and returns a handle on its network namespace, taken
// from outside with netns.GetFromPid: the suite never enters it. The child
// is killed by its pid when the spec ends.
func heldNetns(set spawn.Set) netns.NsHandle {
	GinkgoHelper()
	needsCreate(set)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		Skip("needs the sleep command to hold a namespace open while the host looks at it")
	}
	cmd := exec.Command(sleep, "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: set.CloneFlags(), Pdeathsig: syscall.SIGKILL, Setpgid: true}
	Expect(cmd.Start()).To(Succeed(), "start a child in %s", set)
	DeferCleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ns, err := netns.GetFromPid(cmd.Process.Pid)
	Expect(err).NotTo(HaveOccurred(), "net: open the network namespace of pid %d", cmd.Process.Pid)
	DeferCleanup(ns.Close)
	return ns
}

// linksAt lists the links of a network namespace through a netlink socket
// opened in it, without the calling thread entering it.
func linksAt(ns netns.NsHandle) []string {
	GinkgoHelper()
	h, err := netlink.NewHandleAt(ns)
	Expect(err).NotTo(HaveOccurred(), "open a netlink handle in %s", ns.UniqueId())
	defer h.Close()
	names, err := probes.LinkNames(h.LinkList)
	Expect(err).NotTo(HaveOccurred())
	return names
}
