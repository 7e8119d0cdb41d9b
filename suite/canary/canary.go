package canary

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nsverify/nsverify/probes"
)

// Options says what to plant.
type Options struct {
	// Probe is the probe's binary, started as the process canary, and
	// ProbeLead the words before the probe's own flags (["probe"] when the
	// binary is nsverify).
	Probe     string
	ProbeLead []string
	// Mount plants the mount canary; it needs CAP_SYS_ADMIN over the
	// host's mount namespace. NoMount says why it was left out.
	Mount   bool
	NoMount string
}

// Result is one canary's outcome for one child.
type Result struct {
	// Name is the canary (probes.CanaryTCP, …) and Kind the namespace
	// kind whose isolation keeps a child from it.
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Where names the planted resource.
	Where string `json:"where"`
	// Planted is false where the canary could not be planted; Reason
	// then says why.
	Planted bool   `json:"planted"`
	Reason  string `json:"reason,omitempty"`
	// Reached is the verdict: what the host saw where it can see a
	// visit, the probe's word elsewhere (By says which).
	Reached bool   `json:"reached"`
	By      string `json:"by"`
	// Probe is the probe's own account, Host what the host saw.
	Probe string `json:"probe"`
	Host  string `json:"host,omitempty"`
	// Disagree, when not empty, says how the probe's account differs
	// from what the host saw: a failure of its own.
	Disagree string `json:"disagree,omitempty"`
}

// By's values.
const (
	ByHost  = "host"
	ByProbe = "probe"
)

// Judge returns, for the canaries of results whose kind is in kinds, the
// failures of a child expected to have its own namespace of each kind in
// isolated and to share the others: a canary reached across an isolated
// kind, one not reached across a shared kind, and every disagreement.
// Each failure starts with the kind.
func Judge(results []Result, isolated func(kind string) bool) []string {
	out := Escapes(results, isolated)
	for _, r := range results {
		if r.Planted && !isolated(r.Kind) && !r.Reached {
			out = append(out, fmt.Sprintf("%s: canary %s (%s) was not reached from the child, which should share the host's %s namespace (%s: %s)", r.Kind, r.Name, r.Where, r.Kind, r.By, r.evidence()))
		}
	}
	return out
}

// Escapes returns the failures that mean something got out: a canary
// reached across a kind in isolated, and a probe whose account of a canary
// differs from what the host saw. A canary not reached across a shared
// kind is not among them: outside the suite, other confinement (seccomp,
// a private /dev/mqueue, no network stack) may keep a child from it; the
// suite's controls show each canary reachable where nothing else stands
// in the way. Each failure starts with the kind.
func Escapes(results []Result, isolated func(kind string) bool) []string {
	var out []string
	for _, r := range results {
		if !r.Planted {
			continue
		}
		if r.Disagree != "" {
			out = append(out, fmt.Sprintf("%s: canary %s: %s", r.Kind, r.Name, r.Disagree))
		}
		if isolated(r.Kind) && r.Reached {
			out = append(out, fmt.Sprintf("%s: canary %s (%s) was reached from the child, whose %s namespace should be its own (%s: %s)", r.Kind, r.Name, r.Where, r.Kind, r.By, r.evidence()))
		}
	}
	return out
}

// evidence is what the deciding side said.
func (r Result) evidence() string {
	if r.By == ByHost {
		return r.Host
	}
	return r.Probe
}

// sortResults orders results by kind, then name, for stable output.
func sortResults(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// judgeOne fills in r's verdict from the probe's attempt and, where hostSaw
// is not nil, what the host saw.
func judgeOne(r *Result, attempt probes.CanaryAttempt, tried bool, hostSaw *bool, hostText string) {
	r.Probe = "no attempt reported"
	if tried {
		r.Probe = attempt.Detail
	}
	if hostSaw == nil {
		r.By, r.Reached = ByProbe, tried && attempt.Reached
		return
	}
	r.By, r.Reached, r.Host = ByHost, *hostSaw, hostText
	if !tried {
		r.Disagree = fmt.Sprintf("the probe reports no attempt, the host reads %s", hostText)
		return
	}
	if attempt.Reached != *hostSaw {
		r.Disagree = fmt.Sprintf("the probe reports %q (reached: %t), the host reads %s", attempt.Detail, attempt.Reached, hostText)
	}
}
