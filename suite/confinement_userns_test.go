//go:build linux

package suite

import (
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// Root in a new user namespace holds every capability there, and none over
// a namespace that the host's user namespace owns: each of these changes
// needs a capability over the namespace it changes.
var _ = Describe("root in a new user namespace", Label("confinement"), func() {

	Context("when it shares uts", func() {
		It("cannot set the hostname (EPERM), and the host's stays unchanged", Label("ns:user"), func(ctx SpecContext) {
			m := NewMarkers()
			opts := confinedOpts(spawn.SetOf(spawn.User))
			opts.Actions.Confine.TryHostname = m.Hostname
			DeferCleanup(restoreHostname)
			r := runConfined(ctx, opts).Report
			refusedWith(spawn.UTS, opts.Set, "sethostname", attempt(spawn.UTS, r, "sethostname"), "EPERM")
			name, domain, err := uname()
			Expect(err).NotTo(HaveOccurred(), "uts: read the host's names")
			Expect(name).To(Equal(host.Hostname), "uts: the host's hostname changed after a child in %s tried to set it", opts.Set)
			Expect(domain).To(Equal(host.Domainname), "uts: the host's domainname changed after a child in %s tried to set the hostname", opts.Set)
		})
	})

	Context("when it has uts of its own", func() {
		It("sets the hostname", Label("ns:user", "ns:uts"), func(ctx SpecContext) {
			m := NewMarkers()
			opts := confinedOpts(spawn.SetOf(spawn.User, spawn.UTS))
			opts.Actions.Hostname = m.Hostname
			DeferCleanup(restoreHostname)
			r := runConfined(ctx, opts).Report
			Expect(r.Errors).NotTo(HaveKey("hostname"), "uts: the child in %s could not set its hostname", opts.Set)
			Expect(r.Hostname).To(Equal(m.Hostname), "uts: the child in %s reports another hostname than the one it set", opts.Set)
		})
	})

	Context("when it shares net", func() {
		It("cannot add a link (EPERM), and the host has no such link", Label("ns:user"), func(ctx SpecContext) {
			m := NewMarkers()
			opts := confinedOpts(spawn.SetOf(spawn.User))
			opts.Actions.Confine.TryLink = m.ChildLink
			DeferCleanup(removeLinkByName, m.ChildLink)
			r := runConfined(ctx, opts).Report
			refusedWith(spawn.Net, opts.Set, "add link", attempt(spawn.Net, r, "add link"), "EPERM")
			links, err := hostLinkNames()
			Expect(err).NotTo(HaveOccurred(), "net: list the host's links")
			Expect(links).NotTo(ContainElement(m.ChildLink), "net: the link a child in %s tried to add is on the host", opts.Set)
		})
	})

	Context("when it has net of its own", func() {
		It("adds a link", Label("ns:user", "ns:net"), func(ctx SpecContext) {
			m := NewMarkers()
			opts := confinedOpts(spawn.SetOf(spawn.User, spawn.Net))
			opts.Actions.MarkerLink = m.ChildLink
			DeferCleanup(removeLinkByName, m.ChildLink)
			r := runConfined(ctx, opts).Report
			Expect(r.Errors).NotTo(HaveKey("links"), "net: the child in %s could not add its link", opts.Set)
			Expect(r.Links).NotTo(BeNil(), "net: no links from the child in %s", opts.Set)
			Expect(r.Links.Names).To(ContainElement(m.ChildLink), "net: the link the child in %s added is missing from its own listing", opts.Set)
		})

		It("starts with lo down, while the host's lo is up", Label("ns:user", "ns:net"), func(ctx SpecContext) {
			opts := confinedOpts(spawn.SetOf(spawn.User, spawn.Net))
			r := runConfined(ctx, opts).Report
			Expect(r.Links).NotTo(BeNil(), "net: no links from the child in %s; errors: %v", opts.Set, r.Errors)
			Expect(r.Links.Flags).To(HaveKey("lo"), "net: the child in %s reports no flags for lo", opts.Set)
			Expect(flagsOf(r.Links.Flags["lo"])).NotTo(ContainElement("up"), "net: lo of the child in %s is up (%s), want down", opts.Set, r.Links.Flags["lo"])
			Expect(host.Report.Links).NotTo(BeNil(), "net: the host baseline has no links")
			Expect(flagsOf(host.Report.Links.Flags["lo"])).To(ContainElement("up"), "net: the host's lo is not up (%s)", host.Report.Links.Flags["lo"])
		})
	})

	Context("when it shares mnt", func() {
		It("cannot mount (EPERM), and the host's mount table is unchanged", Label("ns:user"), func(ctx SpecContext) {
			opts := confinedOpts(spawn.SetOf(spawn.User, spawn.PID))
			opts.Actions.Confine.TryMountProc = true
			before := hostMountinfo()
			r := runConfined(ctx, opts).Report
			refusedWith(spawn.MNT, opts.Set, "mount proc", attempt(spawn.MNT, r, "mount proc"), "EPERM")
			Expect(string(hostMountinfo())).To(Equal(string(before)), "mnt: the host's mount table changed after a child in %s tried to mount", opts.Set)
		})
	})

	Context("when it has mnt of its own", func() {
		It("mounts /proc", Label("ns:user", "ns:mnt", "ns:pid"), func(ctx SpecContext) {
			opts := confinedOpts(spawn.SetOf(spawn.User, spawn.PID, spawn.MNT))
			opts.Actions.MountProc = true
			before := hostMountinfo()
			r := runConfined(ctx, opts).Report
			Expect(r.Errors).NotTo(HaveKey("proc"), "mnt: the child in %s could not mount /proc", opts.Set)
			Expect(r.Proc).NotTo(BeNil(), "mnt: no /proc listing from the child in %s", opts.Set)
			Expect(r.Proc.PIDs).To(Equal([]int{1}), "mnt: the /proc the child in %s mounted lists pids beyond its namespace", opts.Set)
			Expect(r.Proc.Complete).To(BeTrue(), "mnt: the /proc the child in %s mounted lists more than %d pids", opts.Set, probes.ProcListMax)
			Expect(string(hostMountinfo())).To(Equal(string(before)), "mnt: the host's mount table changed while a child in %s mounted its own /proc", opts.Set)
		})
	})
})

// flagsOf splits interface flags as net.Flags prints them ("up|loopback").
func flagsOf(s string) []string {
	return slices.DeleteFunc(strings.Split(s, "|"), func(f string) bool { return f == "" })
}
