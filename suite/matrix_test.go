//go:build linux

package suite

import (
	"context"

	. "github.com/onsi/ginkgo/v2"

	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/spawn/launchers"
	"github.com/nsverify/nsverify/suite/matrixreport"
)

// sharedMarkers are the host's marker queue and link for the matrix: made
// once per parallel process, since a matrix entry only reads them.
var sharedMarkers Markers

// matrixEntries is one entry per subset of all eight kinds, named by the
// set and labelled with each kind it isolates. It is built before the specs
// run, identical in every parallel process.
func matrixEntries(launcher string) []TableEntry {
	sets := spawn.PowerSet(spawn.All)
	entries := make([]TableEntry, 0, len(sets))
	for _, set := range sets {
		labels := Labels{"matrix", matrixreport.LauncherLabelPrefix + launcher}
		for _, k := range set.Kinds() {
			labels = append(labels, "ns:"+string(k))
		}
		args := []any{labels}
		if runsAlone(launcher) {
			args = append(args, Serial)
		}
		entries = append(entries, Entry(set.String(), append(args, launcher, set)...))
	}
	return entries
}

// VerifySet makes one child in set through launcher l (nil: the built-in
// one), in a cgroup of its own, and asserts all eight kinds on it: isolated
// when in set, shared when not. A set l cannot express is n/a.
func VerifySet(ctx context.Context, set spawn.Set, l *launchers.Launcher) *Child {
	m := NewMarkers()
	m.HostQueueKey, m.HostLink, m.NoHostLink = sharedMarkers.HostQueueKey, sharedMarkers.HostLink, sharedMarkers.NoHostLink
	opts := PlanFor(set, m)
	opts.Launcher = l
	expressible(opts)
	// The child's own marker link is left to the net specs: a network
	// namespace that held a device is torn down under the kernel's
	// pernet lock, and the next clone with net waits for it (bridge: +14 ms
	// a child). The matrix proves net isolation by lo alone and the host's
	// marker's absence.
	opts.Actions.MarkerLink = ""
	hostPath := childCgroup(&opts)
	if l.OCI() {
		hostPath = runtimeCgroup(&opts)
	}
	c := RunChild(ctx, opts, m)
	c.CgroupHostPath = hostPath
	// A kind this kernel lacks is said to be unchecked first, so that
	// even a failed row does not show it as shared.
	for _, k := range spawn.All.Kinds() {
		if !features.Present[k] {
			notChecked(k)
		}
	}
	for _, k := range spawn.All.Kinds() {
		if features.Present[k] {
			ExpectKind(c, k)
		}
	}
	return c
}

var _ = Describe("the combination matrix", func() {

	for _, c := range chosenLaunchers {
		text := "a child cloned with a set of kinds is isolated in exactly those, and shares the others"
		if c.name != launchers.Go {
			text = "a child started by " + c.name + " in a set of kinds is isolated in exactly those, and shares the others"
		}
		DescribeTable(text,
			func(ctx SpecContext, launcher string, set spawn.Set) {
				needsKinds(set)
				VerifySet(ctx, set, launcherFor(launcher))
			},
			matrixEntries(c.name),
		)
	}
})
