//go:build linux

package suite

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/nsverify/nsverify/spawn"
)

// walkthroughKinds are the six kinds of the hand-run walk-through, in the
// order it added their flags.
var walkthroughKinds = []spawn.Kind{spawn.UTS, spawn.IPC, spawn.PID, spawn.MNT, spawn.User, spawn.Net}

// walkthroughEntries are the walk-through's cumulative sets: uts, uts+ipc,
// uts+ipc+pid, and so on up to all six.
func walkthroughEntries() []TableEntry {
	var entries []TableEntry
	var set spawn.Set
	for _, k := range walkthroughKinds {
		set = set.With(k)
		labels := Labels{}
		for _, member := range set.Kinds() {
			labels = append(labels, "ns:"+string(member))
		}
		entries = append(entries, Entry(set.String(), labels, set))
	}
	return entries
}

var _ = Describe("the walk-through", Label("walkthrough"), func() {

	DescribeTable("a child cloned with the walk-through's cumulative flags is isolated in exactly those, among its six kinds",
		func(ctx SpecContext, set spawn.Set) {
			needsKinds(set)
			m := NewMarkers().WithHostQueue().TryHostLink()
			c := RunChild(ctx, PlanFor(set, m), m)
			for _, k := range walkthroughKinds {
				ExpectKind(c, k)
			}
		},
		walkthroughEntries(),
	)
})
