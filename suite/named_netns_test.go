//go:build linux

package suite

import (
	"io/fs"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netns"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("a named network namespace pinned at /run/netns", Label("join", "ns:net"), Serial, func() {
	It("outlives the process that made it, holds its link for a probe that joins it by name, and is gone once deleted", func(ctx SpecContext) {
		m := NewMarkers()
		name, made := NamedNetns(ctx, m.ChildLink)
		// The helper that made it has exited: only the bind mount holds it.
		h, err := netns.GetFromName(name)
		Expect(err).NotTo(HaveOccurred(), "net: open the named namespace %s after its maker exited", name)
		pinned, err := nsidOf(h)
		h.Close()
		Expect(err).NotTo(HaveOccurred(), "net: stat /run/netns/%s", name)
		Expect(pinned).To(Equal(made), "net: /run/netns/%s is not the namespace its maker made", name)

		c := RunChild(ctx, spawn.Options{Probe: probePath, Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.Net: netnsDir + "/" + name}}}, m)
		Expect(c).To(BeIsolatedFrom(host, spawn.Net))
		Expect(c.Result.Outside.NS["net"]).To(Equal(pinned), "net: the probe that joined /run/netns/%s is not in it, as the host reads it", name)
		Expect(linkNames(c.Report)).To(ContainElement(m.ChildLink), "net: the probe in /run/netns/%s does not see its link", name)

		control := RunChild(ctx, spawn.Options{Probe: probePath}, m).Report
		Expect(linkNames(control)).NotTo(ContainElement(m.ChildLink), "net: a probe that joined nothing sees the named namespace's link")

		Expect(netns.DeleteNamed(name)).To(Succeed(), "net: delete /run/netns/%s", name)
		// Gone means no such file: any other error (a namespace still
		// pinned but unreadable) would not show it was deleted.
		_, err = netns.GetFromName(name)
		Expect(err).To(MatchError(fs.ErrNotExist), "net: /run/netns/%s is still there after DeleteNamed, or cannot be told gone", name)
	})
})
