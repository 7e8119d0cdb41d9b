//go:build linux

package suite

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/spawn/launchers"
	"github.com/nsverify/nsverify/suite/matrixreport"
)

// launcherEnv names the launchers whose matrix the suite runs, separated
// by commas ("go,unshare,bwrap"), or "all"; unset, the built-in launcher
// alone. A name may carry the program to run, "unshare=/path/to/it", as a
// spec does to run a wrapper that lies.
const launcherEnv = "NSVERIFY_LAUNCHER"

// launcherChoice is one launcher asked for: its name and, when given, the
// program to run instead of the one on PATH.
type launcherChoice struct{ name, path string }

// chosenLaunchers are the launchers of launcherEnv, read when the spec
// tree is built; launcherEnvErr says what was wrong with it, which
// TestSuite reports before any spec runs.
var chosenLaunchers, launcherEnvErr = parseLauncherEnv(os.Getenv(launcherEnv))

// parseLauncherEnv parses the value of launcherEnv.
func parseLauncherEnv(v string) ([]launcherChoice, error) {
	var names, paths []string
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		name, path, _ := strings.Cut(part, "=")
		if path != "" && !filepath.IsAbs(path) {
			return nil, fmt.Errorf("%s=%q: the program of launcher %s must be an absolute path, not %q", launcherEnv, v, name, path)
		}
		names, paths = append(names, name), append(paths, path)
	}
	parsed, err := launchers.Parse(strings.Join(names, ","))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", launcherEnv, err)
	}
	choices := make([]launcherChoice, len(parsed))
	for i, name := range parsed {
		choices[i].name = name
		if i < len(paths) && names[i] == name {
			choices[i].path = paths[i]
		}
	}
	return choices, nil
}

// launcherByName are the launchers found, by name: by the first parallel
// process, before any spec runs (an OCI runtime is tried there, and a trial
// must not run beside a spec, see ociSerial), and handed to the others.
var launcherByName = map[string]*launchers.Launcher{}

// findLaunchers finds every chosen launcher, with the probe at probe. The
// first process removes what they made after the suite (closeLaunchers).
func findLaunchers(probe string) []*launchers.Launcher {
	GinkgoHelper()
	var found []*launchers.Launcher
	for _, c := range chosenLaunchers {
		l, err := launchers.Find(c.name, c.path, probe)
		Expect(err).NotTo(HaveOccurred(), "find launcher %s", c.name)
		found = append(found, l)
	}
	return found
}

// useLaunchers makes found the launchers of this process.
func useLaunchers(found []*launchers.Launcher) {
	for _, l := range found {
		launcherByName[l.Name()] = l
	}
}

// closeLaunchers removes what the launchers needed, once every process is
// done with them.
func closeLaunchers() {
	for _, l := range launcherByName {
		Expect(l.Close()).To(Succeed(), "remove what launcher %s needed", l.Name())
	}
}

// runsAlone says a launcher's matrix specs run alone, after the others
// (Serial): runc 1.1 bind-mounts its own binary on the host for a moment
// at every start (in its state directory, against CVE-2019-5736), so a
// spec beside it would see the host's mount table change while its own
// child ran.
func runsAlone(launcher string) bool {
	return launcher == launchers.Runc || launcher == launchers.Crun
}

// launcherEntry describes the found launchers for the report and prints
// them after the preflight.
func launcherEntry(w io.Writer) []matrixreport.LauncherInfo {
	var infos []matrixreport.LauncherInfo
	for _, c := range chosenLaunchers {
		l := launcherByName[c.name]
		info := matrixreport.LauncherInfo{Name: l.Name(), Path: l.Path, Version: l.Version, Refused: l.Refused}
		refused := l.RefusedKinds()
		for _, k := range slices.Sorted(maps.Keys(refused)) {
			info.RefusedKinds = append(info.RefusedKinds, fmt.Sprintf("%s: %s", k, refused[k]))
		}
		infos = append(infos, info)
		switch {
		case l.Refused != "":
			fmt.Fprintf(w, "launcher %-8s n/a: %s\n", l.Name(), l.Refused)
		case l.Builtin():
			fmt.Fprintf(w, "launcher %-8s built in (%s)\n", l.Name(), l.Version)
		default:
			fmt.Fprintf(w, "launcher %-8s %s (%s)\n", l.Name(), l.Version, l.Path)
			for _, r := range info.RefusedKinds {
				fmt.Fprintf(w, "         %-8s refuses %s\n", "", r)
			}
			if l.Broken != "" {
				fmt.Fprintf(w, "         %-8s FAILED its trial, so every set fails: %s\n", "", l.Broken)
			}
			broken := l.BrokenKinds()
			for _, k := range slices.Sorted(maps.Keys(broken)) {
				fmt.Fprintf(w, "         %-8s FAILED its trial with %s, so every set holding it fails: %s\n", "", k, broken[k])
			}
		}
	}
	return infos
}

// launcherFor returns the launcher of a matrix table, nil for the built-in
// one.
func launcherFor(name string) *launchers.Launcher {
	if name == launchers.Go {
		return nil
	}
	return launcherByName[name]
}

// expressible marks the spec n/a, with the launcher's reason, when its
// launcher cannot start a child as opts ask: a fact about the launcher,
// which the matrix shows as n/a, never as a pass.
func expressible(opts spawn.Options) {
	l := launchers.Of(opts.Launcher)
	if l.Builtin() {
		return
	}
	if ok, reason := l.Expresses(opts); !ok {
		addReportEntry(matrixreport.NotExpressibleEntry, matrixreport.LauncherNote{Launcher: l.Name(), Reason: reason})
		Skip("n/a: " + l.Name() + ": " + reason)
	}
}

var _ = Describe("the launchers asked for", Label("badinput"), func() {

	DescribeTable("are refused before anything runs when the list is wrong, saying what to give",
		func(value, want string) {
			_, err := parseLauncherEnv(value)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("an unknown launcher", "go,docker", `unknown launcher "docker"; use some of go, unshare, bwrap, runc, crun, or all`),
		Entry("a launcher named twice", "bwrap,bwrap", `launcher "bwrap" is given twice`),
		Entry("a program by a relative path", "unshare=bin/unshare", "must be an absolute path"),
	)

	It("are the built-in launcher alone when none is named, and each named one with the program given for it", func() {
		choices, err := parseLauncherEnv("")
		Expect(err).NotTo(HaveOccurred())
		Expect(choices).To(Equal([]launcherChoice{{name: launchers.Go}}))
		choices, err = parseLauncherEnv("go, unshare=/opt/unshare")
		Expect(err).NotTo(HaveOccurred())
		Expect(choices).To(Equal([]launcherChoice{{name: launchers.Go}, {name: launchers.Unshare, path: "/opt/unshare"}}))
	})
})
