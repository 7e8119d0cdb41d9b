//go:build linux

package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/hostlock"
	"github.com/nsverify/nsverify/internal/kindcheck"
	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/spawn/launchers"
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

// childrenBefore are this process's descendants when its setup began; the
// rest, at the end, were left behind.
var childrenBefore []hoststate.Process

// suiteCleanups undo what the suite set up for a whole process. They run in
// the all-process part of SynchronizedAfterSuite, so that process 1 has
// undone its own before it compares the host with hostBefore.
var suiteCleanups []func()

func TestSuite(t *testing.T) {
	if launcherEnvErr != nil {
		t.Fatalf("%v; nothing was run", launcherEnvErr)
	}
	// Before any child is started: a grandchild whose parent exits is then
	// reparented to this process rather than to init, so the check at the
	// end sees it among this process's descendants, and kills it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("make the suite process a child subreaper: %v; nothing was run", err)
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "nsverify")
}

// sharedSetup is what the first parallel process hands the others: the
// probe it built and the launchers it found.
type sharedSetup struct {
	Probe     string                `json:"probe"`
	Launchers []*launchers.Launcher `json:"launchers"`
}

// releaseHost gives the host's turn back (internal/hostlock), once the
// host has been compared after the suite.
var releaseHost = func() {}

var _ = SynchronizedBeforeSuite(func() []byte {
	// Other tests of the module that plant on the host wait while the
	// host is compared with itself, and the suite waits for them.
	release, err := hostlock.Hold()
	Expect(err).NotTo(HaveOccurred(), "wait for the host's turn")
	releaseHost = release
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
	// Every skip rests on spawn's detection, the same in every parallel
	// process. A second method that shares no code with spawn must agree
	// with it, checked once, here: a fault in spawn could otherwise turn
	// the specs of a kind into skips and the run into a pass.
	kinds, err := kindcheck.Check(context.Background())
	Expect(err).NotTo(HaveOccurred(), "check what this process can create without spawn")
	AddReportEntry("kindcheck", kinds, ReportEntryVisibilityNever)
	if failures := crossCheckKinds(f, kinds); len(failures) > 0 {
		Fail("spawn's detection and a bare unshare(2) disagree on what this process can create, so a skip cannot be trusted:\n" + strings.Join(failures, "\n"))
	}
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
	var err error
	childrenBefore, err = ownDescendants()
	Expect(err).NotTo(HaveOccurred(), "list this process's descendants before the suite")
	features = spawn.Detect(probePath)
	Expect(features.Error).To(BeEmpty(), "detect what this kernel supports")
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
	// A grandchild killed by its Pdeathsig when its parent exited is
	// reparented here and waits, a zombie, for this process to reap it:
	// that is the cleanup working, not a leak. It is reaped and listed;
	// what still runs is left for the checks below, which fail on it.
	reaped, err := reapOrphanedZombies()
	Expect(err).NotTo(HaveOccurred(), "reap the zombies reparented to this process")
	if len(reaped) > 0 {
		AddReportEntry("reaped orphans", fmt.Sprint(reaped))
	}
	// Process 1 compares its descendants with the host snapshot below;
	// every other process checks its own here, since it is their
	// subreaper and no one else looks.
	if GinkgoParallelProcess() != 1 {
		left, err := leftBehind(childrenBefore)
		Expect(err).NotTo(HaveOccurred(), "list this process's descendants after the suite")
		defer killOrphans(left)
		Expect(left).To(BeEmpty(), "the suite left processes behind")
	}
}, func() {
	defer releaseHost()
	defer gexec.CleanupBuildArtifacts()
	defer func() { _ = testbuild.Remove(probePath) }()
	closeLaunchers()
	if hostBefore == nil {
		return
	}
	after, err := hoststate.Take(snapshotOptions())
	Expect(err).NotTo(HaveOccurred(), "take a snapshot of the host after the suite")
	// Reported below, then killed: an orphan must not outlive the run.
	defer killOrphans(newProcesses(hostBefore.Children, after.Children))
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

// crossCheckKinds compares spawn's detection with kindcheck's, kind by
// kind, and returns one line per disagreement, naming the kind. It
// compares like with like: a kind spawn calls supported against one a
// bare unshare(2) could create directly or inside a new user namespace,
// and the exact sets needsKinds decides on (the kind alone, and with
// user) against the matching trial. Where this process is an
// administrator of the host and the kind exists with a non-zero limit,
// the kind must be usable, whatever either method says.
func crossCheckKinds(f *spawn.Features, r *kindcheck.Report) []string {
	var failures []string
	if spawnAdmin := f.InitialUserNS && f.Has(spawn.CapSysAdmin); spawnAdmin != r.Facts.AdminOfHost() {
		failures = append(failures, fmt.Sprintf("privilege: spawn reads %s, while /proc/self/uid_map and CapEff say initial user namespace %v, CAP_SYS_ADMIN %v",
			f.Who(), r.Facts.InitialUserNS, r.Facts.CapSysAdmin))
	}
	user, _ := r.Kind(string(spawn.User))
	userAgrees := f.Kind(spawn.User).Supported() == user.Can
	for _, k := range spawn.All.Kinds() {
		res, ok := r.Kind(string(k))
		if !ok {
			failures = append(failures, fmt.Sprintf("%s: a bare unshare(2) was not tried", k))
			continue
		}
		if must, why := r.MustBeUsable(string(k)); must {
			if ok, reason := f.Supports(spawn.SetOf(k)); !ok {
				failures = append(failures, fmt.Sprintf("%s: must be usable (%s), yet its specs would be skipped: %s", k, why, reason))
			}
		}
		ks := f.Kind(k)
		if ks.Supported() != res.Can {
			failures = append(failures, fmt.Sprintf("%s: spawn's detection says %s, a bare unshare(2) says %s: %s",
				k, spawnSays(ks.Supported(), ks.Reason), unshareSays(res.Can), res.Evidence))
			continue
		}
		// Go starts a child in a new time namespace only through clone3.
		starts := func(unshared bool) bool { return unshared && (k != spawn.Time || r.Facts.Clone3) }
		trials := []struct {
			set spawn.Set
			can bool
		}{{spawn.SetOf(k), starts(res.Direct)}}
		if k != spawn.User && userAgrees {
			trials = append(trials, struct {
				set spawn.Set
				can bool
			}{spawn.SetOf(k, spawn.User), starts(res.InUserNS) && user.Direct})
		}
		for _, t := range trials {
			if ok, reason := f.Supports(t.set); ok != t.can {
				failures = append(failures, fmt.Sprintf("%s: spawn's detection says %s in %s, a bare unshare(2) says %s: %s",
					k, spawnSays(ok, reason), t.set, unshareSays(t.can), res.Evidence))
			}
		}
	}
	return failures
}

func spawnSays(ok bool, reason string) string {
	if ok {
		return "it can be created"
	}
	return fmt.Sprintf("it cannot be created (%s)", reason)
}

func unshareSays(ok bool) string {
	if ok {
		return "it can"
	}
	return "it cannot"
}

// ownDescendants lists this process's descendants; as a child subreaper,
// it is the parent of every orphan its children leave.
func ownDescendants() ([]hoststate.Process, error) {
	s, err := hoststate.Take(hoststate.Options{ParentPID: os.Getpid()})
	if err != nil {
		return nil, err
	}
	return s.Children, nil
}

// leftBehind lists the descendants of this process that were not there
// before.
func leftBehind(before []hoststate.Process) ([]hoststate.Process, error) {
	now, err := ownDescendants()
	if err != nil {
		return nil, err
	}
	return newProcesses(before, now), nil
}

// newProcesses returns the processes of after that are not in before, by
// pid and start time (a pid may have been reused).
func newProcesses(before, after []hoststate.Process) []hoststate.Process {
	var found []hoststate.Process
	for _, p := range after {
		if !slices.ContainsFunc(before, func(b hoststate.Process) bool { return b.PID == p.PID && b.StartTime == p.StartTime }) {
			found = append(found, p)
		}
	}
	return found
}

// reapOrphanedZombies reaps the zombies whose parent is this process, and
// returns them. By the end of the suite every child it started itself has
// been waited for, so these are grandchildren reparented to it.
func reapOrphanedZombies() ([]hoststate.Process, error) {
	procs, err := ownDescendants()
	if err != nil {
		return nil, err
	}
	var reaped []hoststate.Process
	for _, p := range procs {
		if p.PPID != os.Getpid() || !p.Zombie() {
			continue
		}
		var ws unix.WaitStatus
		pid, err := unix.Wait4(p.PID, &ws, unix.WNOHANG, nil)
		if err != nil {
			return reaped, fmt.Errorf("reap pid %d (%s): %w", p.PID, p.Comm, err)
		}
		if pid == p.PID {
			reaped = append(reaped, p)
		}
	}
	return reaped, nil
}

// killOrphans kills each process by pid, only while it is still the same
// process (same start time), and reaps those that are, or become, this
// process's children: as their subreaper it is the only one that can.
// It waits a bounded time; a process left after that is reported.
func killOrphans(procs []hoststate.Process) {
	same := func(p hoststate.Process) bool {
		now, err := hoststate.ReadStat(p.PID)
		return err == nil && now.StartTime == p.StartTime
	}
	for _, p := range procs {
		if same(p) {
			_ = unix.Kill(p.PID, unix.SIGKILL)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for left := procs; len(left) > 0; {
		var still []hoststate.Process
		for _, p := range left {
			if !same(p) {
				continue
			}
			now, _ := hoststate.ReadStat(p.PID)
			if now.PPID == os.Getpid() {
				var ws unix.WaitStatus
				if pid, err := unix.Wait4(p.PID, &ws, unix.WNOHANG, nil); pid == p.PID || errors.Is(err, unix.ECHILD) {
					continue
				}
			}
			still = append(still, p)
		}
		if len(still) > 0 && time.Now().After(deadline) {
			fmt.Fprintf(GinkgoWriter, "could not kill and reap processes left behind: %v\n", still)
			return
		}
		left = still
		if len(left) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

var _ = Describe("the host-invariance check", func() {
	It("sees a grandchild that a child left behind, since the suite process is its subreaper, and kills it", func() {
		before, err := ownDescendants()
		Expect(err).NotTo(HaveOccurred())
		// sh starts sleep in a session of its own, prints its pid and
		// exits: sleep is an orphan, as a probe's stray helper would be.
		sh := exec.Command("sh", "-c", "setsid sleep 30 </dev/null >/dev/null 2>&1 & echo $!")
		sh.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := sh.Output()
		Expect(err).NotTo(HaveOccurred(), "start an orphan")
		pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
		Expect(err).NotTo(HaveOccurred(), "read the orphan's pid from %q", out)
		orphan, err := hoststate.ReadStat(pid)
		Expect(err).NotTo(HaveOccurred(), "read the orphan's stat")
		DeferCleanup(killOrphans, []hoststate.Process{orphan})

		Eventually(func() (int, error) {
			p, err := hoststate.ReadStat(pid)
			return p.PPID, err
		}).WithTimeout(5*time.Second).Should(Equal(os.Getpid()), "the orphan is reparented to the suite process")
		left, err := leftBehind(before)
		Expect(err).NotTo(HaveOccurred())
		Expect(left).To(ContainElement(HaveField("PID", pid)), "the check lists the orphan among what was left behind")

		killOrphans(left)
		_, err = os.Stat("/proc/" + strconv.Itoa(pid))
		Expect(err).To(MatchError(os.ErrNotExist), "the orphan is killed and reaped, not left a zombie")
		left, err = leftBehind(before)
		Expect(err).NotTo(HaveOccurred())
		Expect(left).To(BeEmpty())
	})
})
