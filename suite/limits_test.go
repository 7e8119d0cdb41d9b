//go:build linux

package suite

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"
)

// limitZeroEnv makes the suite binary set user.max_user_namespaces to 0
// before it runs, which it does only inside a user namespace of its own.
const limitZeroEnv = "NSVERIFY_USERNS_LIMIT_ZERO"

// The namespace limits are per user namespace, so a suite started in a user
// namespace that maps every id to itself (where it is root with every
// capability) can lower one there without touching the host's, even where
// root lacks CAP_SYS_RESOURCE in the initial namespace.
func init() {
	if os.Getenv(limitZeroEnv) == "" {
		return
	}
	own, err1 := os.Readlink("/proc/self/ns/user")
	initial, err2 := os.Readlink("/proc/1/ns/user")
	if err1 != nil || (err2 == nil && own == initial) {
		fmt.Fprintln(os.Stderr, "refusing to lower user.max_user_namespaces outside a user namespace of the suite's own")
		os.Exit(2)
	}
	if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
		fmt.Fprintln(os.Stderr, "lower user.max_user_namespaces:", err)
		os.Exit(2)
	}
}

var _ = Describe("a machine whose user namespace limit is 0", Label("preflight"), Serial, func() {
	It("skips every spec that needs user with the sysctl's name and remedy, and fails none", SpecTimeout(nestedSpecTimeout), func(ctx SpecContext) {
		if os.Getenv(limitZeroEnv) != "" {
			Skip("already inside the run this spec starts")
		}
		const filter = "(ns:user || ns:uts) && !matrix && !preflight && !host && !faults"
		var specs []types.SpecReport
		var out string
		if limit, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(limit)) == "0" {
			// The machine is there already (CentOS 7 as it ships, a kernel
			// booted with the limit at 0): the same run, as it is, proves
			// it, and no user namespace could be made to lower it in.
			specs, out = runNestedSuite(ctx, filter, nil, nil)
		} else {
			// A user namespace mapping every id to itself, where lowering
			// the limit touches only that namespace's copy.
			needs(features.CanMapIDs(identityMap(), identityMap()))
			identity := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 4294967295}}
			// Its own network, IPC, UTS and mount namespaces too: inside a
			// user namespace it may only change what that namespace owns.
			specs, out = runNestedSuite(ctx, filter, []string{limitZeroEnv + "=1"}, &syscall.SysProcAttr{
				Cloneflags:  unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNS,
				UidMappings: identity, GidMappings: identity, GidMappingsEnableSetgroups: true,
			})
		}
		var skippedUser, passedOther int
		sawUserSpec := false
		for _, spec := range specs {
			Expect(spec.State).NotTo(Equal(types.SpecStateFailed), "%s failed: %s", spec.FullText(), spec.Failure.Message)
			if strings.Contains(spec.FullText(), "cloned with user and the 0→0 maps") {
				sawUserSpec = true
				Expect(spec.State).To(Equal(types.SpecStateSkipped), "%s ran with the limit at 0", spec.FullText())
			}
			switch {
			case spec.State == types.SpecStateSkipped && spec.Failure.Message != "" && slices.Contains(spec.Labels(), "ns:user"):
				// Specs the filter left out are skipped with no message.
				Expect(spec.Failure.Message).To(And(ContainSubstring("user.max_user_namespaces is 0"), ContainSubstring("sysctl -w user.max_user_namespaces=")),
					"%s skipped for another reason than the limit", spec.FullText())
				skippedUser++
			case spec.State == types.SpecStatePassed:
				passedOther++
			}
		}
		Expect(sawUserSpec).To(BeTrue(), "the user specs did not run inside:\n%s", out)
		Expect(skippedUser).To(BeNumerically(">", 0), "no spec skipped for the limit:\n%s", out)
		Expect(passedOther).To(BeNumerically(">", 0), "no spec without user ran:\n%s", out)
		AddReportEntry("limit 0", fmt.Sprintf("%d specs needing user skipped, %d others passed", skippedUser, passedOther))
	})
})
