package suiteexit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/suite/matrixreport"
)

// UnknownStatus stands for the exit status of the ginkgo command when it is
// not known: Decide then judges the report alone.
const UnknownStatus = -1

// skippedInBeforeSuite is the special failure reason Ginkgo gives when the
// setup before the specs called Skip: the run skipped everything, which is
// the matrix's "nothing verified", not a run that could not be judged.
const skippedInBeforeSuite = "Suite skipped in BeforeSuite"

// suiteTimeout starts the failure of the spec that was running when the
// whole run's --timeout elapsed; a spec's own timeout says "spec" or "node".
const suiteTimeout = "A suite timeout occurred"

// failedStates are the states of a spec that ran to a failure of its own,
// the spec's own timeout included.
const failedStates = types.SpecStateFailed | types.SpecStatePanicked | types.SpecStateTimedout

// stopped reports whether the run stopped the spec before it could end:
// an interrupt, an abort, or the timeout of the whole run.
func stopped(sr types.SpecReport) bool {
	return sr.State.Is(types.SpecStateInterrupted|types.SpecStateAborted) ||
		sr.State.Is(types.SpecStateTimedout) && strings.HasPrefix(sr.Failure.Message, suiteTimeout)
}

// Tally counts the matrix specs of one launcher by outcome.
type Tally struct {
	Launcher      string
	Passed        int
	Failed        int
	Skipped       int
	NotApplicable int
	// NotRun counts the specs Ginkgo did not run: left out by
	// --label-filter or --focus, pending, or left when the run stopped.
	NotRun int
	// Why is the first reason given for a skipped or n/a set.
	Why string
}

// ran counts the specs that ran, to an outcome or to a skip.
func (t Tally) ran() int { return t.Passed + t.Failed + t.Skipped + t.NotApplicable }

// String puts the tally on one line, with the reason when the launcher
// verified no set.
func (t Tally) String() string {
	s := fmt.Sprintf("matrix of %s: %d passed, %d failed, %d skipped, %d n/a, %d not run",
		t.Launcher, t.Passed, t.Failed, t.Skipped, t.NotApplicable, t.NotRun)
	if t.Passed == 0 && t.Failed == 0 && t.Why != "" {
		s += "; verified no set: " + t.Why
	}
	return s
}

// Verdict is the exit code of a run and what led to it.
type Verdict struct {
	// Code is one of the codes of internal/exitcode.
	Code int
	// Reason says in one line why the run gets Code.
	Reason string
	// Matrix holds one tally per launcher whose matrix specs the report
	// holds, the built-in launcher first.
	Matrix []Tally
	// Failed names each spec or node that failed, with the first line of
	// its failure.
	Failed []string
}

// Lines returns what a person reads: a line per launcher's matrix, a line
// per failure (at most max, then how many more; max <= 0 shows them all),
// and last the exit code, its meaning and the reason.
func (v Verdict) Lines(maxFailures int) []string {
	var lines []string
	for _, t := range v.Matrix {
		// A launcher whose matrix the filter left out has nothing to say.
		if t.ran() > 0 {
			lines = append(lines, t.String())
		}
	}
	for i, f := range v.Failed {
		if maxFailures > 0 && i == maxFailures {
			lines = append(lines, fmt.Sprintf("failed: and %d more", len(v.Failed)-i))
			break
		}
		lines = append(lines, "failed: "+f)
	}
	return append(lines, fmt.Sprintf("exit %d (%s): %s", v.Code, exitcode.Describe(v.Code), v.Reason))
}

// Decide judges reports, the Ginkgo JSON report of one run of the suite
// (matrixreport.ReadGinkgo reads it), together with status, the exit
// status of the ginkgo command that wrote it, or UnknownStatus.
func Decide(reports []types.Report, status int) Verdict {
	if len(reports) == 0 {
		return Verdict{Code: exitcode.CouldNotVerify, Reason: "the report holds no suite: the suite stopped before running any spec (bad options, such as an unknown launcher, say why in the log)"}
	}
	var (
		v               Verdict
		broken          []string // why the run cannot be judged
		succeeded       = true
		dryRun          bool
		passed, skipped int
		firstSkip       string
		tallies         = map[string]*Tally{}
		setupSkippedAll bool
	)
	for _, rep := range reports {
		succeeded = succeeded && rep.SuiteSucceeded
		dryRun = dryRun || rep.SuiteConfig.DryRun
		for _, why := range rep.SpecialSuiteFailureReasons {
			if why == skippedInBeforeSuite {
				setupSkippedAll = true
				continue
			}
			broken = append(broken, "Ginkgo says: "+firstLine(why))
		}
		for _, sr := range rep.SpecReports {
			switch {
			case stopped(sr):
				broken = append(broken, fmt.Sprintf("%s was stopped (%s): %s", nodeName(sr), sr.State, firstLine(sr.Failure.Message)))
			case sr.State.Is(failedStates):
				what := fmt.Sprintf("%s %s: %s", nodeName(sr), sr.State, firstLine(sr.Failure.Message))
				// A setup that failed ran no spec: nothing was compared.
				if sr.LeafNodeType.Is(types.NodeTypeBeforeSuite | types.NodeTypeSynchronizedBeforeSuite | types.NodeTypeReportBeforeSuite) {
					broken = append(broken, "the setup before the specs failed: "+what)
				} else {
					v.Failed = append(v.Failed, what)
				}
			}
			if sr.LeafNodeType != types.NodeTypeIt {
				continue
			}
			switch {
			case sr.State.Is(types.SpecStatePassed):
				passed++
			case sr.State.Is(types.SpecStateSkipped) && sr.Failure.Message != "":
				skipped++
				if firstSkip == "" {
					firstSkip = firstLine(sr.Failure.Message)
				}
			}
			if slices.Contains(sr.Labels(), matrixreport.MatrixLabel) {
				count(tallies, sr)
			}
		}
	}
	for _, name := range matrixreport.Launchers(reports) {
		if t, ok := tallies[name]; ok {
			v.Matrix = append(v.Matrix, *t)
		}
	}

	var matrixRan, matrixPassed int
	for _, t := range v.Matrix {
		matrixRan += t.ran()
		matrixPassed += t.Passed
	}
	switch {
	case len(v.Failed) > 0:
		v.Code = exitcode.Differs
		v.Reason = fmt.Sprintf("%d failed; the first: %s", len(v.Failed), v.Failed[0])
	case len(broken) > 0:
		v.Code = exitcode.CouldNotVerify
		v.Reason = broken[0]
		if len(broken) > 1 {
			v.Reason += fmt.Sprintf(" (and %d more)", len(broken)-1)
		}
	case !succeeded:
		v.Code = exitcode.CouldNotVerify
		v.Reason = "Ginkgo reports that the suite did not succeed, and names no failure"
	case status != UnknownStatus && status != 0:
		v.Code = exitcode.CouldNotVerify
		v.Reason = fmt.Sprintf("ginkgo exited with %d, yet its report shows no failure", status)
	case dryRun:
		v.Code = exitcode.NothingVerified
		v.Reason = "a dry run (--dry-run) runs no spec"
	case matrixPassed > 0:
		v.Code = exitcode.Verified
		v.Reason = plural(matrixPassed, "matrix set") + " verified"
		if idle := idleLaunchers(v.Matrix); len(idle) > 0 {
			v.Reason += "; " + strings.Join(idle, ", ") + " verified none"
		}
	case matrixRan > 0:
		v.Code = exitcode.NothingVerified
		v.Reason = "the matrix verified no set: " + whyNothing(v.Matrix)
	case setupSkippedAll:
		v.Code = exitcode.NothingVerified
		v.Reason = "the setup before the specs skipped the whole suite"
	case passed > 0:
		v.Code = exitcode.Verified
		v.Reason = plural(passed, "spec") + " passed; the run left out the matrix"
	case skipped > 0:
		v.Code = exitcode.NothingVerified
		v.Reason = fmt.Sprintf("no spec passed, %d skipped; the first: %s", skipped, firstSkip)
	default:
		v.Code = exitcode.NothingVerified
		v.Reason = "no spec ran: the filter (--label-filter, --focus) left none"
	}
	return v
}

// count adds one matrix spec to the tally of its launcher.
func count(tallies map[string]*Tally, sr types.SpecReport) {
	name := launcherOf(sr)
	t := tallies[name]
	if t == nil {
		t = &Tally{Launcher: name}
		tallies[name] = t
	}
	switch {
	case sr.State.Is(types.SpecStatePassed):
		t.Passed++
	case sr.State.Is(failedStates) && !stopped(sr):
		t.Failed++
	case sr.State.Is(types.SpecStateSkipped) && sr.Failure.Message != "":
		why := firstLine(sr.Failure.Message)
		if note, ok := notExpressible(sr); ok {
			t.NotApplicable++
			why = note
		} else {
			t.Skipped++
		}
		if t.Why == "" {
			t.Why = why
		}
	default:
		// Skipped without a reason (Ginkgo did not run it), pending, or
		// stopped by an interrupt before it could say anything.
		t.NotRun++
	}
}

// launcherOf is the launcher a matrix spec's label names; a spec without
// one is the built-in launcher's, as in reports from before launchers.
func launcherOf(sr types.SpecReport) string {
	for _, l := range sr.Labels() {
		if name, ok := strings.CutPrefix(l, matrixreport.LauncherLabelPrefix); ok {
			return name
		}
	}
	return matrixreport.BuiltinLauncher
}

// notExpressible returns the reason of the spec's "not expressible" entry:
// its launcher cannot start the set as asked.
func notExpressible(sr types.SpecReport) (string, bool) {
	for _, e := range sr.ReportEntries {
		if e.Name != matrixreport.NotExpressibleEntry {
			continue
		}
		var note matrixreport.LauncherNote
		if json.Unmarshal([]byte(e.Value.AsJSON), &note) == nil && note.Reason != "" {
			return firstLine(note.Reason), true
		}
		return firstLine(e.Value.String()), true
	}
	return "", false
}

// idleLaunchers names the launchers whose matrix ran and verified no set.
func idleLaunchers(ts []Tally) []string {
	var names []string
	for _, t := range ts {
		if t.Passed == 0 && t.ran() > 0 {
			names = append(names, t.Launcher)
		}
	}
	return names
}

// whyNothing says, per launcher whose matrix ran, what became of its sets.
func whyNothing(ts []Tally) string {
	var parts []string
	for _, t := range ts {
		if t.ran() == 0 {
			continue
		}
		var counts []string
		if t.NotApplicable > 0 {
			counts = append(counts, fmt.Sprintf("%d n/a", t.NotApplicable))
		}
		if t.Skipped > 0 {
			counts = append(counts, fmt.Sprintf("%d skipped", t.Skipped))
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s)", t.Launcher, strings.Join(counts, ", "), t.Why))
	}
	return strings.Join(parts, "; ")
}

// nodeName names a matrix spec by its launcher and set, another spec by
// its full text, and a suite node by its type.
func nodeName(sr types.SpecReport) string {
	switch {
	case sr.LeafNodeType != types.NodeTypeIt:
		return sr.LeafNodeType.String()
	case slices.Contains(sr.Labels(), matrixreport.MatrixLabel):
		return fmt.Sprintf("matrix of %s, set %s", launcherOf(sr), sr.LeafNodeText)
	}
	return fmt.Sprintf("%q", sr.FullText())
}

// plural counts n things, "1 spec", "2 specs".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// firstLine returns the first non-empty line of s, trimmed, and cut to a
// length a terminal line holds.
func firstLine(s string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if r := []rune(line); len(r) > 240 {
				line = string(r[:240]) + "…"
			}
			return line
		}
	}
	return ""
}
