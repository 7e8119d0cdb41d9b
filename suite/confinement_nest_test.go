//go:build linux

package suite

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// Nesting limits, as the kernel sets them: create_pid_namespace refuses a
// level beyond MAX_PID_NS_LEVEL (32), and create_user_ns refuses a child
// of a user namespace whose level is above 32, so user namespaces reach
// level 33. Both refuse with ENOSPC (user namespaces with EUSERS before
// Linux 4.9). The probe builds the chain itself: one exec from the suite.
var _ = Describe("nested namespaces", Label("confinement", "nesting"), func() {

	It("nest user namespaces to level 33 below the initial one, and refuse level 34 with ENOSPC", Label("ns:user"), func(ctx SpecContext) {
		opts := confinedOpts(spawn.SetOf(spawn.User))
		needsKinds(opts.Set)
		if host.NS["user"].Ino != probes.InitialUserIno {
			Skip("the kernel counts its limit on nested user namespaces from the initial one, and the suite runs in a user namespace of its own, whose level below the initial one no file tells; run it in the initial user namespace")
		}
		// The child's user namespace is level 1; 32 more reach 33.
		opts.Actions.Confine.NestKind, opts.Actions.Confine.NestDepth = spawn.User, 32
		r := runConfined(ctx, opts).Report
		Expect(r.Errors).NotTo(HaveKey("confine"), "user: the child in %s could not nest", opts.Set)
		n := r.Confine.Nest
		Expect(n).NotTo(BeNil(), "user: the child in %s reports no nesting", opts.Set)
		Expect(n.Created).To(Equal(32), "user: below the child's level-1 user namespace, %d nested ones were made before a refusal (%s), want 32 (level 33)", n.Created, n.Next)
		want := "ENOSPC"
		if kernelBefore(4, 9) {
			want = "EUSERS"
		}
		Expect(n.Next).To(Equal(want), "user: creating a user namespace at level 34 on kernel %s: %q, want %s", features.Kernel, n.Next, want)
	})

	It("nest pid namespaces to level 32 below the initial one, and refuse level 33 with ENOSPC", Label("ns:pid"), func(ctx SpecContext) {
		opts := confinedOpts(rootlessOr(spawn.SetOf(spawn.PID)))
		needsKinds(opts.Set)
		if host.NS["pid"].Ino != probes.InitialPIDIno {
			Skip("the kernel counts its limit on nested pid namespaces from the initial one, and the suite runs in a pid namespace of its own, whose level below the initial one it does not know; run it in the initial pid namespace")
		}
		opts.Actions.Confine.NestKind, opts.Actions.Confine.NestDepth = spawn.PID, 31
		r := runConfined(ctx, opts).Report
		Expect(r.Errors).NotTo(HaveKey("confine"), "pid: the child in %s could not nest", opts.Set)
		n := r.Confine.Nest
		Expect(n).NotTo(BeNil(), "pid: the child in %s reports no nesting", opts.Set)
		Expect(n.StartLevel).To(Equal(1), "pid: the child in %s is at pid namespace level %d, want 1", opts.Set, n.StartLevel)
		Expect(n.Created).To(Equal(31), "pid: below the child's level-1 pid namespace, %d nested ones were made before a refusal (%s), want 31 (level 32)", n.Created, n.Next)
		Expect(n.Next).To(Equal("ENOSPC"), "pid: creating a pid namespace at level 33: %q, want ENOSPC", n.Next)
	})
})

// kernelBefore reports whether the running kernel's release is older than
// major.minor; a release it cannot read counts as new.
func kernelBefore(major, minor int) bool {
	var a, b int
	if _, err := fmt.Sscanf(features.Kernel, "%d.%d", &a, &b); err != nil {
		return false
	}
	return a < major || (a == major && b < minor)
}
