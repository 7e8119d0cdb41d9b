//go:build linux

package suite

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
)

// runNestedSuite runs this suite binary again, on the specs labelFilter
// picks, with env added and cloned with attr, and returns the specs of its
// JSON report and its output. The nested run must succeed.
func runNestedSuite(ctx SpecContext, labelFilter string, env []string, attr *syscall.SysProcAttr) ([]types.SpecReport, string) {
	GinkgoHelper()
	report := filepath.Join(GinkgoT().TempDir(), "report.json")
	cmd := exec.CommandContext(ctx, os.Args[0],
		"-ginkgo.label-filter="+labelFilter, "-ginkgo.json-report="+report, "-test.run=^TestSuite$")
	cmd.Env = append(os.Environ(), env...)
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	attr.Pdeathsig, attr.Setpgid = syscall.SIGKILL, true
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
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
