//go:build linux

package suite

import (
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/spawn/launchers"
)

// expectOwners asserts, for every kind the host has, which user namespace
// owns the child's namespace of that kind and, for pid and user, which is
// its parent. The host asks the kernel itself (NS_GET_USERNS and
// NS_GET_PARENT on the descriptors it opened of /proc/<pid>/ns), and the
// probe's answers, asked from inside, must agree with what the host's
// imply:
//
//   - a new namespace belongs to the child's own user namespace when user
//     is in the set, and to the host's (the suite's own) otherwise: clone
//     makes the user namespace first and hands it the others;
//   - a new user namespace's owner and parent are the host's user
//     namespace; a new pid namespace's parent is the host's pid namespace;
//   - a shared namespace's owner and parent are the host's own. Seen from
//     a new user namespace the kernel refuses to name it (EPERM,
//     "outside"), which is what a host-owned namespace must look like
//     from there; the kernel names a parent only to a caller at or above
//     it, so from inside a new pid or user namespace the parent is
//     "outside" too.
//
// Whether the kernel has the ioctls (Linux 4.9 and later) the host decides
// with its own ioctl (spawn.HasNSIoctls); where it has them, a probe that
// says it could not ask fails.
func expectOwners(c *Child) {
	if c.ownersJudged {
		return
	}
	c.ownersJudged = true
	if !spawn.HasNSIoctls() {
		addReportEntry("ownership oracle", "not checked: this kernel answers no NS_GET_USERNS on the host's own namespaces (Linux 4.9 added it)")
		return
	}
	r, out := c.Report, c.Result.Outside
	Expect(r.Errors).NotTo(HaveKey("owners"), "owners: the probe in %s reports it could not ask who owns its namespaces, and the host reads every owner with the same ioctls on this kernel", c.Set)
	Expect(out).NotTo(BeNil(), "owners: the host did not read the child in %s", c.Set)
	Expect(out.Errors).NotTo(HaveKey("owners"), "owners: the host could not ask who owns the namespaces of the child in %s", c.Set)
	hostUser := probes.NSRef{ID: host.NS["user"]}
	childUser := probes.NSRef{ID: out.NS["user"]}
	if c.Set.Has(spawn.User) {
		// Every owner below depends on it: a missing user namespace is
		// the user kind's failure, whichever kind's spec finds it.
		Expect(childUser).NotTo(Equal(hostUser), "user: the host reads the child in %s in its own user namespace, which then owns every namespace it has", c.Set)
	}
	outside := probes.NSRef{Outside: true}
	for _, kind := range spawn.All.Kinds() {
		k := string(kind)
		hostOwners, ok := host.Owners[k]
		if !ok {
			continue // a kind this kernel lacks
		}
		read, ok := out.Owners[k]
		Expect(ok && read.Owner != nil).To(BeTrue(), "%s: the host read no owner of the %s namespace of the child in %s", kind, kind, c.Set)
		got, ok := r.Owners[k]
		Expect(ok && got.Owner != nil).To(BeTrue(), "%s: the child in %s reports no owner of its %s namespace", kind, c.Set, kind)
		// What the host reads, and what the probe must then say.
		var want, inside probes.NSRef
		var why string
		switch {
		case kind == spawn.User && c.Set.Has(spawn.User):
			want, inside, why = hostUser, outside, "a new user namespace is owned by its parent, the host's"
		case c.Set.Has(kind) && c.Set.Has(spawn.User):
			want, inside, why = childUser, childUser, "a new namespace made with user belongs to the child's own user namespace"
		case c.Set.Has(kind):
			want, inside, why = hostUser, hostUser, "a new namespace made without user belongs to the host's user namespace"
		case c.Set.Has(spawn.User):
			want, inside, why = *hostOwners.Owner, outside, "the host's namespace keeps its owner, which a child in a new user namespace cannot name"
		default:
			want, inside, why = *hostOwners.Owner, *hostOwners.Owner, "a shared namespace has the host's owner"
		}
		Expect(*read.Owner).To(Equal(want), "%s: the host reads the owner of the %s namespace of the child in %s as %s, want %s: %s", kind, kind, c.Set, read.Owner, want, why)
		Expect(*got.Owner).To(Equal(inside), "%s: the probe reports the owner of its %s namespace in %s as %s, and the host reads %s: from inside it must read %s", kind, kind, c.Set, got.Owner, read.Owner, inside)
		if kind != spawn.PID && kind != spawn.User {
			continue
		}
		Expect(read.Parent).NotTo(BeNil(), "%s: the host read no parent of the %s namespace of the child in %s", kind, kind, c.Set)
		Expect(got.Parent).NotTo(BeNil(), "%s: the child in %s reports no parent of its %s namespace", kind, c.Set, kind)
		want, inside, why = *hostOwners.Parent, *hostOwners.Parent, "a shared namespace has the host's parent"
		if c.Set.Has(kind) {
			want, inside, why = probes.NSRef{ID: host.NS[k]}, outside, "a new namespace is a child of the host's, whose parent the kernel names to no caller below it"
		}
		Expect(*read.Parent).To(Equal(want), "%s: the host reads the parent of the %s namespace of the child in %s as %s, want %s: %s", kind, kind, c.Set, read.Parent, want, why)
		Expect(*got.Parent).To(Equal(inside), "%s: the probe reports the parent of its %s namespace in %s as %s, and the host reads %s: from inside it must read %s", kind, kind, c.Set, got.Parent, read.Parent, inside)
	}
	expectPIDParent(c)
}

// expectPIDParent names the parent of a new pid namespace from the host's
// reading of the child's NSpid: its pid in the host's pid namespace, then
// in its own, so its pid namespace is a direct child of the host's. The
// probe's own NSpid, read in whatever /proc it has, must be the tail of
// the host's.
func expectPIDParent(c *Child) {
	out, r := c.Result.Outside, c.Report
	if out.NSpid == nil {
		addReportEntry("pid parent", "not checked: this kernel prints no NSpid in /proc/<pid>/status (Linux 4.1 added it)")
		return
	}
	Expect(out.NSpid[0]).To(Equal(c.Result.HostPID), "pid: the host reads NSpid %v of the child in %s, which does not start at the pid the kernel gave with its hello, %d", out.NSpid, c.Set, c.Result.HostPID)
	Expect(r.NSpid).NotTo(BeEmpty(), "pid: the child in %s reports no NSpid; errors: %v", c.Set, r.Errors)
	Expect(len(r.NSpid)).To(BeNumerically("<=", len(out.NSpid)), "pid: the probe reports NSpid %v, the host reads %v", r.NSpid, out.NSpid)
	Expect(r.NSpid).To(Equal(out.NSpid[len(out.NSpid)-len(r.NSpid):]), "pid: the probe reports NSpid %v, the host reads %v", r.NSpid, out.NSpid)
	if !c.Set.Has(spawn.PID) {
		Expect(out.NSpid).To(HaveLen(len(host.NSpid)), "pid: the host reads NSpid %v of the child in %s, sharing pid, and its own has %d levels", out.NSpid, c.Set, len(host.NSpid))
		return
	}
	inside, _, _ := launchers.Of(c.Opts.Launcher).ProbePIDInside()
	Expect(out.NSpid).To(Equal([]int{c.Result.HostPID, inside}), "pid: the host reads NSpid %v of the child in %s, want [%d %d]: its pid namespace should be a child of the host's", out.NSpid, c.Set, c.Result.HostPID, inside)
}
