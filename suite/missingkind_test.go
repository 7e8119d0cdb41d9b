//go:build linux

package suite

import (
	"fmt"
	"os"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/kernelsim"
	"github.com/nsverify/nsverify/spawn"
)

// refuseCgroupEnv makes the suite binary meet a kernel without cgroup
// namespaces: a seccomp filter fails clone and unshare with
// CLONE_NEWCGROUP with EINVAL, as such a kernel does, and clone3 with ENOSYS.
const refuseCgroupEnv = "NSVERIFY_SIMULATE_NO_CGROUPNS"

func init() {
	if os.Getenv(refuseCgroupEnv) == "" {
		return
	}
	if err := kernelsim.Refuse(unix.CLONE_NEWCGROUP); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

var _ = Describe("a kernel that cannot create a kind", Label("preflight"), Serial, func() {
	It("skips every spec whose set holds that kind, with the reason, and passes the rest", SpecTimeout(nestedSpecTimeout), func(ctx SpecContext) {
		if os.Getenv(refuseCgroupEnv) != "" {
			Skip("already inside the run this spec starts")
		}
		// Without it, specs whose sets lack user would skip for that
		// reason too, and the missing kind would not be what stops them.
		needsCreate(spawn.SetOf(spawn.Cgroup))
		if err := kernelsim.Supported(); err != nil {
			Skip(err.Error() + "; the simulation cannot run here, nothing is wrong with the kernel")
		}
		specs, out := runNestedSuite(ctx, "(ns:cgroup || ns:uts) && !preflight && !host && !faults && !badinput",
			[]string{refuseCgroupEnv + "=1"}, nil)
		// Kinds this machine refuses of itself (user.max_user_namespaces at
		// 0, say) skip inside too, for the preflight's own reason.
		var machineRefuses []spawn.Kind
		for _, k := range features.Kinds {
			if k.Present && !k.Supported() && k.Kind != spawn.Cgroup && k.Kind != spawn.Time {
				machineRefuses = append(machineRefuses, k.Kind)
			}
		}
		refusedByMachine := func(spec types.SpecReport) bool {
			for _, k := range machineRefuses {
				if slices.Contains(spec.Labels(), "ns:"+string(k)) && strings.HasPrefix(spec.Failure.Message, string(k)+": ") {
					return true
				}
			}
			return false
		}
		var skipped, passed, skippedByMachine int
		for _, spec := range specs {
			Expect(spec.State).NotTo(Equal(types.SpecStateFailed), "%s failed: %s", spec.FullText(), spec.Failure.Message)
			switch {
			case spec.State == types.SpecStateSkipped && spec.Failure.Message != "" && refusedByMachine(spec):
				skippedByMachine++
			case spec.State == types.SpecStateSkipped && strings.HasPrefix(spec.Failure.Message, "n/a: "):
				// A set a launcher cannot express: its fact, whatever
				// the kernel makes.
			case spec.State == types.SpecStateSkipped && spec.Failure.Message != "":
				// Time is refused as well: Go creates it only through clone3.
				refused := slices.Contains(spec.Labels(), "ns:cgroup") || slices.Contains(spec.Labels(), "ns:time")
				Expect(refused).To(BeTrue(), "%s skipped though its set has neither cgroup nor time: %s", spec.FullText(), spec.Failure.Message)
				Expect(spec.Failure.Message).To(MatchRegexp(`^(cgroup|time): cannot create (cgroup|time) namespaces`), "%s skipped without the reason", spec.FullText())
				skipped++
			case spec.State == types.SpecStatePassed:
				Expect(slices.Contains(spec.Labels(), "ns:cgroup")).To(BeFalse(), "%s passed with cgroup in its set", spec.FullText())
				passed++
			}
		}
		Expect(skipped).To(BeNumerically(">", 0), "no spec skipped for the missing kind:\n%s", out)
		Expect(passed).To(BeNumerically(">", 0), "no spec without the kind ran:\n%s", out)
		AddReportEntry("no cgroup namespaces", fmt.Sprintf("%d specs needing cgroup skipped, %d others passed, %d skipped for what this machine itself refuses (%v)", skipped, passed, skippedByMachine, machineRefuses))
	})
})
