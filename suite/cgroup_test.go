//go:build linux

package suite

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("the cgroup namespace", Label("ns:cgroup"), func() {
	BeforeEach(func() { needsKinds(spawn.SetOf(spawn.Cgroup)) })

	run := func(ctx SpecContext, set spawn.Set) {
		m := NewMarkers()
		opts := PlanFor(set, m)
		hostPath := childCgroup(&opts)
		c := RunChild(ctx, opts, m)
		c.CgroupHostPath = hostPath
		ExpectKind(c, spawn.Cgroup)
	}

	Context("when the child is cloned with cgroup into a cgroup of its own", func() {
		It("sees that cgroup as /, while the host sees it at its real path", func(ctx SpecContext) {
			run(ctx, spawn.SetOf(spawn.Cgroup))
		})
	})

	Context("when the child is cloned with cgroup straight into a new cgroup (CLONE_INTO_CGROUP)", func() {
		It("sees that cgroup as /, while the host sees it at its real path", func(ctx SpecContext) {
			m := NewMarkers()
			opts := PlanFor(spawn.SetOf(spawn.Cgroup), m)
			dir, hostPath := DedicatedCgroup()
			opts.CgroupDir = dir
			c := RunChild(ctx, opts, m)
			c.CgroupHostPath = hostPath
			ExpectKind(c, spawn.Cgroup)
		})
	})

	Context("when the child is cloned without cgroup into a cgroup of its own", func() {
		It("sees that cgroup at the host's path", func(ctx SpecContext) {
			run(ctx, spawn.SetOf(spawn.UTS))
		})
	})
})
