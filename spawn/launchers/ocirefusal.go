package launchers

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/nsverify/nsverify/spawn"
)

// An OCI runtime's trial fails for one of two reasons: the runtime says it
// cannot make what was asked (runc 1.1 knows no time namespace), which is
// a fact about it and makes the sets that need it n/a; or anything else (a
// crash, a config it calls invalid, a container whose probe printed
// nothing), which may as well be a fault of the bundle nsverify wrote and
// must fail the sets it touches, never hide them as n/a. Only the
// runtime's own words decide, and only words that name what was refused.

// kindRefusalPhrases are what runtimes say of a namespace type they cannot
// make: runc 1.1 `namespace {"time" ""} does not exist` (specconv) and
// "USER namespaces aren't enabled in the kernel" (its validator), crun
// "invalid namespace type: `time`", and the usual wordings of others. Not
// enabled "in the config" is a fault of the bundle, not a refusal.
var kindRefusalPhrases = regexp.MustCompile(`(?i)does not exist|not supported|unsupported|unknown namespace|invalid namespace type|(aren't|isn't|not) enabled in the kernel`)

// statesKindRefused reports whether msg, a runtime's message from a trial
// with a namespace of kind k, says the runtime cannot make that kind: it
// must both name the kind's namespace type and refuse it. A message that
// refuses something else ("cgroups in hybrid mode not supported") or names
// the type without refusing it ("User namespaces enabled, but no uid
// mappings found") is no statement about the kind.
func statesKindRefused(msg string, k spawn.Kind) bool {
	return namesNamespaceType(msg, k) && kindRefusalPhrases.MatchString(msg)
}

// namesNamespaceType reports whether msg names k's namespace type as a
// word of its own: quoted ("time", `time`, 'time') or beside the word
// namespace ("time namespace", "namespace time"), by its OCI name or
// nsverify's. "ipcx" is not "ipc", nor "cgroups in" a cgroup namespace.
func namesNamespaceType(msg string, k spawn.Kind) bool {
	for _, name := range []string{string(ociNamespaceTypes[k]), string(k)} {
		n := regexp.QuoteMeta(name)
		re := `(?i)["'` + "`" + `]` + n + `["'` + "`" + `]|\b` + n + ` namespace|\bnamespace (type )?` + n + `\b`
		if regexp.MustCompile(re).MatchString(msg) {
			return true
		}
	}
	return false
}

// machineRefusals are what a runtime says when it runs no container at all
// on this machine, whatever the bundle: crun 1.8 on a hybrid cgroup layout
// ("cgroups in hybrid mode not supported, drop all controllers from
// cgroupv2").
var machineRefusals = []string{"hybrid mode not supported"}

// statesMachineRefused reports whether msg, a runtime's message from the
// trial in a mount and a pid namespace alone, is such a refusal: the
// launcher is then n/a on this machine. Any other failure of that trial is
// a failure of the launcher.
func statesMachineRefused(msg string) bool {
	lower := strings.ToLower(msg)
	for _, p := range machineRefusals {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// runcMessage finds the message in a line runc logs ("time=… level=error
// msg=\"…\"").
var runcMessage = regexp.MustCompile(`msg="((?:[^"\\]|\\.)*)"`)

// runtimeMessage is the last thing a runtime said on stderr, unquoted.
func runtimeMessage(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if m := runcMessage.FindStringSubmatch(last); m != nil {
		if s, err := strconv.Unquote(`"` + m[1] + `"`); err == nil {
			return s
		}
		return m[1]
	}
	return last
}

// diagnoseRefusal adds what nsverify makes of a runtime's refusal.
func diagnoseRefusal(msg string) string {
	if strings.Contains(msg, "hybrid") {
		return " (nsverify: this host mounts cgroup v1 controllers with cgroup v2 beside them, and this runtime runs containers only on a v1 or a unified v2 layout; boot with systemd.unified_cgroup_hierarchy=1 to run it)"
	}
	return ""
}
