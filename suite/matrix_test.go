//go:build linux

package suite

import (
	"context"

	. "github.com/onsi/ginkgo/v2"

	"github.com/nsverify/nsverify/spawn"
)

// sharedMarkers are the host's marker queue and link for the matrix: made
// once per parallel process, since a matrix entry only reads them.
var sharedMarkers Markers

// matrixEntries is one entry per subset of all eight kinds, named by the
// set and labelled with each kind it isolates. It is built before the specs
// run, identical in every parallel process.
func matrixEntries() []TableEntry {
	sets := spawn.PowerSet(spawn.All)
	entries := make([]TableEntry, 0, len(sets))
	for _, set := range sets {
		labels := Labels{"matrix"}
		for _, k := range set.Kinds() {
			labels = append(labels, "ns:"+string(k))
		}
		entries = append(entries, Entry(set.String(), labels, set))
	}
	return entries
}

// VerifySet makes one child in set, in a cgroup of its own, and asserts all
// eight kinds on it: isolated when in set, shared when not.
func VerifySet(ctx context.Context, set spawn.Set) *Child {
	m := NewMarkers()
	m.HostQueueKey, m.HostLink, m.NoHostLink = sharedMarkers.HostQueueKey, sharedMarkers.HostLink, sharedMarkers.NoHostLink
	opts := PlanFor(set, m)
	// The child's own marker link is left to the net specs: a network
	// namespace that held a device is torn down under the kernel's
	// pernet lock, and the next clone with net waits for it (bridge: +14 ms
	// a child). The matrix proves net isolation by lo alone and the host's
	// marker's absence.
	opts.Actions.MarkerLink = ""
	hostPath := childCgroup(&opts)
	c := RunChild(ctx, opts, m)
	c.CgroupHostPath = hostPath
	// A kind this kernel lacks is said to be unchecked first, so that
	// even a failed row does not show it as shared.
	for _, k := range spawn.Kinds {
		if !spawn.Present(k) {
			notChecked(k)
		}
	}
	for _, k := range spawn.Kinds {
		if spawn.Present(k) {
			ExpectKind(c, k)
		}
	}
	return c
}

var _ = Describe("the combination matrix", func() {

	DescribeTable("a child cloned with a set of kinds is isolated in exactly those, and shares the others",
		func(ctx SpecContext, set spawn.Set) {
			needsKinds(set)
			VerifySet(ctx, set)
		},
		matrixEntries(),
	)
})
