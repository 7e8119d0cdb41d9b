//go:build linux

package suite

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("the time namespace", Label("ns:time"), func() {
	BeforeEach(func() { needsKinds(spawn.SetOf(spawn.Time)) })

	Context("when the child is cloned with time and given offsets", func() {
		It("reads monotonic and boottime clocks shifted by those offsets, while the host's are not", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.Time), m), m)
			ExpectKind(c, spawn.Time)
		})

		It("is still pid 1 when cloned with pid as well, though its launcher wrote the offsets", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.PID, spawn.Time), m), m)
			ExpectKind(c, spawn.Time)
			ExpectKind(c, spawn.PID)
		})
	})

	Context("when the child is cloned with time and no offsets, a plain clone flag", func() {
		It("is in a time namespace of its own whose clocks read the host's, as a new one starts at zero offsets", func(ctx SpecContext) {
			m := NewMarkers()
			opts := PlanFor(spawn.SetOf(spawn.Time), m)
			opts.Actions.MonotonicOffset, opts.Actions.BoottimeOffset = 0, 0
			c := RunChild(ctx, opts, m)
			Expect(c.Report.Launcher).To(BeNil(), "time: without offsets the child is cloned straight into its time namespace, with no launcher")
			ExpectKind(c, spawn.Time)
		})
	})

	Context("when the child is cloned without time", func() {
		It("reads the host's clocks", func(ctx SpecContext) {
			m := NewMarkers()
			c := RunChild(ctx, PlanFor(spawn.SetOf(spawn.UTS), m), m)
			ExpectKind(c, spawn.Time)
		})
	})
})
