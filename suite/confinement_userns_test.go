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
		It("cannot set the hostname: the over-long sethostname is refused (EPERM), and the host's names stay unchanged", Label("ns:user"), func(ctx SpecContext) {
			m := NewMarkers()
			opts := confinedOpts(spawn.SetOf(spawn.User))
			opts.Actions.Confine.TryHostname = m.Hostname
			DeferCleanup(restoreHostname)
			r := runConfined(ctx, opts).Report
			refusedCall(spawn.UTS, opts.Set, probes.AttemptSethostname, attempt(spawn.UTS, r, probes.AttemptSethostname), probes.SethostnameCall(m.Hostname))
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

		It("is answered EINVAL for the same over-long sethostname: permitted, rejected for its length, and its hostname unchanged", Label("ns:user", "ns:uts"), func(ctx SpecContext) {
			// The control of "cannot set the hostname": the same call,
			// where the kernel passes the capability check.
			m := NewMarkers()
			opts := confinedOpts(spawn.SetOf(spawn.User, spawn.UTS))
			opts.Actions.Confine.TryHostname = m.Hostname
			r := runConfined(ctx, opts).Report
			permittedCall(spawn.UTS, opts.Set, probes.AttemptSethostname, attempt(spawn.UTS, r, probes.AttemptSethostname), probes.SethostnameCall(m.Hostname))
			Expect(r.Errors).NotTo(HaveKey("hostname"), "uts: the child in %s could not read its hostname", opts.Set)
			Expect(r.Hostname).To(Equal(host.Hostname), "uts: the child in %s has another hostname than the one its uts namespace started with, the host's, after the over-long sethostname", opts.Set)
		})
	})

	Context("when it shares net", func() {
		It("cannot add a link: the RTM_NEWLINK with an over-long name is refused (EPERM), and the host has no such link", Label("ns:user"), func(ctx SpecContext) {
			m := NewMarkers()
			opts := confinedOpts(spawn.SetOf(spawn.User))
			opts.Actions.Confine.TryLink = m.ChildLink
			// What a kernel that took the name would have kept of it.
			kept := probes.OverlongLinkName(m.ChildLink)[:probes.MaxLinkNameLen]
			DeferCleanup(removeLinkByName, kept)
			r := runConfined(ctx, opts).Report
			refusedCall(spawn.Net, opts.Set, probes.AttemptAddLink, attempt(spawn.Net, r, probes.AttemptAddLink), probes.AddLinkCall(m.ChildLink))
			links, err := hostLinkNames()
			Expect(err).NotTo(HaveOccurred(), "net: list the host's links")
			Expect(links).NotTo(ContainElements(m.ChildLink, kept), "net: the link a child in %s tried to add is on the host", opts.Set)
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

		It("is answered ERANGE for the same RTM_NEWLINK: permitted, rejected for the name, and it has only lo", Label("ns:user", "ns:net"), func(ctx SpecContext) {
			// The control of "cannot add a link": the same call, where the
			// kernel passes the capability check.
			m := NewMarkers()
			opts := confinedOpts(spawn.SetOf(spawn.User, spawn.Net))
			opts.Actions.Confine.TryLink = m.ChildLink
			r := runConfined(ctx, opts).Report
			permittedCall(spawn.Net, opts.Set, probes.AttemptAddLink, attempt(spawn.Net, r, probes.AttemptAddLink), probes.AddLinkCall(m.ChildLink))
			Expect(r.Links).NotTo(BeNil(), "net: no links from the child in %s; errors: %v", opts.Set, r.Errors)
			Expect(r.Links.Names).To(Equal([]string{"lo"}), "net: the child in %s has links besides lo after the RTM_NEWLINK with an over-long name", opts.Set)
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
		It("cannot mount: the mount of proc with an unknown option is refused (EPERM), and the host's mount table is unchanged", Label("ns:user"), func(ctx SpecContext) {
			opts := confinedOpts(spawn.SetOf(spawn.User, spawn.PID))
			opts.Actions.Confine.TryMountProc = true
			before := hostMountinfo()
			r := runConfined(ctx, opts).Report
			refusedCall(spawn.MNT, opts.Set, probes.AttemptMountProc, attempt(spawn.MNT, r, probes.AttemptMountProc), probes.MountProcCall())
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

		It("is answered EINVAL for the same mount of proc: permitted, rejected for the option, and the host's mount table is unchanged", Label("ns:user", "ns:mnt", "ns:pid"), func(ctx SpecContext) {
			// The control of "cannot mount": the same call, where the
			// kernel passes the capability check. The pid namespace is the
			// child's too, so that a valid proc mount would be permitted
			// here as a whole, as the spec above shows.
			opts := confinedOpts(spawn.SetOf(spawn.User, spawn.PID, spawn.MNT))
			opts.Actions.Confine.TryMountProc = true
			before := hostMountinfo()
			r := runConfined(ctx, opts).Report
			permittedCall(spawn.MNT, opts.Set, probes.AttemptMountProc, attempt(spawn.MNT, r, probes.AttemptMountProc), probes.MountProcCall())
			Expect(string(hostMountinfo())).To(Equal(string(before)), "mnt: the host's mount table changed after a child in %s made the mount of proc with an unknown option", opts.Set)
		})
	})
})

// flagsOf splits interface flags as net.Flags prints them ("up|loopback").
func flagsOf(s string) []string {
	return slices.DeleteFunc(strings.Split(s, "|"), func(f string) bool { return f == "" })
}
