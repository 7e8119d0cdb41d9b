//go:build linux

package suite

import (
	"context"
	"fmt"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/internal/testseam"
	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// The host's word decides every verdict: a stand-in probe that relays the
// real probe's report with one lie in it fails, on every kind the lie
// touches, with a message that sets what the probe reports against what
// the host reads.
var _ = Describe("a probe that lies about itself", Label("faults"), func() {
	var fake string
	BeforeEach(func() {
		fake = buildFakeProbe()
	})

	// runLiar runs the stand-in in mode on set, with the options that let
	// every oracle speak, and returns the child.
	runLiar := func(ctx context.Context, mode string, set spawn.Set) *Child {
		needsCreate(set)
		needsKinds(set)
		m := NewMarkers()
		opts := PlanFor(set, m)
		opts.Probe, opts.Subcommand = fake, mode
		var ids []probes.KindNSID
		for _, k := range spawn.All.Kinds() {
			if id, ok := host.NS[string(k)]; ok {
				ids = append(ids, probes.KindNSID{Kind: string(k), ID: id})
			}
		}
		opts.Env = []string{"FAKEPROBE_REAL=" + probePath, "FAKEPROBE_HOST_NS=" + probes.FormatKindNSIDs(ids)}
		return RunChild(ctx, opts, m)
	}

	// present are the kinds this kernel has, in set.
	present := func(set spawn.Set) []spawn.Kind {
		return slices.DeleteFunc(set.Kinds(), func(k spawn.Kind) bool { return !features.Present[k] })
	}

	// expectEveryKindCaught asserts that c, a stand-in that reports the
	// host's namespaces as its own, fails every kind, naming it and what
	// the host reads: the probe's disagreement with the host's reading or,
	// where the stand-in that said hello is not in the namespace the real
	// probe made later (pid, made by the probe's stage with -newpid), the
	// host's reading itself.
	expectEveryKindCaught := func(c *Child, set spawn.Set) {
		for _, kind := range present(set) {
			failure := InterceptGomegaFailure(func() { ExpectKind(c, kind) })
			Expect(failure).To(HaveOccurred(), "%s: a probe that reports the host's %s namespace as its own passed", kind, kind)
			Expect(failure.Error()).To(HavePrefix(string(kind)+":"), "%s: the failure names another kind", kind)
			Expect(failure.Error()).To(Or(
				ContainSubstring(string(kind)+": the probe reports "+host.NS[string(kind)].String()),
				ContainSubstring(fmt.Sprintf("%s: expected the child's %s namespace, as the host reads it, to differ from the host's", kind, kind)),
			), "%s: the lie was caught by a check that does not compare with the host's reading", kind)
			Expect(failure.Error()).To(ContainSubstring("the host reads"))
		}
	}

	It("fails every isolated kind when it reports the host's namespaces as its own, naming the kind and what the host reads", func(ctx SpecContext) {
		c := runLiar(ctx, "lie-ns", spawn.All)
		expectEveryKindCaught(c, spawn.All)
	})

	It("fails every isolated kind in the same way when the probe's stage makes the time namespace, as on kernels before 6.2", func(ctx SpecContext) {
		c := runLiar(testseam.WithTimeNS(ctx, testseam.TimeNSStage), "lie-ns", spawn.All)
		expectEveryKindCaught(c, spawn.All)
	})

	DescribeTable("fails the pid kind when it reports a pid that is not its own",
		func(ctx SpecContext, set spawn.Set) {
			c := runLiar(ctx, "lie-pid", set)
			failure := InterceptGomegaFailure(func() { ExpectKind(c, spawn.PID) })
			Expect(failure).To(HaveOccurred(), "pid: a probe that reports a pid one above its own passed in %s", set)
			Expect(failure.Error()).To(HavePrefix("pid: the probe reports pid "))
			Expect(failure.Error()).To(ContainSubstring("the host reads"))
		},
		Entry("sharing the host's pid namespace", spawn.SetOf(spawn.UTS)),
		Entry("in a pid namespace of its own", spawn.SetOf(spawn.PID, spawn.MNT)),
	)

	It("fails the ownership oracle when it says the kernel cannot tell who owns its namespaces, and the host's ioctl can", func(ctx SpecContext) {
		if !spawn.HasNSIoctls() {
			Skip("this kernel answers no NS_GET_USERNS (Linux 4.9 added it): the probe's error would be the truth here")
		}
		set := spawn.SetOf(spawn.UTS, spawn.User)
		c := runLiar(ctx, "lie-owners", set)
		failure := InterceptGomegaFailure(func() { ExpectKind(c, spawn.UTS) })
		Expect(failure).To(HaveOccurred(), "owners: a probe that reports no owners on a kernel that has the ioctls passed")
		Expect(failure.Error()).To(HavePrefix("owners: the probe in uts+user reports it could not ask"))
	})
})
