//go:build linux

package suite

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
)

// nestedRunTimeout bounds one nested run of the suite. At the deadline its
// process group gets SIGTERM, on which the suite undoes what it set up (as
// the interrupt specs prove), and nestedRunGrace later SIGKILL. The specs
// that start one carry nestedSpecTimeout, a little more than both, so that
// Ginkgo also stops a spec that hangs outside the run.
const (
	nestedRunTimeout  = 8 * time.Minute
	nestedRunGrace    = 30 * time.Second
	nestedSpecTimeout = nestedRunTimeout + nestedRunGrace + time.Minute
)

// runNestedSuite runs this suite binary again, on the specs labelFilter
// picks, with env added and cloned with attr, and returns the specs of its
// JSON report and its output. The nested run must succeed within
// nestedRunTimeout (and ctx), or its whole process group is killed and the
// spec fails.
func runNestedSuite(ctx context.Context, labelFilter string, env []string, attr *syscall.SysProcAttr) ([]types.SpecReport, string) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(ctx, nestedRunTimeout)
	defer cancel()
	report := filepath.Join(GinkgoT().TempDir(), "report.json")
	// Its own temporary directory, removed with the spec, so that a run
	// stopped before it could clean up leaves no build of the probe
	// behind. Searchable by all: ids mapped in the run's user namespaces
	// must reach the probe.
	tmp := GinkgoT().TempDir()
	Expect(os.Chmod(tmp, 0o755)).To(Succeed())
	cmd := exec.CommandContext(ctx, os.Args[0],
		"-ginkgo.label-filter="+labelFilter, "-ginkgo.json-report="+report, "-ginkgo.no-color", "-test.run=^TestSuite$",
		"-test.timeout="+nestedRunTimeout.String())
	cmd.Env = append(append(os.Environ(), "TMPDIR="+tmp), env...)
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	attr.Pdeathsig, attr.Setpgid = syscall.SIGKILL, true
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = nestedRunGrace
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		// Whatever of the group outlived the grace period dies now.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		Fail("the nested suite run did not end within " + nestedRunTimeout.String() + "; its process group was stopped:\n" + string(out))
	}
	Expect(err).NotTo(HaveOccurred(), "the nested suite run failed:\n%s", out)
	data, err := os.ReadFile(report)
	Expect(err).NotTo(HaveOccurred())
	var reports []types.Report
	Expect(json.Unmarshal(data, &reports)).To(Succeed())
	Expect(reports).To(HaveLen(1))
	var specs []types.SpecReport
	for _, spec := range reports[0].SpecReports {
		if spec.LeafNodeType == types.NodeTypeIt {
			specs = append(specs, spec)
		}
	}
	return specs, string(out)
}
