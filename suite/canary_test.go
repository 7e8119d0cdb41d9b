//go:build linux

package suite

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/suite/canary"
)

// runWithCanaries plants every canary this process may plant, runs a
// child in set that tries to reach them, and returns what the host saw.
// Serial: the mount canary changes the host's mount table for a moment,
// which the mount oracles of parallel specs must not see.
func runWithCanaries(ctx context.Context, set spawn.Set) (*Child, []canary.Result) {
	GinkgoHelper()
	mount, noMount := features.NeedOver(spawn.MNT, spawn.CapSysAdmin, "mount the mount canary in it")
	p, err := canary.Plant(canary.Options{Probe: probePath, Mount: mount, NoMount: noMount})
	Expect(err).NotTo(HaveOccurred(), "canary: plant the canaries")
	DeferCleanup(p.Remove)
	opts := spawn.Options{Probe: probePath, Set: set}
	if set.Has(spawn.User) {
		opts.UIDMap, opts.GIDMap = spawn.CallerMaps()
	}
	spec := p.Spec()
	opts.Canaries = &spec
	opts.WhileHeld = p.WhileHeld
	c := RunChild(ctx, opts, NewMarkers())
	results := p.Results(c.Report)
	addReportEntry("canaries "+set.String(), results)
	return c, results
}

// judgeCanaries returns the canary failures of a child in set.
func judgeCanaries(set spawn.Set, results []canary.Result) []string {
	return canary.Judge(results, func(kind string) bool { return set.Has(spawn.Kind(kind)) })
}

var _ = Describe("the host's canaries", Label("canary"), Serial, func() {
	It("are every one reached from a child in none of its own namespaces, the control", func(ctx SpecContext) {
		_, results := runWithCanaries(ctx, spawn.None)
		for _, r := range results {
			if !r.Planted {
				addReportEntry("canary not planted", r.Name+": "+r.Reason)
				continue
			}
			Expect(r.Reached).To(BeTrue(), "%s: the control did not reach canary %s (%s): %s / %s", r.Kind, r.Name, r.Where, r.Probe, r.Host)
			Expect(r.Disagree).To(BeEmpty(), "%s: canary %s", r.Kind, r.Name)
		}
		Expect(judgeCanaries(spawn.None, results)).To(BeEmpty())
	})

	DescribeTable("are not reached across the kind that isolates them, and still reached across the others",
		func(ctx SpecContext, kind spawn.Kind) {
			set := spawn.SetOf(kind)
			if kind == spawn.PID {
				// A pid namespace holds its own /proc only with a mount
				// namespace; the process canary is reached by kill alone.
				set = spawn.SetOf(spawn.PID)
			}
			needsCreate(set)
			needsKinds(set)
			_, results := runWithCanaries(ctx, set)
			isolatedSeen, why := 0, ""
			for _, r := range results {
				if !r.Planted {
					if r.Kind == string(kind) {
						why = r.Reason
					}
					continue
				}
				if r.Kind == string(kind) {
					isolatedSeen++
					Expect(r.Reached).To(BeFalse(), "%s: canary %s (%s) was reached from a child in %s: %s / %s", kind, r.Name, r.Where, set, r.Probe, r.Host)
				}
			}
			if isolatedSeen == 0 && why != "" {
				Skip(fmt.Sprintf("%s: its canary could not be planted: %s", kind, why))
			}
			Expect(isolatedSeen).To(BeNumerically(">", 0), "%s: no canary of this kind was planted", kind)
			Expect(judgeCanaries(set, results)).To(BeEmpty())
		},
		Entry("net", spawn.Net),
		Entry("ipc", spawn.IPC),
		Entry("mnt", spawn.MNT),
		Entry("pid", spawn.PID),
	)

	It("fail naming the kind and the canary when a child reaches one across a kind it should have of its own", func(ctx SpecContext) {
		// A child that shares net, judged as though it had its own: the
		// escape the judgement must name.
		_, results := runWithCanaries(ctx, spawn.None)
		failures := canary.Judge(results, func(kind string) bool { return kind == "net" })
		Expect(failures).NotTo(BeEmpty())
		for _, f := range failures {
			Expect(f).To(HavePrefix("net: canary net-"))
			Expect(f).To(ContainSubstring("was reached from the child"))
		}
		Expect(strings.Join(failures, "\n")).To(ContainSubstring(probes.CanaryTCP))
	})
})
