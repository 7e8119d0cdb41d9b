//go:build linux

package suite

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("the PID namespace", Label("ns:pid"), func() {

	Context("when the child is cloned with pid", func() {
		It("is pid 1 with no parent inside, while the host knows it by its real pid", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.PID), m), m)
			ExpectKind(c, spawn.PID)
		})
	})

	Context("when the child is cloned without pid", func() {
		It("has the pid the host started", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.UTS), m), m)
			ExpectKind(c, spawn.PID)
		})
	})
})
