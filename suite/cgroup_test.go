//go:build linux

package suite

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("the cgroup namespace", Label("ns:cgroup"), func() {
	BeforeEach(func() { needsKinds(spawn.SetOf(spawn.Cgroup)) })

	// run clones a child in set, put where place says, and judges its
	// cgroup view against the path place returns; where place chose a
	// cgroup of the child's own, the host's view of the child too.
	run := func(ctx SpecContext, set spawn.Set, place func(*spawn.Options) string) {
		m := NewMarkers()
		opts := PlanFor(set, m)
		hostPath := place(&opts)
		c := RunChild(ctx, opts, m)
		c.CgroupHostPath = hostPath
		ExpectKind(c, spawn.Cgroup)
	}
	// intoNewCgroup makes a cgroup for the child alone and clones it
	// straight into it.
	intoNewCgroup := func(opts *spawn.Options) string {
		dir, hostPath := DedicatedCgroup()
		opts.CgroupDir = dir
		return hostPath
	}

	Context("when the child is cloned with cgroup where the suite placed it", func() {
		It("sees that cgroup as /", func(ctx SpecContext) {
			run(ctx, spawn.SetOf(spawn.Cgroup), childCgroup)
		})
	})

	Context("when the child is cloned with cgroup straight into a new cgroup (CLONE_INTO_CGROUP)", func() {
		It("sees that cgroup as /, while the host sees it at its real path", func(ctx SpecContext) {
			run(ctx, spawn.SetOf(spawn.Cgroup), intoNewCgroup)
		})
	})

	Context("when the child is cloned without cgroup where the suite placed it", func() {
		It("sees that cgroup at the host's path", func(ctx SpecContext) {
			run(ctx, spawn.SetOf(spawn.UTS), childCgroup)
		})
	})
})
