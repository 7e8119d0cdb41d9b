//go:build linux

package suite

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("a new user namespace made by a child of the suite's namespaces", Label("confinement", "join"), func() {

	It("cannot join any of the suite's namespaces (EPERM), and can re-join uts, ipc, net, mnt and cgroup namespaces it owns", func(ctx SpecContext) {
		// The probe shares every namespace of the suite and makes the new
		// user namespace itself, in a single-threaded child: only such a
		// child reaches the capability check for user and time.
		needsKinds(spawn.SetOf(spawn.User))
		opts := confinedOpts(spawn.None)
		opts.Actions.Confine.SetnsHost = true
		res := runConfined(ctx, opts)
		r := res.Report
		for _, kind := range spawn.All.Kinds() {
			if _, ok := host.NS[string(kind)]; !ok {
				continue // a kind this kernel lacks
			}
			Expect(res).To(BeSharedWith(host, kind), "%s: the probe that tries to join back does not hold the suite's namespace", kind)
			refusedWith(kind, opts.Set, "setns back into the suite's namespace", attempt(kind, r, "setns "+string(kind)), "EPERM")
			switch kind {
			case spawn.UTS, spawn.IPC, spawn.Net, spawn.MNT, spawn.Cgroup:
				allowed(kind, opts.Set, "setns into a namespace the new user namespace owns", attempt(kind, r, "setns own "+string(kind)))
			}
		}
	})
})
