//go:build linux

package suite

import (
	"context"
	"errors"
	"os"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// expectJoined asserts every kind of r: a joined kind is the holder's
// namespace and not the host's; a kind made new differs from both; every
// other kind is the host's. The oracle of a joined kind compares with the
// namespace's holder, not with the host.
func expectJoined(r *probes.Report, h *Holder, joined, made spawn.Set) {
	GinkgoHelper()
	for _, kind := range spawn.All.Kinds() {
		if _, ok := host.NS[string(kind)]; !ok {
			continue // a kind this kernel lacks
		}
		switch {
		case joined.Has(kind):
			Expect(r.NS[string(kind)]).To(Equal(h.NS(kind)), "%s: the probe joined the holder's %s namespace, and its identity is not the holder's", kind, kind)
			Expect(r).To(BeIsolatedFrom(host, kind))
		case made.Has(kind):
			Expect(r).To(BeIsolatedFrom(host, kind))
			if h.Set.Has(kind) {
				Expect(r.NS[string(kind)]).NotTo(Equal(h.NS(kind)), "%s: the probe made a new %s namespace, and it is the holder's", kind, kind)
			}
		default:
			Expect(r).To(BeSharedWith(host, kind))
		}
	}
}

func linkNames(r *probes.Report) []string {
	if r.Links == nil {
		return nil
	}
	return r.Links.Names
}

var _ = Describe("joining namespaces another process holds", Label("join"), func() {
	var m Markers
	BeforeEach(func() { m = NewMarkers() })

	Context("by /proc/PID/ns paths, one setns per kind", func() {
		It("puts the probe in the holder's uts, ipc and net namespaces, where it sees the holder's hostname, queue and link, while an unjoined probe sees none of them", func(ctx SpecContext) {
			h := StartHolder(spawn.SetOf(spawn.UTS, spawn.IPC, spawn.Net), holdActions{Hostname: m.Hostname, MsgKey: m.ChildQueueKey, Link: m.ChildLink}, nil, nil)
			joined := spawn.SetOf(spawn.UTS, spawn.IPC, spawn.Net)
			opts := spawn.Options{Probe: probePath, Join: spawn.Join{Paths: map[spawn.Kind]string{}}}
			for _, k := range joined.Kinds() {
				opts.Join.Paths[k] = h.Path(k)
			}
			r := RunChild(ctx, opts, m).Report
			expectJoined(r, h, joined, spawn.None)
			Expect(r.Launcher).NotTo(BeNil(), "uts: the report does not say a stage joined")
			Expect(r.Launcher.Joined).To(Equal([]string{"ipc", "uts", "net"}), "ipc, uts, net: the stage joined other kinds, or in another order")
			Expect(r.Hostname).To(Equal(m.Hostname), "uts: the joined probe does not see the holder's hostname")
			Expect(msgKeys(r.IPC)).To(ContainElement(m.ChildQueueKey), "ipc: the joined probe does not see the holder's queue")
			Expect(linkNames(r)).To(ContainElement(m.ChildLink), "net: the joined probe does not see the holder's link")

			control := RunChild(ctx, spawn.Options{Probe: probePath}, m).Report
			Expect(control.Hostname).NotTo(Equal(m.Hostname), "uts: a probe that joined nothing sees the holder's hostname")
			Expect(msgKeys(control.IPC)).NotTo(ContainElement(m.ChildQueueKey), "ipc: a probe that joined nothing sees the holder's queue")
			Expect(linkNames(control)).NotTo(ContainElement(m.ChildLink), "net: a probe that joined nothing sees the holder's link")
		})

		It("joins a user namespace first and becomes its root, so that the maps read back are the holder's", func(ctx SpecContext) {
			uidMap, gidMap := spawn.CallerMaps()
			h := StartHolder(spawn.SetOf(spawn.User, spawn.UTS), holdActions{Hostname: m.Hostname}, uidMap, gidMap)
			joined := spawn.SetOf(spawn.User, spawn.UTS)
			opts := spawn.Options{Probe: probePath, Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.User: h.Path(spawn.User), spawn.UTS: h.Path(spawn.UTS)}}}
			r := RunChild(ctx, opts, m).Report
			expectJoined(r, h, joined, spawn.None)
			Expect(r.Launcher.Joined).To(Equal([]string{"user", "uts"}), "user: the stage did not join user first")
			Expect(r.User).NotTo(BeNil(), "user: no user observation; errors: %v", r.Errors)
			holderMap, err := readIDMap("/proc/" + strconv.Itoa(h.PID) + "/uid_map")
			Expect(err).NotTo(HaveOccurred(), "user: read the holder's uid map")
			Expect(r.User.UIDMap).To(Equal(holderMap), "user: the joined probe's uid map is not the holder's")
			Expect(r.User.UID).To(Equal(0), "user: the probe is not uid 0 of the joined user namespace")
			Expect(r.Hostname).To(Equal(m.Hostname), "uts: the joined probe does not see the holder's hostname")
		})

		It("keeps the host's user namespace when it joins only the holder's uts namespace", func(ctx SpecContext) {
			// setns into a uts namespace needs CAP_SYS_ADMIN over the
			// caller's own user namespace too, which an ordinary user lacks.
			needs(features.CanCreate(spawn.SetOf(spawn.UTS)))
			uidMap, gidMap := spawn.CallerMaps()
			h := StartHolder(spawn.SetOf(spawn.User, spawn.UTS), holdActions{Hostname: m.Hostname}, uidMap, gidMap)
			control := RunChild(ctx, spawn.Options{Probe: probePath, Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.UTS: h.Path(spawn.UTS)}}}, m).Report
			Expect(control.Hostname).To(Equal(m.Hostname), "uts: a probe that joined the holder's uts does not see its hostname")
			Expect(control).To(BeSharedWith(host, spawn.User))
			Expect(control.User.UIDMap).To(Equal(host.Report.User.UIDMap), "user: a probe that joined only uts does not have the host's uid map")
		})
	})

	Context("by a pidfd, several kinds in one setns, besides a new namespace", func() {
		It("puts the probe in the holder's uts, net and pid namespaces, below the holder's pid 1, and in an ipc namespace of its own", func(ctx SpecContext) {
			if ok, why := spawn.PidfdJoin(features.Kernel); !ok {
				Skip(why)
			}
			h := StartHolder(spawn.SetOf(spawn.UTS, spawn.Net, spawn.PID), holdActions{Hostname: m.Hostname, Link: m.ChildLink}, nil, nil)
			joined := spawn.SetOf(spawn.UTS, spawn.Net, spawn.PID)
			opts := PlanFor(spawn.SetOf(spawn.IPC), m)
			opts.Join = spawn.Join{PID: h.PID, Kinds: joined}
			c := RunChild(ctx, opts, m)
			r := c.Report
			expectJoined(r, h, joined, spawn.SetOf(spawn.IPC))
			Expect(r.PID).To(BeNumerically(">", 1), "pid: the joined probe is pid 1, the holder's own number")
			Expect(r.NSpid).To(Equal([]int{c.Result.HostPID, r.PID}), "pid: NSpid does not list the host's pid and the joined namespace's")
			Expect(r.Hostname).To(Equal(m.Hostname), "uts: the joined probe does not see the holder's hostname")
			Expect(linkNames(r)).To(ContainElement(m.ChildLink), "net: the joined probe does not see the holder's link")
			Expect(msgKeys(r.IPC)).To(ContainElement(m.ChildQueueKey), "ipc: the probe's queue is not in its new ipc namespace")

			control := RunChild(ctx, PlanFor(spawn.SetOf(spawn.IPC), NewMarkers()), m).Report
			Expect(control).To(BeSharedWith(host, spawn.PID))
			Expect(linkNames(control)).NotTo(ContainElement(m.ChildLink), "net: a probe that joined nothing sees the holder's link")
		})
	})

	Context("with a wrong combination", Label("badinput"), func() {
		It("refuses a path of another kind, and a kind both made and joined, before anything is cloned", func() {
			self := "/proc/" + strconv.Itoa(os.Getpid()) + "/ns/"
			for _, c := range []struct {
				opts spawn.Options
				want string
			}{
				{spawn.Options{Probe: probePath, Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.UTS: self + "net"}}}, "is a net namespace"},
				{spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.Net), Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.Net: self + "net"}}}, "net is both in the set to create"},
				{spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.User), Join: spawn.Join{Paths: map[spawn.Kind]string{spawn.Net: self + "net"}}}, "holds no capability"},
			} {
				res, err := spawn.Run(context.Background(), c.opts)
				Expect(err).To(MatchError(ContainSubstring(c.want)), "%s: the join %v with set %s was not refused as bad input", kindsOf(c.opts.Join), c.opts.Join, c.opts.Set)
				var cloned *spawn.Error
				Expect(errors.As(err, &cloned)).To(BeFalse(), "%s: the refusal came after a clone: %v", kindsOf(c.opts.Join), err)
				Expect(res).To(BeNil(), "%s: a refused join returned a result", kindsOf(c.opts.Join))
			}
		})
	})
})

func kindsOf(j spawn.Join) spawn.Set { return j.Set() }
