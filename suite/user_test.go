//go:build linux

package suite

import (
	"os"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("the user namespace", Label("ns:user"), func() {

	Context("when the child is cloned with user and the 0→0 maps", func() {
		It("is uid and gid 0 inside and reads the maps back as written", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.User), m), m)
			ExpectKind(c, spawn.User)
		})
	})

	Context("when the child is cloned with user and an unprivileged map", func() {
		It("is uid 0 inside, reads the maps back, and maps 0 to 100000 on the host", func(ctx SpecContext) {
			m := NewMarkers()
			opts := PlanFor(spawn.SetOf(spawn.User), m)
			opts.UIDMap = []spawn.IDMap{{Inside: 0, Outside: 100000, Count: 65536}}
			opts.GIDMap = []spawn.IDMap{{Inside: 0, Outside: 100000, Count: 65536}}
			needs(features.CanMapIDs(opts.UIDMap, opts.GIDMap))
			dir := GinkgoT().TempDir()
			// Writable by the mapped id, as /tmp is.
			Expect(os.Chmod(dir, 0o1777)).To(Succeed())
			opts.Actions.CreateFile = filepath.Join(dir, "made-inside")
			c := RunChild(ctx, opts, m)
			ExpectKind(c, spawn.User)
			Expect(c.Report.Errors).NotTo(HaveKey("user"), "user: the child in %s could not create its file", c.Set)
			var st syscall.Stat_t
			Expect(syscall.Stat(opts.Actions.CreateFile, &st)).To(Succeed(), "user: the file the child made is missing")
			Expect(st.Uid).To(BeEquivalentTo(100000), "user: a file made by uid 0 inside %s is owned by %d on the host, want 100000", c.Set, st.Uid)
			Expect(st.Gid).To(BeEquivalentTo(100000), "user: a file made by gid 0 inside %s has group %d on the host, want 100000", c.Set, st.Gid)
		})
	})

	Context("when the child is cloned without user", func() {
		It("has the host's ids and maps", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.UTS), m), m)
			ExpectKind(c, spawn.User)
		})
	})
})
