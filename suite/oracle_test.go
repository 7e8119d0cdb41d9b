//go:build linux

package suite

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/spawn/launchers"
	"github.com/nsverify/nsverify/suite/matrixreport"
)

// ExpectKind asserts both oracles of DESIGN.md for kind on c: identity and
// behaviour, isolated when kind is in c's set and shared when it is not.
// Every message starts with the kind, so a failure names it. Where the
// behaviour oracle has nothing to look at, the spec says so in an
// "identity only" report entry with the reason, and the matrix shows it.
func ExpectKind(c *Child, kind spawn.Kind) {
	if c.Set.Has(kind) {
		Expect(c).To(BeIsolatedFrom(host, kind), "%s: cloned with %s", kind, c.Set)
	} else {
		Expect(c).To(BeSharedWith(host, kind), "%s: cloned with %s", kind, c.Set)
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
		if c.CgroupHostPath == "" {
			identityOnly(c, kind, noCgroupPathReason())
		} else {
			expectCgroup(c, c.CgroupHostPath)
			expectCgroupSeen(c, c.CgroupHostPath)
		}
	case spawn.Time:
		expectTime(c)
	}
}

// identityOnly records that kind was judged on c by its namespace identity
// alone, and why its behaviour oracle could not run.
func identityOnly(c *Child, kind spawn.Kind, reason string) {
	addReportEntry(matrixreport.IdentityOnlyEntry, matrixreport.KindNote{Kind: kind, Reason: reason})
}

// notChecked records that kind was not checked at all on c, since this
// kernel has no namespaces of it: the matrix shows its cell skipped with
// the reason, rather than shared.
func notChecked(kind spawn.Kind) {
	reason := fmt.Sprintf("%s: this kernel has no %s namespaces (/proc/self/ns/%s is missing)", kind, kind, kind)
	for _, k := range features.Kinds {
		if k.Kind == kind && k.Reason != "" {
			reason = k.Reason
		}
	}
	addReportEntry(matrixreport.NotCheckedEntry, matrixreport.KindNote{Kind: kind, Reason: reason})
}

// seenThroughout returns what the host had both before and after a child
// ran: whatever a child sharing the host's namespace must have seen too,
// while parallel specs add and remove their own markers around it.
func seenThroughout(before, after []string) []string {
	var out []string
	for _, v := range before {
		if slices.Contains(after, v) {
			out = append(out, v)
		}
	}
	return out
}

// neverOnHost returns what got holds that the host had neither before nor
// after the child ran, leaving out what keep accepts.
func neverOnHost(got, before, after []string, keep func(string) bool) []string {
	var out []string
	for _, v := range got {
		if !slices.Contains(before, v) && !slices.Contains(after, v) && !keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// hostHasLinkBeyondLo says whether the host baseline lists a link other
// than lo, which a child in a network namespace of its own must not see.
func hostHasLinkBeyondLo() bool {
	return host.Report.Links != nil && slices.ContainsFunc(host.Report.Links.Names, func(n string) bool { return n != "lo" })
}

// transientHostLink says whether name is a host marker link of the kind
// WithHostLink adds (nsvh…, with its peer nsvp…): another spec's, or
// another run's, which may come and go while a child lists the host's
// links and so be seen by the child only.
func transientHostLink(name string) bool {
	return strings.HasPrefix(name, "nsvh") || strings.HasPrefix(name, "nsvp")
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
	objects := sysvObjects(r.IPC)
	if c.Set.Has(spawn.IPC) {
		// A new IPC namespace starts empty: the child sees the queue it
		// made, and no object of the host's, the marker or any other.
		own := c.Opts.Actions.MsgQueueKey
		if own != 0 {
			Expect(r.Errors).NotTo(HaveKey("ipc"), "ipc: the child in %s could not create its queue", c.Set)
			Expect(inside).To(ContainElement(own), "ipc: the queue the child made in %s is missing from its own listing", c.Set)
			Expect(c.ChildQueueOnHost).To(BeFalse(), "ipc: the queue the child made in %s is on the host", c.Set)
		}
		if c.Markers.HostQueueKey != 0 {
			Expect(inside).NotTo(ContainElement(c.Markers.HostQueueKey), "ipc: the host's queue %d is visible inside %s", c.Markers.HostQueueKey, c.Set)
		}
		var others []string
		for _, o := range objects {
			if !strings.HasPrefix(o, fmt.Sprintf("msg key=%d ", own)) || own == 0 {
				others = append(others, o)
			}
		}
		Expect(others).To(BeEmpty(), "ipc: the child in %s sees SysV objects it did not make", c.Set)
		if own == 0 && c.Markers.HostQueueKey == 0 {
			identityOnly(c, spawn.IPC, "the child made no SysV queue and the host had no marker queue to hide, so an empty listing inside proves nothing")
		}
		return
	}
	if c.Markers.HostQueueKey != 0 {
		Expect(inside).To(ContainElement(c.Markers.HostQueueKey), "ipc: the child in %s, sharing ipc, does not see the host's queue %d", c.Set, c.Markers.HostQueueKey)
	}
	held := seenThroughout(c.HostSysvBefore, c.HostSysvAfter)
	Expect(objects).To(ContainElements(held), "ipc: the child in %s, sharing ipc, misses SysV objects the host had before and after it", c.Set)
	// No check for objects the host had on neither side: parallel specs'
	// queues live for milliseconds, as long as a child, and nothing tells
	// them from an object of another namespace; the host's objects above
	// already tell a namespace of its own apart.
	if len(held) == 0 {
		identityOnly(c, spawn.IPC, "the host had no SysV object throughout the child's life, so there was nothing the child had to see")
	}
}

func expectPID(c *Child) {
	r, res := c.Report, c.Result
	// First the probe's word against the host's: the host reads the
	// child's pid in every pid namespace from its own down (NSpid), the
	// first being the pid the kernel gave with its hello and the last the
	// one the child must report.
	nspid := res.Outside.NSpid
	if nspid != nil {
		Expect(nspid[len(nspid)-1]).To(Equal(r.PID), "pid: the probe reports pid %d, the host reads %d in the child's own pid namespace (NSpid %v, set %s)", r.PID, nspid[len(nspid)-1], nspid, c.Set)
		Expect(nspid[0]).To(Equal(res.HostPID), "pid: the host reads NSpid %v of the child in %s, which does not start at the pid the kernel gave with its hello, %d", nspid, c.Set, res.HostPID)
	}
	if r.Launcher != nil && launchers.Of(c.Opts.Launcher).Builtin() {
		// The probe's stage started the observer, in the host's pid
		// namespace, and says which pid it got.
		Expect(r.Launcher.ObserverPID).To(Equal(res.HostPID), "pid: the probe reports its observer at pid %d, the host reads %d (the kernel gave it with its hello)", r.Launcher.ObserverPID, res.HostPID)
	}
	if c.Set.Has(spawn.PID) {
		if nspid != nil {
			Expect(nspid).To(HaveLen(len(host.NSpid)+1), "pid: the host reads NSpid %v of the child in %s, and it should be one level below the host's %v", nspid, c.Set, host.NSpid)
		}
		// What the launcher puts in a new pid namespace before the probe
		// is a documented fact of it: nothing (pid 1), or bwrap's reaper.
		pid, ppid, _ := launchers.Of(c.Opts.Launcher).ProbePIDInside()
		Expect(r.PID).To(Equal(pid), "pid: the child in %s is not pid %d inside (launcher %s)", c.Set, pid, launchers.Of(c.Opts.Launcher))
		Expect(r.PPID).To(Equal(ppid), "pid: the child in %s has parent %d inside its namespace, want %d (launcher %s)", c.Set, r.PPID, ppid, launchers.Of(c.Opts.Launcher))
		if !c.Set.Has(spawn.MNT) {
			// The child's /proc is the host's: it knows the child by the
			// pid the host does.
			Expect(r.Proc).NotTo(BeNil(), "pid: no /proc listing from the child in %s; errors: %v", c.Set, r.Errors)
			Expect(r.Proc.Self).To(Equal(strconv.Itoa(res.HostPID)), "pid: the host's /proc, as the child in %s reads it, has the child at %q, not at its host pid %d", c.Set, r.Proc.Self, res.HostPID)
		}
		return
	}
	Expect(r.PID).To(Equal(res.HostPID), "pid: the probe reports pid %d, the host reads %d (the kernel gave it with its hello), sharing pid in %s", r.PID, res.HostPID, c.Set)
	if nspid != nil {
		Expect(nspid).To(HaveLen(len(host.NSpid)), "pid: the host reads NSpid %v of the child in %s, sharing pid, and has %d levels itself", nspid, c.Set, len(host.NSpid))
	}
}

func expectMNT(c *Child) {
	r := c.Report
	// The host's mount table is read around a child only when it mounts
	// something.
	if c.Opts.Actions.MountProc {
		Expect(c.MountinfoBefore).NotTo(BeEmpty(), "mnt: the host's mount table was not read before the child in %s", c.Set)
		Expect(c.MountinfoAfter).NotTo(BeEmpty(), "mnt: the host's mount table was not read after the child in %s", c.Set)
		Expect(string(c.MountinfoAfter)).To(Equal(string(c.MountinfoBefore)), "mnt: the host's mount table changed while a child ran in %s", c.Set)
	}
	if !c.Set.Has(spawn.MNT) {
		// The host's /proc: it holds the child under its host pid.
		Expect(r.Proc).NotTo(BeNil(), "mnt: no /proc listing from the child in %s; errors: %v", c.Set, r.Errors)
		Expect(r.Proc.Self).To(Equal(strconv.Itoa(c.Result.HostPID)), "mnt: the child in %s, sharing mnt, finds itself at %q in the host's /proc, not at its host pid %d", c.Set, r.Proc.Self, c.Result.HostPID)
		return
	}
	if !c.Opts.Actions.MountProc {
		identityOnly(c, spawn.MNT, "the child was asked to mount nothing, so there was no mount to keep from the host")
		return
	}
	switch {
	case !c.Set.Has(spawn.PID) && (c.Set.Has(spawn.User) || !host.OwnsPIDNamespace):
		// The pid namespace belongs to a user namespace where the child
		// has no capability (the initial one, or one above the suite's):
		// the kernel refuses the mount.
		Expect(r.Errors).To(HaveKeyWithValue("proc", ContainSubstring("operation not permitted")),
			"mnt: a child in %s mounted /proc for a pid namespace whose user namespace it has no capability in; the kernel should refuse it", c.Set)
		identityOnly(c, spawn.MNT, "the kernel refused the child's /proc mount (EPERM, as it must: the child's pid namespace belongs to a user namespace where it holds no capability), so no private mount shows the namespace's own table")
	case c.Set.Has(spawn.PID):
		Expect(r.Errors).NotTo(HaveKey("proc"), "mnt: the child in %s could not mount its own /proc", c.Set)
		Expect(r.Proc).NotTo(BeNil())
		Expect(r.Proc.Complete).To(BeTrue(), "mnt: the private /proc of the child in %s lists more than %d pids", c.Set, probes.ProcListMax)
		_, _, listed := launchers.Of(c.Opts.Launcher).ProbePIDInside()
		Expect(r.Proc.PIDs).To(Equal(listed), "mnt: the private /proc of the child in %s lists pids beyond its namespace (launcher %s)", c.Set, launchers.Of(c.Opts.Launcher))
	default:
		// A new mount namespace in the host's pid namespace: the fresh
		// /proc shows the host's pids, the child's own among them.
		Expect(r.Errors).NotTo(HaveKey("proc"), "mnt: the child in %s could not mount its own /proc", c.Set)
		Expect(r.Proc).NotTo(BeNil())
		Expect(r.Proc.Self).To(Equal(strconv.Itoa(c.Result.HostPID)), "mnt: the /proc mounted in %s has the child at %q, not at its host pid %d", c.Set, r.Proc.Self, c.Result.HostPID)
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
		if len(want) == 1 && c.Markers.HostLink == "" && !hostHasLinkBeyondLo() {
			identityOnly(c, spawn.Net, "the host has no link but lo, the child made none, and every network namespace has lo: only lo inside proves nothing")
		}
		return
	}
	if c.Markers.HostLink != "" {
		Expect(r.Links.Names).To(ContainElement(c.Markers.HostLink), "net: the child in %s, sharing net, does not see the host's marker link %s", c.Set, c.Markers.HostLink)
	}
	Expect(r.Links.Names).To(ContainElement("lo"), "net: the child in %s has no lo", c.Set)
	held := seenThroughout(c.HostLinksBefore, c.HostLinksAfter)
	Expect(r.Links.Names).To(ContainElements(held), "net: the child in %s, sharing net, misses links the host had before and after it", c.Set)
	Expect(neverOnHost(r.Links.Names, c.HostLinksBefore, c.HostLinksAfter, transientHostLink)).To(BeEmpty(),
		"net: the child in %s, sharing net, sees links the host had neither before nor after it", c.Set)
	if !slices.ContainsFunc(held, func(n string) bool { return n != "lo" }) {
		identityOnly(c, spawn.Net, "the host had no link but lo throughout the child's life, and every network namespace has lo")
	}
}

func expectTime(c *Child) {
	r := c.Report
	Expect(r.Clock).NotTo(BeNil(), "time: no clocks from the child in %s; errors: %v", c.Set, r.Errors)
	mono := time.Duration(r.Clock.MonotonicNS - c.MonotonicBefore)
	boot := time.Duration(r.Clock.BoottimeNS - c.BoottimeBefore)
	if c.Set.Has(spawn.Time) {
		// The host's clocks, read by the suite around the child, moved
		// only by the time the child took.
		hostMono := time.Duration(c.MonotonicAfter - c.MonotonicBefore)
		hostBoot := time.Duration(c.BoottimeAfter - c.BoottimeBefore)
		Expect(hostMono).To(BeNumerically("~", clockSlack/2, clockSlack/2), "time: the host's monotonic clock moved by %s while the child in %s ran", hostMono, c.Set)
		Expect(hostBoot).To(BeNumerically("~", clockSlack/2, clockSlack/2), "time: the host's boottime clock moved by %s while the child in %s ran", hostBoot, c.Set)
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
