//go:build linux

package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/suite/hoststate"
	"github.com/nsverify/nsverify/suite/matrixreport"
)

// probePath is the nsprobe binary, built once on process 1 and shared.
var probePath string

// host is this process's baseline of the host, read in BeforeSuite.
var host *Host

// features is what this kernel can do, detected once per process.
var features *spawn.Features

// hostBefore is process 1's snapshot of the host before any spec ran.
var hostBefore *hoststate.Snapshot

// suiteCleanups undo what the suite set up for a whole process. They run in
// the all-process part of SynchronizedAfterSuite, so that process 1 has
// undone its own before it compares the host with hostBefore.
var suiteCleanups []func()

func TestSuite(t *testing.T) {
	if launcherEnvErr != nil {
		t.Fatalf("%v; nothing was run", launcherEnvErr)
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "nsverify")
}

// sharedSetup is what the first parallel process hands the others: the
// probe it built and the launchers it found.
type sharedSetup struct {
	Probe     string            `json:"probe"`
	Launchers []*spawn.Launcher `json:"launchers"`
}

var _ = SynchronizedBeforeSuite(func() []byte {
	var err error
	hostBefore, err = hoststate.Take(snapshotOptions())
	Expect(err).NotTo(HaveOccurred(), "take a snapshot of the host before the suite")

	path, err := buildProbe()
	Expect(err).NotTo(HaveOccurred())

	// The preflight heads every run: what this machine can do, and why not.
	f := spawn.Detect(path)
	var table bytes.Buffer
	Expect(f.WriteTable(&table, spawn.ColorWanted(os.Stdout))).To(Succeed())
	fmt.Fprintln(os.Stdout, table.String())
	preflight, err := json.Marshal(struct {
		Summary string `json:"summary"`
		*spawn.Features
	}{preflightSummary(f), f})
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("preflight", string(preflight), ReportEntryVisibilityNever)
	AddReportEntry("kernel", f.Kernel, ReportEntryVisibilityNever)
	// Launchers are found once, here, before any spec runs anywhere: an
	// OCI runtime's trials must not run beside a spec (see runsAlone).
	shared, err := json.Marshal(sharedSetup{Probe: path, Launchers: findLaunchers(path)})
	Expect(err).NotTo(HaveOccurred())
	return shared
}, func(data []byte) {
	var shared sharedSetup
	Expect(json.Unmarshal(data, &shared)).To(Succeed())
	probePath = shared.Probe
	useLaunchers(shared.Launchers)
	features = spawn.Detect(probePath)
	Expect(features.Error).To(BeEmpty(), "detect what this kernel supports")
	var err error
	host, err = ReadHost(probePath)
	Expect(err).NotTo(HaveOccurred(), "read the host baseline")
	AddReportEntry("host baseline", host.Report, ReportEntryVisibilityNever)
	// Undone in SynchronizedAfterSuite, not by DeferCleanup, which would
	// run after process 1 compared the host.
	saved := deferCleanup
	deferCleanup = func(f func()) { suiteCleanups = append(suiteCleanups, f) }
	defer func() { deferCleanup = saved }()
	sharedMarkers = Markers{}.WithHostQueue().TryHostLink()
	suiteCgroup = enterSuiteCgroup()
	if GinkgoParallelProcess() == 1 {
		AddReportEntry(matrixreport.LaunchersEntry, launcherEntry(os.Stdout), ReportEntryVisibilityNever)
	}
})

var _ = SynchronizedAfterSuite(func() {
	// Every cleanup runs even when one before it fails, so one stuck
	// cgroup never leaves a queue or a link behind as well.
	var failures []string
	for i := len(suiteCleanups) - 1; i >= 0; i-- {
		failures = append(failures, InterceptGomegaFailures(suiteCleanups[i])...)
	}
	suiteCleanups = nil
	Expect(failures).To(BeEmpty(), "undo what the suite set up")
}, func() {
	defer gexec.CleanupBuildArtifacts()
	defer func() { _ = testbuild.Remove(probePath) }()
	closeLaunchers()
	if hostBefore == nil {
		return
	}
	after, err := hoststate.Take(snapshotOptions())
	Expect(err).NotTo(HaveOccurred(), "take a snapshot of the host after the suite")
	changes := hoststate.Diff(hostBefore, after)
	Expect(changes).To(BeEmpty(), "the suite left the host changed:\n%s", hoststate.Format(changes))
})

// preflightSummary is the preflight in one line, for the matrix heading:
// who runs it, how many kinds can be made, and why not the others.
func preflightSummary(f *spawn.Features) string {
	who := f.Who()
	if ks := f.Changeable(); len(ks) > 0 {
		var names []string
		for _, k := range ks {
			names = append(names, string(k))
		}
		who += ", may change the host's " + strings.Join(names, " ")
	} else {
		who += ", may change none of the host's namespaces"
	}
	var ok int
	var not []string
	for _, k := range f.Kinds {
		if k.Supported() {
			ok++
		} else {
			not = append(not, fmt.Sprintf("%s: %s", k.Kind, k.Reason))
		}
	}
	line := fmt.Sprintf("%s, kernel %s, cgroup %s, / %s; %d of %d kinds can be created", who, f.Kernel, f.CgroupLayout, f.RootPropagation, ok, len(f.Kinds))
	if len(not) > 0 {
		line += "; " + strings.Join(not, "; ")
	}
	return line
}

// snapshotOptions says what the invariance check looks at: besides the
// fixed areas, the cgroups the suite makes and the sysctls that decide
// what it can do.
func snapshotOptions() hoststate.Options {
	opts := hoststate.Options{
		CgroupPrefix: "nsverify-",
		Sysctls: []string{
			"user.max_user_namespaces", "user.max_net_namespaces", "user.max_mnt_namespaces",
			"kernel.unprivileged_userns_clone", "kernel.apparmor_restrict_unprivileged_userns",
		},
		// The snapshot is taken by process 1; its children are probes and
		// helpers, none of which may outlive the suite.
		ParentPID: os.Getpid(),
	}
	if mount, err := cgroup2Mount(); err == nil {
		opts.CgroupRoots = []string{mount}
	}
	return opts
}

// buildProbe builds nsprobe as every test setup does (testbuild.Static:
// static, where a mapped id in a user namespace can still exec it); remove
// it with testbuild.Remove.
func buildProbe() (string, error) {
	return testbuild.Static(context.Background(), testbuild.Probe)
}
