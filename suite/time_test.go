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
		It("is in a time namespace of its own, told from the host's by identity alone, whose clocks read within the host's reads around it", func(ctx SpecContext) {
			m := NewMarkers()
			opts := PlanFor(spawn.SetOf(spawn.Time), m)
			opts.Actions.MonotonicOffset, opts.Actions.BoottimeOffset = 0, 0
			c := RunChild(ctx, opts, m)
			Expect(c.Report.Launcher).To(BeNil(), "time: without offsets the child is cloned straight into its time namespace, with no launcher")
			ExpectKind(c, spawn.Time)
			// A new time namespace starts at zero offsets, so its clocks
			// are the host's: no behaviour tells it apart, and the matrix
			// must not count this child's clocks as evidence of isolation.
			identityOnly(c, spawn.Time, "the child's time namespace has zero offsets, so its clocks read as the host's and only its identity differs")
			// What can be asserted is that zero means zero: the child read
			// each clock between the host's two reads of it around the
			// child's whole life, with no slack at all.
			Expect(c.Report.Clock).NotTo(BeNil(), "time: no clocks from the child in %s; errors: %v", c.Set, c.Report.Errors)
			Expect(c.Report.Clock.MonotonicNS).To(BeNumerically(">=", c.MonotonicBefore), "time: the child in %s with zero offsets reads a monotonic clock behind the host's read before it", c.Set)
			Expect(c.Report.Clock.MonotonicNS).To(BeNumerically("<=", c.MonotonicAfter), "time: the child in %s with zero offsets reads a monotonic clock ahead of the host's read after it", c.Set)
			Expect(c.Report.Clock.BoottimeNS).To(BeNumerically(">=", c.BoottimeBefore), "time: the child in %s with zero offsets reads a boottime clock behind the host's read before it", c.Set)
			Expect(c.Report.Clock.BoottimeNS).To(BeNumerically("<=", c.BoottimeAfter), "time: the child in %s with zero offsets reads a boottime clock ahead of the host's read after it", c.Set)
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
