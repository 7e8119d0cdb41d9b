//go:build linux

package suite

import (
	"os"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("the mount namespace", Label("ns:mnt"), func() {

	// The host's /proc still belongs to the host's pid namespace.
	expectHostProcIntact := func() {
		self, err := os.Readlink("/proc/self")
		Expect(err).NotTo(HaveOccurred(), "mnt: read the host's /proc/self")
		Expect(self).To(Equal(strconv.Itoa(os.Getpid())), "mnt: the host's /proc no longer shows the suite's own pid")
	}

	Context("when the child is cloned with mnt and pid", func() {
		It("mounts a private /proc that lists only the namespace's pids and leaves the host's mounts alone", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.PID, spawn.MNT), m), m)
			ExpectKind(c, spawn.MNT)
			expectHostProcIntact()
		})
	})

	Context("when the child is cloned with user and mnt but without pid", func() {
		It("is refused a /proc mount, since it has no capability over the host's pid namespace", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.MNT, spawn.User), m), m)
			ExpectKind(c, spawn.MNT)
			Expect(c.Report.Hostname).To(Equal(host.Hostname), "the other observations still report")
		})
	})

	Context("when the child is cloned without mnt", func() {
		It("shares the host's mount namespace and /proc", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.PID), m), m)
			ExpectKind(c, spawn.MNT)
		})

		It("refuses to mount /proc, which would be the host's", func(ctx SpecContext) {
			m := NewMarkers()
			opts := PlanFor(spawn.SetOf(spawn.PID), m)
			opts.Actions.MountProc = true
			c := RunChild(ctx, opts, m)
			Expect(c.Report.Errors).To(HaveKeyWithValue("proc", ContainSubstring("refused: not in a new")),
				"mnt: the probe did not refuse a /proc mount in the host's mount namespace")
			Expect(string(c.MountinfoAfter)).To(Equal(string(c.MountinfoBefore)), "mnt: the host's mount table changed")
			expectHostProcIntact()
		})
	})
})
