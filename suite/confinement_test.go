//go:build linux

package suite

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// Confinement specs: what root inside a set of namespaces may not do. Each
// asserts the kernel's refusal and, as its negative control, that the same
// action is permitted where the namespace is the child's own. The actions
// that would change the host if allowed (sethostname, adding a link,
// mounting proc) are made in a form the kernel rejects for an invalid
// argument only after its permission check (probes.AttemptSethostname and
// the others): the refusal and its control are then the same call, judged
// on the same field, EPERM against the argument's errno, and a probe that
// recorded EPERM without making the call would fail the control. The spec
// still checks the host unchanged afterwards.

// confinedOpts returns options for a child in set, as root of a new user
// namespace with the caller's ids mapped (0 → 0 as root) when user is in
// the set.
func confinedOpts(set spawn.Set) spawn.Options {
	opts := spawn.Options{Probe: probePath, Set: set}
	if set.Has(spawn.User) {
		opts.UIDMap, opts.GIDMap = spawn.CallerMaps()
	}
	return opts
}

// rootlessOr returns set, with user added when the suite is not root: an
// ordinary user can make the other kinds only inside a user namespace.
func rootlessOr(set spawn.Set) spawn.Set {
	if ok, _ := features.CanCreate(set); ok {
		return set
	}
	return set.With(spawn.User)
}

// runConfined runs the probe with opts and attaches its report to the
// spec. Unlike RunChild it runs the empty set unprivileged too.
func runConfined(ctx context.Context, opts spawn.Options) *spawn.Result {
	GinkgoHelper()
	needsKinds(opts.Set)
	res, err := spawn.Run(ctx, opts)
	Expect(err).NotTo(HaveOccurred(), "run the probe in %s", opts.Set)
	addChildEntry(res)
	return res
}

// attempt returns the outcome of the named attempt in r, failing the spec
// (with kind first in the message) when the probe did not record it.
func attempt(kind spawn.Kind, r *probes.Report, name string) probes.Attempt {
	GinkgoHelper()
	Expect(r.Confine).NotTo(BeNil(), "%s: the probe reports no confinement attempts; errors: %v", kind, r.Errors)
	a, ok := r.Confine.Attempts[name]
	Expect(ok).To(BeTrue(), "%s: the probe reports no attempt %q; attempts: %v", kind, name, r.Confine.Attempts)
	return a
}

// refusedWith asserts that the kernel refused attempt a with errno.
func refusedWith(kind spawn.Kind, set spawn.Set, name string, a probes.Attempt, errno string) {
	GinkgoHelper()
	Expect(a.Result).To(Equal(errno), "%s: %s from a child in %s: want the kernel to refuse with %s, got %s (%s)", kind, name, set, errno, a.Result, a.Detail)
}

// allowed asserts that the kernel allowed attempt a.
func allowed(kind spawn.Kind, set spawn.Set, name string, a probes.Attempt) {
	GinkgoHelper()
	Expect(a.Result).To(Equal(probes.Allowed), "%s: %s from a child in %s: want it allowed, got %s (%s)", kind, name, set, a.Result, a.Detail)
}

// refusedCall asserts that the kernel refused the checked call name
// (probes.AttemptSethostname, …) with EPERM, and that the probe made
// exactly call.
func refusedCall(kind spawn.Kind, set spawn.Set, name string, a probes.Attempt, call string) {
	GinkgoHelper()
	Expect(a.Call).To(Equal(call), "%s: %s from a child in %s: the probe made another call than the one judged", kind, name, set)
	refusedWith(kind, set, name+" ("+call+")", a, "EPERM")
}

// permittedCall asserts that the kernel permitted the checked call name
// and rejected its invalid argument (probes.PermittedAnswer), and that the
// probe made exactly call: the same call its refusal spec judges.
func permittedCall(kind spawn.Kind, set spawn.Set, name string, a probes.Attempt, call string) {
	GinkgoHelper()
	want := probes.PermittedAnswer[name]
	Expect(a.Call).To(Equal(call), "%s: %s from a child in %s: the probe made another call than the one judged", kind, name, set)
	Expect(a.Result).To(Equal(want), "%s: %s from a child in %s, where it is permitted: want the kernel to pass its permission check and reject the argument with %s, got %s (%s)", kind, name+" ("+call+")", set, want, a.Result, a.Detail)
}
