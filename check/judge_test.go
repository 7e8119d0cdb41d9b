package check

import (
	"strings"
	"testing"

	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/suite/canary"
)

var kinds = []string{"uts", "ipc", "pid", "mnt", "user", "net", "cgroup", "time"}

// readings returns nsverify's own namespaces and a probe's, as the host
// reads them, where the probe has its own namespace of each kind in own.
func readings(own ...string) (self, probe map[string]probes.NSID) {
	self, probe = map[string]probes.NSID{}, map[string]probes.NSID{}
	for i, k := range kinds {
		self[k] = probes.NSID{Dev: 4, Ino: uint64(1000 + i)}
		probe[k] = self[k]
	}
	for i, k := range own {
		probe[k] = probes.NSID{Dev: 4, Ino: uint64(2000 + i)}
	}
	return self, probe
}

// outcome is a check whose probe the host read in probe's namespaces and
// which reported report's.
func outcome(expect *Expectation, self, probe, report map[string]probes.NSID, canaries ...canary.Result) *Outcome {
	return &Outcome{
		Expect:   expect,
		Self:     &probes.Outside{PID: 1, NS: self},
		Outside:  &probes.Outside{PID: 42, NS: probe},
		Report:   &probes.Report{NS: report},
		Canaries: canaries,
	}
}

func expectKinds(t *testing.T, s string) *Expectation {
	t.Helper()
	e, err := ParseExpectKinds(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func verdictOf(out *Outcome, kind string) KindVerdict {
	for _, v := range out.Kinds {
		if v.Kind == kind {
			return v
		}
	}
	return KindVerdict{}
}

func TestAsExpectedWhenTheHostReadsWhatWasExpected(t *testing.T) {
	self, probe := readings("net", "pid")
	out := outcome(expectKinds(t, "net,pid"), self, probe, probe)
	judge(out)
	if out.ExitCode != exitcode.Verified {
		t.Fatalf("exit %d (%s), want %d", out.ExitCode, out.Verdict, exitcode.Verified)
	}
	for _, v := range out.Kinds {
		if v.Verdict != AsExpected {
			t.Errorf("%s: verdict %q, want %q (%v)", v.Kind, v.Verdict, AsExpected, v.Failures)
		}
	}
	if v := verdictOf(out, "net"); v.Host != "own" || v.Expected != Isolated {
		t.Errorf("net: host %q expected %q, want own and isolated", v.Host, v.Expected)
	}
	if v := verdictOf(out, "uts"); v.Host != "host's" || v.Expected != Shared {
		t.Errorf("uts: host %q expected %q, want host's and shared", v.Host, v.Expected)
	}
}

// The negative control: the same expectation, a sandbox that shares net.
func TestDiffersNamingTheKindTheHostReadsShared(t *testing.T) {
	self, probe := readings("pid")
	reached := canary.Result{Name: probes.CanaryTCP, Kind: "net", Planted: true, Reached: true, By: canary.ByHost, Host: "1 connection"}
	out := outcome(expectKinds(t, "net,pid"), self, probe, probe, reached)
	judge(out)
	if out.ExitCode != exitcode.Differs || !strings.Contains(out.Verdict, "net") {
		t.Fatalf("exit %d (%s), want %d naming net", out.ExitCode, out.Verdict, exitcode.Differs)
	}
	v := verdictOf(out, "net")
	if v.Verdict != Differs || len(v.Failures) != 1 {
		t.Fatalf("net: %+v, want one failure", v)
	}
	for _, want := range []string{"net:", self["net"].String(), probes.CanaryTCP} {
		if !strings.Contains(v.Failures[0], want) {
			t.Errorf("net's failure %q does not name %q", v.Failures[0], want)
		}
	}
	if v := verdictOf(out, "pid"); v.Verdict != AsExpected {
		t.Errorf("pid: %q, want %q", v.Verdict, AsExpected)
	}
}

// A sandbox that gives a kind expected to be the host's its own.
func TestDiffersWhenAKindExpectedSharedIsTheSandboxs(t *testing.T) {
	self, probe := readings("net", "uts")
	out := outcome(expectKinds(t, "net"), self, probe, probe)
	judge(out)
	if v := verdictOf(out, "uts"); v.Verdict != Differs || !strings.Contains(strings.Join(v.Failures, ""), "expected the host's uts namespace") {
		t.Errorf("uts: %+v, want differs, expected the host's", v)
	}
}

// A probe that lies about its namespace is caught, whatever it claims.
func TestAProbeThatDisagreesWithTheHostFails(t *testing.T) {
	self, probe := readings("net")
	lie := map[string]probes.NSID{}
	for k, v := range probe {
		lie[k] = v
	}
	lie["pid"] = probes.NSID{Dev: 4, Ino: 9999}
	out := outcome(nil, self, probe, lie)
	judge(out)
	v := verdictOf(out, "pid")
	if v.Probe != "disagrees" || v.Verdict != Differs || out.ExitCode != exitcode.Differs {
		t.Fatalf("pid: %+v, exit %d; want the probe's disagreement to fail", v, out.ExitCode)
	}
	// The verdict is the host's reading, not the probe's claim.
	if v.Host != "host's" {
		t.Errorf("pid: host %q, want the host's reading (host's)", v.Host)
	}
}

// Without an expectation, a canary reached across a kind the host reads
// as isolated is an escape.
func TestACanaryReachedAcrossAnIsolatedKindIsAnEscape(t *testing.T) {
	self, probe := readings("ipc")
	shm := canary.Result{Name: probes.CanarySysV, Kind: "ipc", Planted: true, Reached: true, By: canary.ByProbe, Probe: "attached"}
	out := outcome(nil, self, probe, probe, shm)
	judge(out)
	v := verdictOf(out, "ipc")
	if v.Verdict != Differs || out.ExitCode != exitcode.Differs {
		t.Fatalf("ipc: %+v, exit %d; want the escape to fail", v, out.ExitCode)
	}
}

func TestWithoutAnExpectationTheVerdictIsWhatTheHostRead(t *testing.T) {
	self, probe := readings("user")
	out := outcome(nil, self, probe, probe)
	judge(out)
	if out.ExitCode != exitcode.Verified {
		t.Fatalf("exit %d (%s)", out.ExitCode, out.Verdict)
	}
	if v := verdictOf(out, "user"); v.Verdict != Isolated {
		t.Errorf("user: %q, want %q", v.Verdict, Isolated)
	}
	if v := verdictOf(out, "net"); v.Verdict != Shared {
		t.Errorf("net: %q, want %q", v.Verdict, Shared)
	}
}

// A kind the host cannot read is never judged on the probe's word.
func TestAKindTheHostCouldNotReadIsUnverified(t *testing.T) {
	self, probe := readings("time")
	delete(probe, "time")
	out := outcome(expectKinds(t, "time"), self, probe, map[string]probes.NSID{"time": {Dev: 4, Ino: 7}})
	out.Outside.Errors = map[string]string{"ns": "permission denied"}
	judge(out)
	v := verdictOf(out, "time")
	if v.Verdict != Unverified {
		t.Fatalf("time: %+v, want unverified", v)
	}
	if out.ExitCode != exitcode.CouldNotVerify {
		t.Errorf("exit %d (%s), want %d", out.ExitCode, out.Verdict, exitcode.CouldNotVerify)
	}
}

func TestNothingReadIsNothingVerified(t *testing.T) {
	self, _ := readings()
	out := outcome(nil, self, map[string]probes.NSID{}, nil)
	out.Outside.Errors = map[string]string{"ns": "no such process"}
	judge(out)
	if out.ExitCode != exitcode.NothingVerified {
		t.Errorf("exit %d (%s), want %d", out.ExitCode, out.Verdict, exitcode.NothingVerified)
	}
}

func TestRootInsideIsJudgedFromTheHostsReading(t *testing.T) {
	self, probe := readings("user")
	yes := true
	e := expectKinds(t, "user")
	e.CapsAbsent, e.Seccomp, e.NoNewPrivs = []string{"CAP_SYS_ADMIN"}, "filter", &yes
	out := outcome(e, self, probe, probe)
	no := false
	out.Outside.Caps = &probes.Caps{Eff: []string{"CAP_SYS_ADMIN"}, Seccomp: "disabled", NoNewPrivs: &no}
	judge(out)
	if len(out.Checks) != 3 {
		t.Fatalf("checks %+v, want 3", out.Checks)
	}
	for _, f := range out.Checks {
		if f.OK {
			t.Errorf("%s: ok, want differs (found %s)", f.What, f.Found)
		}
	}
	if out.ExitCode != exitcode.Differs {
		t.Errorf("exit %d, want %d", out.ExitCode, exitcode.Differs)
	}
	// The control: a sandbox that is as expected passes.
	out = outcome(e, self, probe, probe)
	one := 1
	out.Outside.Caps = &probes.Caps{Eff: []string{"CAP_KILL"}, Seccomp: "filter", SeccompFilters: &one, NoNewPrivs: &yes}
	judge(out)
	if out.ExitCode != exitcode.Verified {
		t.Errorf("exit %d (%s), want %d: %+v", out.ExitCode, out.Verdict, exitcode.Verified, out.Checks)
	}
}
