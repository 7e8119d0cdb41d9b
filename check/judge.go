package check

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/suite/canary"
	"github.com/nsverify/nsverify/verify"
)

// Outcome is one check: what ran, what the host read, the verdicts.
type Outcome struct {
	// Command is the user's command line; Argv the one that ran.
	Command []string     `json:"command"`
	Argv    []string     `json:"argv"`
	Expect  *Expectation `json:"expect,omitempty"`
	// HostPID is the probe's pid as the kernel gave it, ProbeUID its uid.
	HostPID  int `json:"host_pid"`
	ProbeUID int `json:"probe_uid"`
	// Self is nsverify's reading of itself: the namespaces compared with.
	Self *probes.Outside `json:"self"`
	// Outside is the host's reading of the probe, Report the probe's own.
	Outside  *probes.Outside `json:"outside"`
	Report   *probes.Report  `json:"report"`
	Canaries []canary.Result `json:"canaries,omitempty"`
	// Kinds are the verdicts, in the order of the kinds.
	Kinds []KindVerdict `json:"kinds"`
	// Checks are the verdicts on caps, seccomp and no_new_privs the
	// expectation asked for.
	Checks []Finding `json:"checks,omitempty"`
	// Notes say what stands beside the verdicts of several kinds.
	Notes []string `json:"notes,omitempty"`
	// Unread says what could not be read or planted, and why.
	Unread []string `json:"unread,omitempty"`
	// Problems are failures of the run itself after the hello.
	Problems []string `json:"problems,omitempty"`
	// Verdict and ExitCode sum it up (internal/exitcode).
	Verdict  string `json:"verdict"`
	ExitCode int    `json:"exit_code"`
	// The command's own exit status, output and time.
	ExitStatus int           `json:"exit_status"`
	Stdout     string        `json:"stdout,omitempty"`
	Stderr     string        `json:"stderr,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
}

// KindVerdict is one kind's verdict with its evidence.
type KindVerdict struct {
	Kind string `json:"kind"`
	// Expected is "isolated", "shared", or empty without an expectation.
	Expected string `json:"expected,omitempty"`
	// Host is "own" or "host's" as the host read the probe's namespace,
	// empty when it could not; HostID and SelfID are the identities.
	Host   string `json:"host,omitempty"`
	HostID string `json:"host_id,omitempty"`
	SelfID string `json:"self_id,omitempty"`
	// Probe is the probe's reading: "agrees", or what it said instead.
	Probe string `json:"probe"`
	// Canaries are this kind's canaries: "net-tcp reached" and so on.
	Canaries []string `json:"canaries,omitempty"`
	// Verdict is "as expected", "differs", "unverified", or without an
	// expectation "isolated" or "shared" (a failure still "differs").
	Verdict string `json:"verdict"`
	// Failures say why a verdict differs, each starting with the kind;
	// Notes say what stands beside it.
	Failures []string `json:"failures,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Finding is one verdict on what root inside may do.
type Finding struct {
	What     string `json:"what"`
	Expected string `json:"expected"`
	Found    string `json:"found"`
	OK       bool   `json:"ok"`
}

// The verdicts.
const (
	AsExpected = "as expected"
	Differs    = "differs"
	Unverified = "unverified"
	Isolated   = "isolated"
	Shared     = "shared"
)

// judge fills in the verdicts of out from its readings.
func judge(out *Outcome) {
	isolated := map[string]bool{}
	read := 0
	// The probe's silence is said once, with the kinds it concerns.
	var silentKinds []string
	var silentWhy string
	for _, k := range spawn.All.Kinds() {
		kind := string(k)
		v := KindVerdict{Kind: kind}
		if out.Expect != nil {
			v.Expected = Shared
			if out.Expect.isolated(kind) {
				v.Expected = Isolated
			}
		}
		self, ok := out.Self.NS[kind]
		if !ok {
			v.Verdict = Unverified
			v.Notes = append(v.Notes, fmt.Sprintf("nsverify could not read its own %s namespace: %s", kind, orKernel(out.Self.Errors["ns"], kind)))
			if v.Expected == Isolated {
				v.Failures = append(v.Failures, fmt.Sprintf("%s: expected the sandbox's own %s namespace, and this machine shows none to compare", kind, kind))
				v.Verdict = Differs
			}
			out.Kinds = append(out.Kinds, v)
			continue
		}
		v.SelfID = self.String()
		got, err := verify.HostRead(kind, out.Outside)
		if err != nil {
			v.Verdict, v.Probe = Unverified, "-"
			v.Notes = append(v.Notes, err.Error())
			out.Kinds = append(out.Kinds, v)
			continue
		}
		read++
		v.HostID = got.String()
		own := got != self
		isolated[kind] = own
		v.Host = "host's"
		if own {
			v.Host = "own"
		}
		v.Probe = "agrees"
		silent, err := verify.ProbeAgrees(kind, got, out.Report)
		switch {
		case err != nil:
			v.Probe = "disagrees"
			v.Failures = append(v.Failures, err.Error())
		case silent != "":
			v.Probe = "no reading"
			silentKinds = append(silentKinds, kind)
			silentWhy = silent
		}
		if v.Expected != "" && (v.Expected == Isolated) != own {
			v.Failures = append(v.Failures, expectationFailure(kind, v.Expected, got, self, out.Canaries))
		}
		out.Kinds = append(out.Kinds, v)
	}
	// The canaries speak for the kinds the host read.
	escapes := canary.Escapes(out.Canaries, func(kind string) bool { return isolated[kind] })
	for i := range out.Kinds {
		v := &out.Kinds[i]
		for _, r := range out.Canaries {
			if r.Kind != v.Kind {
				continue
			}
			switch {
			case !r.Planted:
				v.Canaries = append(v.Canaries, r.Name+" not planted")
			case r.Reached:
				v.Canaries = append(v.Canaries, r.Name+" reached")
			default:
				v.Canaries = append(v.Canaries, r.Name+" not reached")
				if v.Host == "host's" {
					v.Notes = append(v.Notes, fmt.Sprintf("canary %s (%s) was not reached although the %s namespace is the host's: something else keeps the probe from it (%s: %s)", r.Name, r.Where, v.Kind, r.By, evidence(r)))
				}
			}
		}
		for _, e := range escapes {
			if strings.HasPrefix(e, v.Kind+":") {
				v.Failures = append(v.Failures, e)
			}
		}
		switch {
		case len(v.Failures) > 0:
			v.Verdict = Differs
		case v.Verdict != "":
		case v.Expected != "":
			v.Verdict = AsExpected
		case v.Host == "own":
			v.Verdict = Isolated
		default:
			v.Verdict = Shared
		}
	}
	if len(silentKinds) > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("the probe has no reading of its own %s namespaces to compare with the host's, which decides (e.g. %s)", strings.Join(silentKinds, ", "), silentWhy))
	}
	out.Checks = checkRoot(out.Expect, out.Outside)
	out.Unread = unread(out)
	out.ExitCode, out.Verdict = sumUp(out, read)
}

// expectationFailure says how a kind differs from what was expected, with
// the canaries of that kind that were reached.
func expectationFailure(kind, expected string, got, self probes.NSID, canaries []canary.Result) string {
	var s string
	if expected == Isolated {
		s = fmt.Sprintf("%s: expected the sandbox's own %s namespace, and the host reads the host's (%s)", kind, kind, self)
	} else {
		s = fmt.Sprintf("%s: expected the host's %s namespace (%s), and the host reads another (%s)", kind, kind, self, got)
	}
	var reached []string
	for _, r := range canaries {
		if r.Kind == kind && r.Planted && r.Reached {
			reached = append(reached, fmt.Sprintf("%s (%s: %s)", r.Name, r.By, evidence(r)))
		}
	}
	if len(reached) > 0 {
		s += "; canaries reached: " + strings.Join(reached, ", ")
	}
	return s
}

// evidence is what decided a canary.
func evidence(r canary.Result) string {
	if r.By == canary.ByHost {
		return r.Host
	}
	return r.Probe
}

func orKernel(why, kind string) string {
	if why == "" {
		return "this kernel has no " + kind + " namespaces"
	}
	return why
}

// checkRoot judges what root inside may do against the expectation, from
// the host's reading of the probe's status.
func checkRoot(e *Expectation, o *probes.Outside) []Finding {
	if e == nil || (len(e.CapsAbsent) == 0 && e.Seccomp == "" && e.NoNewPrivs == nil) {
		return nil
	}
	var caps *probes.Caps
	if o != nil {
		caps = o.Caps
	}
	unreadable := "not read: " + statusError(o)
	var out []Finding
	for _, c := range e.CapsAbsent {
		f := Finding{What: c, Expected: "absent", Found: unreadable}
		if caps != nil {
			held := slices.Contains(caps.Eff, c) || slices.Contains(caps.Prm, c) || slices.Contains(caps.Amb, c)
			f.Found, f.OK = "absent", !held
			if held {
				f.Found = "held"
			}
		}
		out = append(out, f)
	}
	if e.Seccomp != "" {
		f := Finding{What: "seccomp", Expected: e.Seccomp, Found: unreadable}
		if caps != nil {
			f.Found, f.OK = caps.Seccomp, caps.Seccomp == e.Seccomp
		}
		out = append(out, f)
	}
	if e.NoNewPrivs != nil {
		f := Finding{What: "no_new_privs", Expected: fmt.Sprint(*e.NoNewPrivs), Found: unreadable}
		if caps != nil && caps.NoNewPrivs != nil {
			f.Found, f.OK = fmt.Sprint(*caps.NoNewPrivs), *caps.NoNewPrivs == *e.NoNewPrivs
		}
		out = append(out, f)
	}
	return out
}

func statusError(o *probes.Outside) string {
	if o == nil {
		return "the host did not read the probe"
	}
	if why := o.Errors["status"]; why != "" {
		return why
	}
	return "this kernel does not print it"
}

// unread lists what the host could not read or plant, and why.
func unread(out *Outcome) []string {
	var s []string
	if out.Outside != nil {
		for _, name := range sortedKeys(out.Outside.Errors) {
			s = append(s, fmt.Sprintf("the probe's %s, from /proc/%d: %s", name, out.HostPID, out.Outside.Errors[name]))
		}
	}
	for _, name := range sortedKeys(out.Self.Errors) {
		s = append(s, fmt.Sprintf("nsverify's own %s: %s", name, out.Self.Errors[name]))
	}
	for _, r := range out.Canaries {
		if !r.Planted {
			s = append(s, fmt.Sprintf("canary %s: %s", r.Name, r.Reason))
		}
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sumUp returns the exit code and the one-line verdict.
func sumUp(out *Outcome, read int) (int, string) {
	var differ []string
	for _, v := range out.Kinds {
		if v.Verdict == Differs {
			differ = append(differ, v.Kind)
		}
	}
	for _, f := range out.Checks {
		if !f.OK {
			differ = append(differ, f.What)
		}
	}
	switch {
	case len(differ) > 0:
		return exitcode.Differs, "differs: " + strings.Join(differ, ", ")
	case read == 0:
		return exitcode.NothingVerified, "nothing verified: the host could read none of the probe's namespaces"
	case len(out.Problems) > 0:
		return exitcode.CouldNotVerify, "could not verify: " + strings.Join(out.Problems, "; ")
	}
	var unverified []string
	for _, v := range out.Kinds {
		if v.Verdict == Unverified && v.Expected != "" {
			unverified = append(unverified, v.Kind)
		}
	}
	if len(unverified) > 0 {
		return exitcode.CouldNotVerify, "could not verify: " + strings.Join(unverified, ", ")
	}
	if out.Expect == nil {
		return exitcode.Verified, fmt.Sprintf("%d kinds read by the host, no escape seen (no expectation given: --expect says which kinds must be isolated)", read)
	}
	return exitcode.Verified, fmt.Sprintf("verified: %d kinds as expected", read)
}
