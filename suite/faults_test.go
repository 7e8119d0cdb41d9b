//go:build linux

package suite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/nsverify/nsverify/spawn"
)

// fakeArtifacts is the directory gexec builds into in this process, kept so
// that it can be made again after a cleanup removed it.
var fakeArtifacts string

// buildFakeProbe builds the stand-in probe of suite/testdata/fakeprobe and
// removes it, and whatever of it is still running, when the container ends.
// Call it from BeforeAll.
func buildFakeProbe() string {
	GinkgoHelper()
	if fakeArtifacts != "" {
		Expect(os.MkdirAll(fakeArtifacts, 0o700)).To(Succeed())
	}
	path, err := gexec.BuildWithEnvironment("github.com/nsverify/nsverify/suite/testdata/fakeprobe", []string{"CGO_ENABLED=0"})
	Expect(err).NotTo(HaveOccurred(), "build the stand-in probe")
	Expect(os.Chmod(path, 0o755)).To(Succeed())
	dir := filepath.Dir(path)
	fakeArtifacts = filepath.Dir(dir)
	DeferCleanup(func() {
		killLeftovers(path)
		Expect(os.RemoveAll(dir)).To(Succeed())
		// Process 1 removes gexec's directory after the suite
		// (gexec.CleanupBuildArtifacts); elsewhere it is this file's alone.
		if GinkgoParallelProcess() != 1 {
			_ = os.Remove(fakeArtifacts)
		}
	})
	return path
}

// processesOf returns the pids of live (not zombie) processes running the
// binary at path.
func processesOf(path string) []int {
	entries, err := os.ReadDir("/proc")
	Expect(err).NotTo(HaveOccurred())
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if runs(pid, path) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// runs reports whether pid is a live process running the binary at path.
func runs(pid int, path string) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil || exe != path {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// killLeftovers kills, by pid, any process still running the stand-in, so
// a failed spec leaves nothing behind either.
func killLeftovers(path string) {
	for _, pid := range processesOf(path) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

var pidsInStderr = regexp.MustCompile(`pid (\d+)`)

var _ = Describe("a probe that misbehaves", Label("faults"), Ordered, func() {
	var fake string
	uts := spawn.SetOf(spawn.UTS)

	BeforeAll(func() {
		fake = buildFakeProbe()
	})

	expectNothingLeft := func() {
		GinkgoHelper()
		Eventually(func() []int { return processesOf(fake) }).WithTimeout(5*time.Second).WithPolling(50*time.Millisecond).
			Should(BeEmpty(), "a process of the stand-in probe outlived spawn.Run")
	}

	run := func(ctx context.Context, behaviour string, timeout time.Duration) (*spawn.Result, error) {
		needsCreate(uts)
		needsKinds(uts)
		return spawn.Run(ctx, spawn.Options{Probe: fake, Set: uts, Subcommand: behaviour, Timeout: timeout})
	}

	It("is read like the real one when it behaves, so the failures below are the stand-in's doing", func(ctx SpecContext) {
		res, err := run(ctx, "ok", 0)
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Report.PID).To(Equal(res.PID), "the stand-in's report is not its own")
		expectNothingLeft()
	})

	DescribeTable("is killed at its deadline with its whole process group, and the error says so",
		func(ctx SpecContext, behaviour string, wantPIDs int) {
			// Long enough for the stand-in to start and say its pid even
			// on a slow (emulated, loaded) machine. That Run returns at
			// all is bounded by the spec's own timeout, not measured.
			_, err := run(ctx, behaviour, 3*time.Second)
			Expect(err).To(HaveOccurred(), "a probe that hangs was reported as a success")
			Expect(errors.Is(err, context.DeadlineExceeded)).To(BeTrue(), "the error does not wrap context.DeadlineExceeded: %v", err)
			var se *spawn.Error
			Expect(errors.As(err, &se)).To(BeTrue(), "the error is not a *spawn.Error: %v", err)
			Expect(se.Set).To(Equal(uts))
			Expect(err.Error()).To(HavePrefix("spawn uts: "), "the error does not name the set")
			Expect(err.Error()).To(ContainSubstring("killed its process group after 3s"))
			Expect(err.Error()).To(ContainSubstring("probe stderr: fakeprobe: pid"), "the error does not carry the probe's stderr")

			pids := map[int]bool{}
			for _, m := range pidsInStderr.FindAllStringSubmatch(se.Stderr, -1) {
				pid, _ := strconv.Atoi(m[1])
				pids[pid] = true
			}
			Expect(pids).To(HaveLen(wantPIDs), "the stand-in's stderr does not name its %d pids: %q", wantPIDs, se.Stderr)
			for pid := range pids {
				Eventually(func() bool { return runs(pid, fake) }).WithTimeout(5*time.Second).WithPolling(50*time.Millisecond).
					Should(BeFalse(), "pid %d of the stand-in is still running after the deadline", pid)
			}
			expectNothingLeft()
		},
		Entry("when it hangs alone", "hang", 1),
		Entry("when it hangs with a grandchild in its process group", "hang-fork", 2),
	)

	DescribeTable("fails with an error that says what happened, and leaves nothing running",
		func(ctx SpecContext, behaviour, op string, phrases ...string) {
			res, err := run(ctx, behaviour, 0)
			Expect(err).To(HaveOccurred(), "a probe that misbehaved (%s) was reported as a success: %+v", behaviour, res)
			var se *spawn.Error
			Expect(errors.As(err, &se)).To(BeTrue(), "the error is not a *spawn.Error: %v", err)
			Expect(se.Set).To(Equal(uts))
			Expect(se.Op).To(Equal(op))
			msg := err.Error()
			Expect(msg).To(HavePrefix("spawn uts: "+op+": "), "the error does not name the set and the step")
			for _, p := range phrases {
				Expect(msg).To(ContainSubstring(p))
			}
			Expect(errors.Is(err, context.DeadlineExceeded)).To(BeFalse(), "a prompt failure was reported as a timeout: %v", err)
			expectNothingLeft()
		},
		Entry("when it panics", "crash", "wait for probe", "exit status 2", "probe stderr: panic: fakeprobe: crashing on purpose"),
		Entry("when it dies of SIGSEGV", "segv", "wait for probe", "exit status 2", "probe stderr: SIGSEGV"),
		Entry("when it exits with status 3", "exit3", "wait for probe", "exit status 3", "probe stderr: fakeprobe: giving up with status 3"),
		Entry("when it prints invalid JSON", "badjson", "read probe report", "the probe printed invalid JSON"),
		Entry("when it prints nothing", "nothing", "read probe report", "the probe printed nothing"),
		Entry("when it prints two objects", "two", "read probe report", "the probe printed more than one JSON object"),
	)
})
