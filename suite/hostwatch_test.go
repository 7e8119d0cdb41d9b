//go:build linux

package suite

import (
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/spawn"
)

// The matrix reads the host's mount table and links around every child
// only when the kernel says they changed (hostMountinfoWatched,
// hostLinkNames). These specs make such a change on the host, for a
// moment, and check that the next look shows it: a watch that missed it
// would let a leaked mount or link pass. Serial: the moment's mount and
// link are the host's, which other specs compare before and after.
var _ = Describe("the host's state read around each matrix child", Serial, Label("host"), func() {

	It("shows a mount added on the host since the last look, and its removal", func() {
		needs(features.NeedOver(spawn.MNT, spawn.CapSysAdmin, "mount a tmpfs on the host for a moment"))
		dir := GinkgoT().TempDir()
		Expect(string(hostMountinfoWatched())).NotTo(ContainSubstring(" "+dir+" "), "the scratch directory is a mount point before the spec mounts it")
		Expect(unix.Mount("nsverify-watch", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k")).To(Succeed())
		mounted := true
		DeferCleanup(func() {
			if mounted {
				Expect(unix.Unmount(dir, unix.MNT_DETACH)).To(Succeed())
			}
		})
		Expect(string(hostMountinfoWatched())).To(ContainSubstring(" "+dir+" "), "the watched mount table does not show the tmpfs just mounted at %s", dir)
		Expect(unix.Unmount(dir, 0)).To(Succeed())
		mounted = false
		Expect(string(hostMountinfoWatched())).NotTo(ContainSubstring(" "+dir+" "), "the watched mount table still shows the tmpfs unmounted from %s", dir)
		Expect(hostMountinfoWatched()).To(Equal(hostMountinfo()), "the watched mount table differs from the table read whole")
	})

	It("shows a link added on the host since the last look, and its removal", func() {
		needs(canAddHostLink())
		names, err := hostLinkNames()
		Expect(err).NotTo(HaveOccurred())
		m := Markers{}.WithHostLink()
		Expect(names).NotTo(ContainElement(m.HostLink))
		names, err = hostLinkNames()
		Expect(err).NotTo(HaveOccurred())
		Expect(names).To(ContainElement(m.HostLink), "the watched links do not show the link just added")
		removeLinkByName(m.HostLink)
		names, err = hostLinkNames()
		Expect(err).NotTo(HaveOccurred())
		Expect(names).NotTo(ContainElement(m.HostLink), "the watched links still show the link just removed")
		_, err = os.Stat("/sys/class/net/" + m.HostLink)
		Expect(os.IsNotExist(err)).To(BeTrue(), "the link %s is still on the host", m.HostLink)
	})
})
