//go:build linux

package suite

import (
	"strings"

	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// expectOwners asserts, for every kind the host has, which user namespace
// owns the child's namespace of that kind (NS_GET_USERNS, asked by the
// probe from inside) and, for pid and user, what NS_GET_PARENT says:
//
//   - a new namespace belongs to the child's own user namespace when user
//     is in the set, and to the host's (the suite's own) otherwise: clone
//     makes the user namespace first and hands it the others;
//   - a shared namespace's owner is the host's owner of it. Seen from a new
//     user namespace the kernel refuses to name it (EPERM, "outside"),
//     which is what a host-owned namespace must look like from there;
//   - the kernel names a parent only to a caller at or above it, so a new
//     pid or user namespace reports its parent "outside" (the host's, or
//     any namespace above the child), and a shared one reports the host's
//     answer. For pid, NSpid names the parent: see expectPIDParent.
//
// On a kernel without the ioctls (before 4.9) the probe says so under
// errors and nothing is compared.
func expectOwners(c *Child) {
	if c.ownersJudged {
		return
	}
	c.ownersJudged = true
	r := c.Report
	if r.Owners == nil && strings.Contains(r.Errors["owners"], "4.9") {
		addReportEntry("ownership oracle", "not checked: "+r.Errors["owners"])
		return
	}
	Expect(r.Errors).NotTo(HaveKey("owners"), "owners: the child in %s could not tell who owns its namespaces", c.Set)
	if c.Set.Has(spawn.User) {
		// Every owner below depends on it: a missing user namespace is
		// the user kind's failure, whichever kind's spec finds it.
		Expect(r.NS["user"]).NotTo(Equal(host.NS["user"]), "user: the child in %s is in the host's user namespace, which then owns every namespace it has", c.Set)
	}
	hostUser := probes.NSRef{ID: host.NS["user"]}
	childUser := probes.NSRef{ID: r.NS["user"]}
	outside := probes.NSRef{Outside: true}
	for _, kind := range spawn.All.Kinds() {
		k := string(kind)
		hostOwners, ok := host.Report.Owners[k]
		if !ok {
			continue // a kind this kernel lacks
		}
		got, ok := r.Owners[k]
		Expect(ok).To(BeTrue(), "%s: the child in %s reports no owner of its %s namespace", kind, c.Set, kind)
		Expect(got.Owner).NotTo(BeNil(), "%s: the child in %s reports no owner of its %s namespace", kind, c.Set, kind)
		var want probes.NSRef
		var why string
		switch {
		case kind == spawn.User && c.Set.Has(spawn.User):
			want, why = outside, "a new user namespace is owned by its parent, above the child"
		case c.Set.Has(kind) && c.Set.Has(spawn.User):
			want, why = childUser, "a new namespace made with user belongs to the child's own user namespace"
		case c.Set.Has(kind):
			want, why = hostUser, "a new namespace made without user belongs to the host's user namespace"
		case c.Set.Has(spawn.User):
			want, why = outside, "the host's namespace belongs to a user namespace the child in a new one cannot name"
		default:
			want, why = *hostOwners.Owner, "a shared namespace has the host's owner"
		}
		Expect(*got.Owner).To(Equal(want), "%s: the owner of the %s namespace of the child in %s is %s, want %s: %s", kind, kind, c.Set, got.Owner, want, why)
		if kind != spawn.PID && kind != spawn.User {
			continue
		}
		Expect(got.Parent).NotTo(BeNil(), "%s: the child in %s reports no parent of its %s namespace", kind, c.Set, kind)
		want, why = *hostOwners.Parent, "a shared namespace has the host's parent"
		if c.Set.Has(kind) {
			want, why = outside, "the kernel names no parent to a caller below it"
		}
		Expect(*got.Parent).To(Equal(want), "%s: the parent of the %s namespace of the child in %s is %s, want %s: %s", kind, kind, c.Set, got.Parent, want, why)
	}
	expectPIDParent(c)
}

// expectPIDParent names the parent of a new pid namespace where the host's
// /proc lets the child see past its own: NSpid then lists the child's pid
// in the host's pid namespace and in its own, so its pid namespace is a
// direct child of the host's. After a /proc of its own, NSpid shows only
// the child's own level and says nothing of the parent.
func expectPIDParent(c *Child) {
	r := c.Report
	if !c.Set.Has(spawn.PID) || len(r.NSpid) < 2 {
		return
	}
	inside, _, _ := c.Opts.Launcher.ProbePIDInside()
	Expect(r.NSpid).To(Equal([]int{c.Result.HostPID, inside}), "pid: NSpid of the child in %s is %v, want [%d %d]: its pid namespace should be a child of the host's", c.Set, r.NSpid, c.Result.HostPID, inside)
}
