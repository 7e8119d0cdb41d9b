//go:build nsreport_fixture

package fixturesuite

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

var machine = os.Getenv("NSREPORT_FIXTURE")

func TestFixture(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "nsverify")
}

// present is what the pretended kernel has in /proc/self/ns.
func present(k spawn.Kind) bool {
	return machine != "el7" || (k != spawn.Cgroup && k != spawn.Time)
}

func namespaces() map[string]probes.NSID {
	ns := map[string]probes.NSID{}
	for i, k := range spawn.All.Kinds() {
		if present(k) {
			ns[string(k)] = probes.NSID{Dev: 4, Ino: uint64(4026531835 + i)}
		}
	}
	// The initial user namespace has the same inode on every kernel.
	ns[string(spawn.User)] = probes.NSID{Dev: 4, Ino: probes.InitialUserIno}
	return ns
}

// childReport is the probe's report in a child of set: a user namespace of
// its own when set has user, and the capabilities root holds there.
func childReport(set spawn.Set) probes.Report {
	report := probes.Report{Schema: probes.Schema, NS: namespaces()}
	if set.Has(spawn.User) {
		report.NS[string(spawn.User)] = probes.NSID{Dev: 4, Ino: 4026532200}
	}
	// The 3.10 kernel knows 37 capabilities, the modern one all.
	known := probes.KnownCaps
	if machine == "el7" {
		known = 37
	}
	var eff []string
	for n := range known {
		eff = append(eff, probes.CapName(n))
	}
	switch {
	case machine == "modern" && set == spawn.SetOf(spawn.IPC, spawn.Net):
		// The child dropped every capability.
		eff = nil
	case machine == "modern" && set == spawn.SetOf(spawn.PID, spawn.Net):
		// The probe could not read its capabilities.
		report.Errors = map[string]string{"caps": "open /proc/self/status: permission denied"}
		return report
	}
	report.Caps = &probes.Caps{Prm: eff, Eff: eff, Bnd: eff}
	return report
}

var _ = SynchronizedBeforeSuite(func() []byte {
	Expect(machine).To(Or(Equal("el7"), Equal("modern")), "set NSREPORT_FIXTURE to el7 or modern")
	return nil
}, func([]byte) {
	if machine != "el7" {
		return
	}
	AddReportEntry("kernel", "3.10.0-1160.119.1.el7.x86_64", ReportEntryVisibilityNever)
	AddReportEntry("preflight", map[string]any{
		"summary":             "root; user namespaces enabled (user.max_user_namespaces=15000); no cgroup or time namespaces",
		"max_user_namespaces": 15000,
	}, ReportEntryVisibilityNever)
	AddReportEntry("host baseline", probes.Report{Schema: probes.Schema, PID: 1234, NS: namespaces()}, ReportEntryVisibilityNever)
})

var _ = Describe("the host", Label("host"), func() {
	It("is read before the specs", func() {})
})

var _ = Describe("the walk-through", Label("walkthrough"), func() {
	// Same text as a matrix entry, but not labelled matrix: not a row.
	DescribeTable("a child cloned with the walk-through's cumulative flags is isolated in exactly those, among its six kinds",
		func(set spawn.Set) {}, Entry("uts", Label("ns:uts"), spawn.SetOf(spawn.UTS)))
})

func matrixEntries() []TableEntry {
	var entries []TableEntry
	for _, set := range spawn.PowerSet(spawn.All) {
		labels := Labels{"matrix"}
		for _, k := range set.Kinds() {
			labels = append(labels, "ns:"+string(k))
		}
		entries = append(entries, Entry(set.String(), labels, set))
	}
	return entries
}

var _ = Describe("the combination matrix", func() {
	DescribeTable("a child cloned with a set of kinds is isolated in exactly those, and shares the others",
		func(set spawn.Set) {
			for _, k := range set.Kinds() {
				if !present(k) {
					Skip("this kernel has no " + string(k) + " namespaces (/proc/self/ns/" + string(k) + " is missing); a kernel that has them is needed to verify " + string(k))
				}
			}
			report := childReport(set)
			AddReportEntry("child "+set.String(), map[string]any{"set": set.String(), "report": report}, ReportEntryVisibilityFailureOrVerbose)
			if machine == "el7" && set != spawn.SetOf(spawn.IPC, spawn.PID) {
				for _, k := range []spawn.Kind{spawn.Cgroup, spawn.Time} {
					AddReportEntry("not checked", map[string]any{"kind": k, "reason": string(k) + ": this kernel (3.10.0-1160.119.1.el7.x86_64) has no " + string(k) + " namespaces (/proc/self/ns/" + string(k) + " is missing); boot a newer kernel"}, ReportEntryVisibilityFailureOrVerbose)
				}
			}
			if machine == "modern" && set.Has(spawn.User) && set.Has(spawn.MNT) && !set.Has(spawn.PID) {
				AddReportEntry("identity only", map[string]any{"kind": spawn.MNT, "reason": "the kernel refused the child's /proc mount (EPERM, as it must)"}, ReportEntryVisibilityFailureOrVerbose)
			}
			switch {
			case machine == "el7" && set == spawn.SetOf(spawn.UTS, spawn.Net):
				Expect([]string{"lo", "eth0"}).To(ConsistOf("lo"), "net: the child in %s sees links beyond lo and its own marker", set)
			case machine == "el7" && set == spawn.SetOf(spawn.IPC, spawn.PID):
				Fail("run the probe in ipc+pid: clone: invalid argument")
			case machine == "modern" && set == spawn.SetOf(spawn.User, spawn.Net):
				Expect(0).To(Equal(65534), "user: the child in %s reads back another uid map than the one written", set)
			}
		},
		matrixEntries(),
	)
})
