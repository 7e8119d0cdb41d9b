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
		Expect(string(hostMountinfoWatched())).NotTo(ContainSubstring(" "+dir+" "), "mnt: the scratch directory %s is a mount point before the spec mounts it", dir)
		Expect(unix.Mount("nsverify-watch", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k")).To(Succeed(), "mnt: mount a tmpfs on the host at %s", dir)
		mounted := true
		DeferCleanup(func() {
			if mounted {
				Expect(unix.Unmount(dir, unix.MNT_DETACH)).To(Succeed(), "mnt: detach the tmpfs the spec left mounted at %s", dir)
			}
		})
		Expect(string(hostMountinfoWatched())).To(ContainSubstring(" "+dir+" "), "mnt: the watched mount table does not show the tmpfs just mounted at %s", dir)
		Expect(unix.Unmount(dir, 0)).To(Succeed(), "mnt: unmount the tmpfs at %s", dir)
		mounted = false
		Expect(string(hostMountinfoWatched())).NotTo(ContainSubstring(" "+dir+" "), "mnt: the watched mount table still shows the tmpfs unmounted from %s", dir)
		Expect(hostMountinfoWatched()).To(Equal(hostMountinfo()), "mnt: the watched mount table differs from the table read whole")
	})

	It("shows a link added on the host since the last look, and its removal", func() {
		needs(canAddHostLink())
		names, err := hostLinkNames()
		Expect(err).NotTo(HaveOccurred(), "net: read the host's links through the watch")
		m := Markers{}.WithHostLink()
		Expect(names).NotTo(ContainElement(m.HostLink), "net: the watched links showed %s before it was added", m.HostLink)
		names, err = hostLinkNames()
		Expect(err).NotTo(HaveOccurred(), "net: read the host's links through the watch after adding %s", m.HostLink)
		Expect(names).To(ContainElement(m.HostLink), "net: the watched links do not show the link %s just added", m.HostLink)
		removeLinkByName(m.HostLink)
		names, err = hostLinkNames()
		Expect(err).NotTo(HaveOccurred(), "net: read the host's links through the watch after removing %s", m.HostLink)
		Expect(names).NotTo(ContainElement(m.HostLink), "net: the watched links still show the link %s just removed", m.HostLink)
		_, err = os.Stat("/sys/class/net/" + m.HostLink)
		Expect(os.IsNotExist(err)).To(BeTrue(), "net: the link %s is still on the host: %v", m.HostLink, err)
	})
})
