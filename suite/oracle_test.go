//go:build linux

package suite

import (
	"slices"
	"time"

	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// ExpectKind asserts both oracles of DESIGN.md for kind on c: identity and
// behaviour, isolated when kind is in c's set and shared when it is not.
// Every message starts with the kind, so a failure names it.
func ExpectKind(c *Child, kind spawn.Kind) {
	if c.Set.Has(kind) {
		Expect(c.Report).To(BeIsolatedFrom(host, kind), "%s: cloned with %s", kind, c.Set)
	} else {
		Expect(c.Report).To(BeSharedWith(host, kind), "%s: cloned with %s", kind, c.Set)
	}
	expectOwners(c)
	switch kind {
	case spawn.UTS:
		expectUTS(c)
	case spawn.IPC:
		expectIPC(c)
	case spawn.PID:
		expectPID(c)
	case spawn.MNT:
		expectMNT(c)
	case spawn.User:
		expectUser(c)
	case spawn.Net:
		expectNet(c)
	case spawn.Cgroup:
		if c.CgroupHostPath != "" {
			expectCgroup(c, c.CgroupHostPath)
		}
	case spawn.Time:
		expectTime(c)
	}
}

func expectUTS(c *Child) {
	r := c.Report
	Expect(c.HostnameAfter).To(Equal(host.Hostname), "uts: the host's hostname changed while a child ran in %s", c.Set)
	Expect(c.DomainnameAfter).To(Equal(host.Domainname), "uts: the host's domainname changed while a child ran in %s", c.Set)
	if c.Set.Has(spawn.UTS) {
		Expect(r.Errors).NotTo(HaveKey("hostname"), "uts: the child in %s could not set its names", c.Set)
		Expect(r.Hostname).To(Equal(c.Opts.Actions.Hostname), "uts: the child in %s reports another hostname than the one it set", c.Set)
		Expect(r.Domainname).To(Equal(c.Opts.Actions.Domainname), "uts: the child in %s reports another domainname than the one it set", c.Set)
		return
	}
	Expect(r.Hostname).To(Equal(host.Hostname), "uts: the child in %s, sharing uts, reports another hostname than the host's", c.Set)
	Expect(r.Domainname).To(Equal(host.Domainname), "uts: the child in %s, sharing uts, reports another domainname than the host's", c.Set)
}

func expectIPC(c *Child) {
	r := c.Report
	Expect(r.IPC).NotTo(BeNil(), "ipc: no SysV listing from the child in %s; errors: %v", c.Set, r.Errors)
	inside := msgKeys(r.IPC)
	if c.Set.Has(spawn.IPC) {
		if c.Markers.HostQueueKey != 0 {
			Expect(inside).NotTo(ContainElement(c.Markers.HostQueueKey), "ipc: the host's queue %d is visible inside %s", c.Markers.HostQueueKey, c.Set)
		}
		if key := c.Opts.Actions.MsgQueueKey; key != 0 {
			Expect(r.Errors).NotTo(HaveKey("ipc"), "ipc: the child in %s could not create its queue", c.Set)
			Expect(inside).To(ContainElement(key), "ipc: the queue the child made in %s is missing from its own listing", c.Set)
			Expect(c.HostMsgKeysAfter).NotTo(ContainElement(key), "ipc: the queue the child made in %s is on the host", c.Set)
		}
		return
	}
	if c.Markers.HostQueueKey != 0 {
		Expect(inside).To(ContainElement(c.Markers.HostQueueKey), "ipc: the child in %s, sharing ipc, does not see the host's queue %d", c.Set, c.Markers.HostQueueKey)
	}
}

func expectPID(c *Child) {
	r, res := c.Report, c.Result
	if c.Set.Has(spawn.PID) {
		Expect(r.PID).To(Equal(1), "pid: the child in %s is not pid 1 inside", c.Set)
		Expect(r.PPID).To(Equal(0), "pid: the child in %s has a parent inside its namespace", c.Set)
		Expect(res.HostPID).To(BeNumerically(">", 1), "pid: the host does not know the child in %s by a real pid", c.Set)
		return
	}
	Expect(r.PID).To(Equal(res.HostPID), "pid: the child in %s, sharing pid, reports pid %d but the host started %d", c.Set, r.PID, res.HostPID)
}

func expectMNT(c *Child) {
	r := c.Report
	Expect(string(c.MountinfoAfter)).To(Equal(string(c.MountinfoBefore)), "mnt: the host's mount table changed while a child ran in %s", c.Set)
	if !c.Set.Has(spawn.MNT) {
		// The host's /proc: it holds the child under its host pid.
		Expect(r.Proc).NotTo(BeNil(), "mnt: no /proc listing from the child in %s; errors: %v", c.Set, r.Errors)
		Expect(r.Proc.PIDs).To(ContainElement(c.Result.HostPID), "mnt: the child in %s, sharing mnt, does not find itself in the host's /proc", c.Set)
		return
	}
	if !c.Opts.Actions.MountProc {
		return
	}
	switch {
	case !c.Set.Has(spawn.PID) && (c.Set.Has(spawn.User) || !host.OwnsPIDNamespace):
		// The pid namespace belongs to a user namespace where the child
		// has no capability (the initial one, or one above the suite's):
		// the kernel refuses the mount.
		Expect(r.Errors).To(HaveKeyWithValue("proc", ContainSubstring("operation not permitted")),
			"mnt: a child in %s mounted /proc for a pid namespace whose user namespace it has no capability in; the kernel should refuse it", c.Set)
	case c.Set.Has(spawn.PID):
		Expect(r.Errors).NotTo(HaveKey("proc"), "mnt: the child in %s could not mount its own /proc", c.Set)
		Expect(r.Proc).NotTo(BeNil())
		Expect(r.Proc.PIDs).To(Equal([]int{1}), "mnt: the private /proc of the child in %s lists pids beyond its namespace", c.Set)
	default:
		// A new mount namespace in the host's pid namespace: the fresh
		// /proc shows the host's pids, the child's own among them.
		Expect(r.Errors).NotTo(HaveKey("proc"), "mnt: the child in %s could not mount its own /proc", c.Set)
		Expect(r.Proc).NotTo(BeNil())
		Expect(r.Proc.PIDs).To(ContainElement(c.Result.HostPID), "mnt: the /proc mounted in %s misses the child's own pid", c.Set)
	}
}

func expectUser(c *Child) {
	r := c.Report
	Expect(r.User).NotTo(BeNil(), "user: no credentials from the child in %s; errors: %v", c.Set, r.Errors)
	if c.Set.Has(spawn.User) {
		Expect(r.User.UID).To(Equal(0), "user: the child in %s is not uid 0 inside", c.Set)
		Expect(r.User.GID).To(Equal(0), "user: the child in %s is not gid 0 inside", c.Set)
		Expect(r.User.UIDMap).To(Equal(ranges(c.Opts.UIDMap)), "user: the uid map of the child in %s is not the one written", c.Set)
		Expect(r.User.GIDMap).To(Equal(ranges(c.Opts.GIDMap)), "user: the gid map of the child in %s is not the one written", c.Set)
		return
	}
	Expect(r.User.UID).To(Equal(host.UID), "user: the child in %s, sharing user, has another uid than the host's", c.Set)
	Expect(r.User.GID).To(Equal(host.GID), "user: the child in %s, sharing user, has another gid than the host's", c.Set)
	Expect(r.User.UIDMap).To(Equal(host.UIDMap), "user: the child in %s, sharing user, has another uid map than the host's", c.Set)
	Expect(r.User.GIDMap).To(Equal(host.GIDMap), "user: the child in %s, sharing user, has another gid map than the host's", c.Set)
}

func expectNet(c *Child) {
	r := c.Report
	Expect(r.Links).NotTo(BeNil(), "net: no links from the child in %s; errors: %v", c.Set, r.Errors)
	if c.Set.Has(spawn.Net) {
		want := []string{"lo"}
		if name := c.Opts.Actions.MarkerLink; name != "" {
			Expect(r.Errors).NotTo(HaveKey("links"), "net: the child in %s could not add its marker link", c.Set)
			want = append(want, name)
			Expect(c.HostLinksAfter).NotTo(ContainElement(name), "net: the link the child made in %s is on the host", c.Set)
		}
		slices.Sort(want)
		Expect(r.Links.Names).To(Equal(want), "net: the child in %s sees links beyond lo and its own marker", c.Set)
		Expect(r.Links.Count).To(Equal(len(want)), "net: link count in %s", c.Set)
		return
	}
	if c.Markers.HostLink != "" {
		Expect(r.Links.Names).To(ContainElement(c.Markers.HostLink), "net: the child in %s, sharing net, does not see the host's marker link %s", c.Set, c.Markers.HostLink)
	}
	Expect(r.Links.Names).To(ContainElement("lo"), "net: the child in %s has no lo", c.Set)
}

func expectTime(c *Child) {
	r := c.Report
	Expect(r.Clock).NotTo(BeNil(), "time: no clocks from the child in %s; errors: %v", c.Set, r.Errors)
	mono := time.Duration(r.Clock.MonotonicNS - c.MonotonicBefore)
	boot := time.Duration(r.Clock.BoottimeNS - c.BoottimeBefore)
	if c.Set.Has(spawn.Time) {
		want := c.Opts.Actions.MonotonicOffset
		Expect(mono).To(BeNumerically("~", want+clockSlack/2, clockSlack/2), "time: the monotonic clock of the child in %s is off by %s, want %s", c.Set, mono, want)
		want = c.Opts.Actions.BoottimeOffset
		Expect(boot).To(BeNumerically("~", want+clockSlack/2, clockSlack/2), "time: the boottime clock of the child in %s is off by %s, want %s", c.Set, boot, want)
		return
	}
	Expect(mono).To(BeNumerically("~", clockSlack/2, clockSlack/2), "time: the child in %s, sharing time, reads a shifted monotonic clock (%s)", c.Set, mono)
	Expect(boot).To(BeNumerically("~", clockSlack/2, clockSlack/2), "time: the child in %s, sharing time, reads a shifted boottime clock (%s)", c.Set, boot)
}

func ranges(maps []spawn.IDMap) []probes.IDRange {
	out := make([]probes.IDRange, len(maps))
	for i, m := range maps {
		out[i] = probes.IDRange{m.Inside, m.Outside, m.Count}
	}
	return out
}
