//go:build linux

package suite

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/spawn"
)

// unshareFlags are the options through which the suite asks util-linux
// unshare for each kind: what a lying wrapper leaves out.
var unshareFlags = map[spawn.Kind][]string{
	spawn.UTS:    {"--uts"},
	spawn.IPC:    {"--ipc"},
	spawn.PID:    {"--pid"},
	spawn.MNT:    {"--mount"},
	spawn.User:   {"--user", "--map-user=*", "--map-group=*"},
	spawn.Net:    {"--net"},
	spawn.Cgroup: {"--cgroup"},
	spawn.Time:   {"--time", "--monotonic", "--boottime"},
}

// lyingUnshare writes a wrapper named unshare that runs the real one
// without the options of kind, as a sandbox that silently drops a kind
// would, and returns its path. --monotonic and --boottime take the next
// argument with them.
func lyingUnshare(real string, kind spawn.Kind) string {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	Expect(os.Chmod(dir, 0o755)).To(Succeed())
	var cases []string
	for _, f := range unshareFlags[kind] {
		if f == "--monotonic" || f == "--boottime" {
			cases = append(cases, f+") skip=1; continue ;;")
		} else {
			cases = append(cases, f+") continue ;;")
		}
	}
	script := `#!/bin/sh
# unshare, less the options of one kind: a launcher that lies.
skip=0
for a do
	shift
	if [ "$skip" = 1 ]; then skip=0; continue; fi
	case "$a" in
	` + strings.Join(cases, "\n\t") + `
	esac
	set -- "$@" "$a"
done
exec ` + real + ` "$@"
`
	path := filepath.Join(dir, "unshare")
	Expect(os.WriteFile(path, []byte(script), 0o755)).To(Succeed())
	return path
}

var _ = Describe("a launcher that lies", Label("launchers"), func() {

	DescribeTable("running the matrix through unshare that silently drops one kind fails every set with that kind, naming it",
		func(ctx SpecContext, kind spawn.Kind) {
			real, err := exec.LookPath("unshare")
			if err != nil {
				Skip("needs util-linux unshare on PATH to wrap: install util-linux")
			}
			needsKinds(spawn.SetOf(kind))
			needs(features.CanCreate(spawn.All.Without(spawn.User)))
			wrapper := lyingUnshare(real, kind)
			filter := "matrix && launcher:unshare && ns:" + string(kind)
			specs, out, runErr := runNestedSuiteMayFail(ctx, filter, []string{launcherEnv + "=unshare=" + wrapper}, nil)
			Expect(runErr).To(HaveOccurred(), "the matrix passed through unshare without %s:\n%s", kind, out)
			var ran, failed, named int
			for _, s := range specs {
				if !s.State.Is(types.SpecStateFailureStates | types.SpecStatePassed) {
					continue
				}
				ran++
				if s.State.Is(types.SpecStateFailureStates) {
					failed++
					if strings.HasPrefix(strings.TrimSpace(s.Failure.Message), string(kind)+":") {
						named++
					}
				}
			}
			Expect(ran).To(BeNumerically(">", 0), "no matrix spec with %s ran through the wrapper:\n%s", kind, out)
			Expect(failed).To(Equal(ran), "%d of %d sets with %s passed through an unshare that drops it", ran-failed, ran, kind)
			Expect(named).To(Equal(failed), "%d of %d failures through an unshare that drops %s do not start with %q:\n%s", failed-named, failed, kind, string(kind)+":", out)
		},
		lyingEntries(),
	)
})

// lyingEntries is one entry per kind the wrapper can drop.
func lyingEntries() []TableEntry {
	var entries []TableEntry
	for _, k := range spawn.Kinds {
		entries = append(entries, Entry(string(k), SpecTimeout(nestedSpecTimeout), k))
	}
	return entries
}
