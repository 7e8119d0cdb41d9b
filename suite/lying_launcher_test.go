//go:build linux

package suite

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/spawn/launchers"
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

	DescribeTable("matrix entries run through unshare that silently drops one kind each fail first on that kind",
		func(ctx SpecContext, kind spawn.Kind) {
			real, err := exec.LookPath("unshare")
			if err != nil {
				Skip("needs util-linux unshare on PATH to wrap: install util-linux")
			}
			needsKinds(spawn.SetOf(kind))
			// The entries this caller could run both as asked and as the
			// liar runs them: where dropping the kind leaves a set only
			// CAP_SYS_ADMIN may create (user dropped, as an ordinary
			// user), unshare itself fails, and no oracle is reached.
			var sets []spawn.Set
			why := ""
			for _, set := range lyingSets(kind) {
				if ok, _ := features.Supports(set); !ok {
					continue
				}
				okAsked, reason := creatable(set)
				okLied, _ := creatable(set.Without(kind))
				if okAsked && okLied {
					sets = append(sets, set)
				} else if why == "" {
					why = reason
				}
			}
			if len(sets) == 0 {
				Skip(why)
			}
			liar, err := launchers.Find(launchers.Unshare, lyingUnshare(real, kind), probePath)
			Expect(err).NotTo(HaveOccurred())
			Expect(liar.Refused).To(BeEmpty())
			for _, set := range sets {
				// The matrix entry's own work, stopped at its first
				// failure, which is returned instead of failing this spec.
				failure := InterceptGomegaFailure(func() { VerifySet(ctx, set, liar) })
				Expect(failure).To(HaveOccurred(), "the matrix entry %s passed through an unshare that drops %s", set, kind)
				Expect(failure.Error()).To(HavePrefix(string(kind)+":"), "the matrix entry %s, through an unshare that drops %s, failed naming another kind", set, kind)
			}
		},
		lyingEntries(),
	)
})

// creatable says whether this process may create set: one with user is
// made inside its new user namespace; the others need CAP_SYS_ADMIN.
func creatable(set spawn.Set) (bool, string) {
	if set == spawn.None || set.Has(spawn.User) {
		return true, ""
	}
	return features.CanCreate(set)
}

// lyingSets are the matrix entries a lying launcher is run on for kind: the
// kind alone, beside each other kind once, and all eight.
func lyingSets(kind spawn.Kind) []spawn.Set {
	sets := []spawn.Set{spawn.SetOf(kind)}
	for _, other := range spawn.All.Kinds() {
		if other != kind {
			sets = append(sets, spawn.SetOf(kind, other))
		}
	}
	return append(sets, spawn.All)
}

// lyingEntries is one entry per kind the wrapper can drop.
func lyingEntries() []TableEntry {
	var entries []TableEntry
	for _, k := range spawn.All.Kinds() {
		entries = append(entries, Entry(string(k), k))
	}
	return entries
}
