//go:build linux

package suite

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// The time offsets a child in a new time namespace is given.
const (
	monotonicOffset = 7 * 24 * time.Hour
	boottimeOffset  = 9 * 24 * time.Hour
	// clockSlack bounds how long a child may take between the host's clock
	// read and its own: generous, since a loaded machine is slow, and still
	// far below the offsets.
	clockSlack = time.Minute
)

// Child is one probe run with everything the oracles need to judge it: the
// options it was started with, its result, and the host read before and
// after it.
type Child struct {
	Set     spawn.Set
	Opts    spawn.Options
	Markers Markers
	Result  *spawn.Result
	Report  *probes.Report

	MonotonicBefore, BoottimeBefore int64
	MonotonicAfter, BoottimeAfter   int64
	MountinfoBefore, MountinfoAfter []byte
	HostnameAfter, DomainnameAfter  string
	// ChildQueueOnHost says whether the host had, after the child, a
	// SysV queue with the key the child made its own with.
	ChildQueueOnHost bool
	HostLinksAfter   []string
	// HostLinksBefore and HostSysvBefore/After are read around a child
	// that shares net or ipc, for the oracles that compare its view with
	// the host's: nil when the child does not share that kind.
	HostLinksBefore               []string
	HostSysvBefore, HostSysvAfter []string
	// CgroupHostPath is where the host sees the cgroup the child was
	// placed in, or empty when it cannot be named.
	CgroupHostPath string
	// ownersJudged says the ownership oracle, which covers every kind at
	// once, has run on this child: a matrix entry asks for it eight times.
	ownersJudged bool
	// CgroupSeen is what the host read of the child in the dedicated
	// cgroup the spec chose for it, or nil when it chose none.
	CgroupSeen *cgroupSighting
}

// PlanFor returns the options that let every oracle speak for set: each kind
// in the set gets the action that proves its isolation.
func PlanFor(set spawn.Set, m Markers) spawn.Options {
	opts := spawn.Options{Probe: probePath, Set: set}
	if set.Has(spawn.UTS) {
		opts.Actions.Hostname, opts.Actions.Domainname = m.Hostname, m.Domainname
	}
	if set.Has(spawn.IPC) {
		opts.Actions.MsgQueueKey = m.ChildQueueKey
	}
	if set.Has(spawn.MNT) {
		opts.Actions.MountProc = true
	}
	if set.Has(spawn.Net) {
		opts.Actions.MarkerLink = m.ChildLink
	}
	if set.Has(spawn.Time) {
		opts.Actions.MonotonicOffset, opts.Actions.BoottimeOffset = monotonicOffset, boottimeOffset
	}
	if set.Has(spawn.User) {
		// The walk-through's map: root inside is root outside. Rootless,
		// the caller's own ids are the only ones it may map.
		opts.UIDMap, opts.GIDMap = spawn.CallerMaps()
	}
	return opts
}

// RunChild runs the probe with opts, reads the host around it, and attaches
// the report to the spec so a failure shows inside and host side by side.
func RunChild(ctx context.Context, opts spawn.Options, m Markers) *Child {
	GinkgoHelper()
	needsCreate(opts.Set)
	needsKinds(opts.Set)
	c := &Child{Set: opts.Set, Opts: opts, Markers: m}
	undoIfLeaked(opts)
	// The host is read around the child only where an action could have
	// changed it: one read per action, so a matrix entry costs little more
	// than its clone and exec.
	a := opts.Actions
	if a.MountProc {
		c.MountinfoBefore = hostMountinfoWatched()
	}
	shareNet, shareIPC := !opts.Set.Has(spawn.Net), !opts.Set.Has(spawn.IPC)
	var err error
	if shareNet {
		c.HostLinksBefore, err = hostLinkNames()
		Expect(err).NotTo(HaveOccurred(), "net: read the host's links before the child in %s", opts.Set)
	}
	if shareIPC {
		c.HostSysvBefore, err = hostSysvObjects()
		Expect(err).NotTo(HaveOccurred(), "ipc: read the host's SysV objects before the child in %s", opts.Set)
	}
	var seen func() *cgroupSighting
	if chosen.dir != "" {
		seen = holdForCgroup(&opts, chosen.dir)
	}
	c.MonotonicBefore = clockNow(unix.CLOCK_MONOTONIC)
	c.BoottimeBefore = clockNow(unix.CLOCK_BOOTTIME)
	res, err := spawn.Run(ctx, opts)
	c.MonotonicAfter = clockNow(unix.CLOCK_MONOTONIC)
	c.BoottimeAfter = clockNow(unix.CLOCK_BOOTTIME)
	if seen != nil {
		c.CgroupSeen = seen()
	}
	Expect(err).NotTo(HaveOccurred(), "%srun the probe in %s", kindOfFailure(err), opts.Set)
	c.Result, c.Report = res, res.Report
	if shareNet {
		c.HostLinksAfter, err = hostLinkNames()
		Expect(err).NotTo(HaveOccurred(), "net: read the host's links after the child in %s", opts.Set)
	}
	if shareIPC {
		c.HostSysvAfter, err = hostSysvObjects()
		Expect(err).NotTo(HaveOccurred(), "ipc: read the host's SysV objects after the child in %s", opts.Set)
	}
	if a.MountProc {
		c.MountinfoAfter = hostMountinfoAfter()
	}
	c.HostnameAfter, c.DomainnameAfter, err = uname()
	Expect(err).NotTo(HaveOccurred())
	if a.MsgQueueKey != 0 {
		c.ChildQueueOnHost, err = hostHasQueue(a.MsgQueueKey)
		Expect(err).NotTo(HaveOccurred())
	}
	if a.MarkerLink != "" {
		c.HostLinksAfter, err = hostLinkNames()
		Expect(err).NotTo(HaveOccurred())
	}
	addChildEntry(res)
	return c
}

// kindOfFailure is "<kind>: " when err says which kind's namespace could
// not be made, so that the failure names it first, as an oracle's does.
func kindOfFailure(err error) string {
	var e *spawn.Error
	if errors.As(err, &e) && e.Kind != "" {
		return string(e.Kind) + ": "
	}
	return ""
}

// addChildEntry attaches a child's report to the spec, as "child <set>",
// with the few host values it is compared with, so that a failure shows
// inside and host side by side.
func addChildEntry(res *spawn.Result) {
	addReportEntry("child "+res.Set.String(), childEntry{
		Set:      res.Set.String(),
		Launcher: res.Launcher,
		Args:     res.Args,
		PID:      res.PID,
		HostPID:  res.HostPID,
		Outside:  outsideOf(res.Outside),
		Report:   res.Report,
		Host:     host.compared(),
	})
}

// childEntry is the value of a "child <set>" report entry.
type childEntry struct {
	Set      string   `json:"set"`
	Launcher string   `json:"launcher"`
	Args     []string `json:"args"`
	PID      int      `json:"pid"`
	HostPID  int      `json:"host_pid"`
	// Outside is what the host read of the child that the verdicts
	// rest on, which the report must agree with.
	Outside *outsideEntry   `json:"outside"`
	Report  *probes.Report  `json:"report"`
	Host    json.RawMessage `json:"host"`
}

// needsCreate skips a spec whose set holds kinds but not user when this
// process lacks CAP_SYS_ADMIN over its own user namespace: it may then
// create the other kinds only inside a new user namespace.
func needsCreate(set spawn.Set) {
	if set == spawn.None || set.Has(spawn.User) {
		return
	}
	needs(features.CanCreate(set))
}

// needs skips the spec with reason unless ok. The privilege checks of
// spawn.Privilege return both, the reason naming the capability, the
// namespace it is needed over and the remedy.
func needs(ok bool, reason string) {
	if !ok {
		Skip(reason)
	}
}

// canAddHostLink says whether this process may add a marker link to the
// host's network namespace: it needs CAP_NET_ADMIN over it, which root in a
// user namespace of its own lacks.
func canAddHostLink() (bool, string) {
	return features.NeedOver(spawn.Net, spawn.CapNetAdmin, "add a marker link to it")
}

// needsKinds skips a spec whose set holds a kind this machine cannot create,
// with the preflight's reason and remedy. A kind that can be created never
// skips, so a skip cannot hide a failure.
func needsKinds(set spawn.Set) {
	if ok, reason := features.Supports(set); !ok {
		Skip(reason)
	}
}

// outsideEntry is the part of the host's reading of a child that a report
// entry carries: the namespaces and pids the verdicts rest on, and what
// could not be read. The rest (capabilities, maps, cgroups, owners) is
// compared in the spec and named in its failure; carried whole, it would
// make every matrix entry's report several times larger.
type outsideEntry struct {
	NS     map[string]probes.NSID `json:"ns"`
	NSpid  []int                  `json:"nspid,omitempty"`
	Errors map[string]string      `json:"errors,omitempty"`
}

func outsideOf(o *probes.Outside) *outsideEntry {
	if o == nil {
		return nil
	}
	return &outsideEntry{NS: o.NS, NSpid: o.NSpid, Errors: o.Errors}
}
