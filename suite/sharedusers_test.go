//go:build linux

package suite

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/spawn"
)

// sharedUserNSEnv marks the suite run that the spec below starts as root in
// a user namespace of its own that shares every other namespace with the
// host, so that it does not start another.
const sharedUserNSEnv = "NSVERIFY_IN_SHARED_USERNS"

// skipReason is what a skip must name: the capability that is missing (and,
// in the message around it, over which namespace and the remedy), or the
// kernel or its limit that stops the spec.
var skipReason = `CAP_[A-Z_]+|kernel|max_[a-z]+_namespaces`

var _ = Describe("a suite run as root in a user namespace that shares the host's other namespaces", Label("preflight"), Serial, func() {
	It("runs what needs only its own namespaces, and skips what would change the host's, naming the capability it lacks", SpecTimeout(nestedSpecTimeout), func(ctx SpecContext) {
		if os.Getenv(sharedUserNSEnv) != "" {
			Skip("already inside the run this spec starts")
		}
		// The user namespace maps every id to itself, as a rootless
		// container with host networking or `unshare --user` with a full
		// map does: uid 0 there holds every capability over that user
		// namespace, and none over the host's network, IPC, UTS, mount,
		// cgroup, pid or time namespaces, which it does not own.
		needsKinds(spawn.SetOf(spawn.User))
		needs(features.CanMapIDs(identityMap(), identityMap()))
		identity := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 4294967295}}
		// Every spec but the ones that start nested runs of their own.
		specs, out := runNestedSuite(ctx, "!preflight", []string{sharedUserNSEnv + "=1"}, &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: identity, GidMappings: identity, GidMappingsEnableSetgroups: true,
		})
		var passed, skipped int
		reasons := map[string]int{}
		for _, spec := range specs {
			Expect(spec.State).NotTo(Equal(types.SpecStateFailed), "%s failed in the user namespace: %s\n%s", spec.FullText(), spec.Failure.Message, out)
			switch spec.State {
			case types.SpecStatePassed:
				passed++
			case types.SpecStateSkipped:
				if spec.Failure.Message == "" {
					// Left out by the label filter.
					Expect(slices.Contains(spec.Labels(), "preflight")).To(BeTrue(), "%s skipped without a reason", spec.FullText())
					continue
				}
				if strings.HasPrefix(spec.Failure.Message, "n/a: ") {
					// A set a launcher cannot express there: its fact,
					// stated with the reason, not a skip of the suite's.
					continue
				}
				Expect(spec.Failure.Message).To(MatchRegexp(skipReason), "%s skipped for a reason that names no capability or kernel limit", spec.FullText())
				skipped++
				reasons[spec.Failure.Message]++
			}
		}
		Expect(passed).To(BeNumerically(">", 0), "no spec ran in the user namespace:\n%s", out)
		// The host's marker link is what it surely cannot make.
		Expect(reasons).To(HaveKey(ContainSubstring("needs CAP_NET_ADMIN over the host's net namespace")),
			"no spec skipped for the host's marker link, which root in this user namespace cannot add:\n%s", out)
		var summary []string
		for reason, n := range reasons {
			summary = append(summary, fmt.Sprintf("%d× %s", n, reason))
		}
		sort.Strings(summary)
		AddReportEntry("root in a user namespace sharing the host's", fmt.Sprintf("%d specs passed, %d skipped:\n%s", passed, skipped, strings.Join(summary, "\n")))
	})
})

// identityMap maps every id to itself, so root in the new user namespace
// is root outside too. Specs that need it run as root already.
func identityMap() []spawn.IDMap {
	return []spawn.IDMap{{Inside: 0, Outside: 0, Count: math.MaxUint32}}
}
