//go:build linux

package suite

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("the UTS namespace", Label("ns:uts"), func() {

	Context("when the child is cloned with uts", func() {
		It("keeps the host's hostname and domainname when the child sets its own", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.UTS), m), m)
			ExpectKind(c, spawn.UTS)
		})
	})

	Context("when the child is cloned without uts", func() {
		It("reports the host's hostname, domainname and uts namespace", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.IPC), m), m)
			ExpectKind(c, spawn.UTS)
		})
	})
})
