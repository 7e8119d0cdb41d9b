//go:build linux

package suite

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("the IPC namespace", Label("ns:ipc"), func() {

	Context("when the child is cloned with ipc", func() {
		It("hides the host's SysV queue and keeps the child's queue off the host", func(ctx SpecContext) {
			m := NewMarkers().WithHostQueue()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.IPC), m), m)
			ExpectKind(c, spawn.IPC)
		})
	})

	Context("when the child is cloned without ipc", func() {
		It("shows the host's SysV queue inside", func(ctx SpecContext) {
			m := NewMarkers().WithHostQueue()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.UTS), m), m)
			ExpectKind(c, spawn.IPC)
		})
	})
})
