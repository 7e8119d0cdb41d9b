package suiteexit

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/suite/matrixreport"
)

// readFixture decodes one of the real reports in testdata (see gen.sh).
func readFixture(t *testing.T, name string) []types.Report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	reports, err := matrixreport.ReadGinkgo(zr)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return reports
}

// TestRealReports judges reports of real runs of the suite on the
// development VM, one per exit code.
func TestRealReports(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		want    int
		reason  string
		// tallies are the lines of the launchers' matrices.
		tallies []string
	}{{
		fixture: "missing-launcher",
		want:    exitcode.NothingVerified,
		reason:  "the matrix verified no set: crun 256 n/a (/nonexistent/crun --version failed: fork/exec /nonexistent/crun: no such file or directory:)",
		tallies: []string{"matrix of crun: 0 passed, 0 failed, 0 skipped, 256 n/a, 0 not run; verified no set: /nonexistent/crun --version failed"},
	}, {
		fixture: "mixed",
		want:    exitcode.Verified,
		reason:  "32 matrix sets verified; crun verified none",
		tallies: []string{
			"matrix of go: 32 passed, 0 failed, 0 skipped, 0 n/a, 224 not run",
			"matrix of crun: 0 passed, 0 failed, 0 skipped, 32 n/a, 224 not run; verified no set: /nonexistent/crun --version failed",
		},
	}, {
		fixture: "lying",
		want:    exitcode.Differs,
		reason:  "8 failed; the first: matrix of unshare, set ",
		tallies: []string{"matrix of unshare: 0 passed, 8 failed, 0 skipped, 0 n/a, 248 not run"},
	}, {
		fixture: "timeout",
		want:    exitcode.CouldNotVerify,
		reason:  "Ginkgo says: Suite Timeout Elapsed",
		tallies: []string{"matrix of go: "},
	}} {
		t.Run(tc.fixture, func(t *testing.T) {
			v := Decide(readFixture(t, tc.fixture), 0)
			if v.Code != tc.want || !strings.HasPrefix(v.Reason, tc.reason) {
				t.Errorf("Decide = %d %q, want %d %q…", v.Code, v.Reason, tc.want, tc.reason)
			}
			if len(v.Matrix) != len(tc.tallies) {
				t.Fatalf("tallies %v, want %d", v.Matrix, len(tc.tallies))
			}
			for i, want := range tc.tallies {
				if got := v.Matrix[i].String(); !strings.HasPrefix(got, want) {
					t.Errorf("tally %d = %q, want %q…", i, got, want)
				}
			}
		})
	}
}

// TestATimedOutRunNamesNoFailure: the spec that was running when the run's
// --timeout elapsed says "timedout", as one that exceeded its own timeout
// does, but it is the run that stopped, not a verdict that differs.
func TestATimedOutRunNamesNoFailure(t *testing.T) {
	v := Decide(readFixture(t, "timeout"), 1)
	if len(v.Failed) != 0 {
		t.Errorf("failures %q in a run stopped by its timeout", v.Failed)
	}
	m := v.Matrix[0]
	if m.Passed == 0 || m.Failed != 0 || m.NotRun == 0 || m.Passed+m.NotRun != 256 {
		t.Errorf("tally %+v: want the sets that passed before the timeout, and the rest not run", m)
	}
}

// spec is a spec report as Ginkgo writes one.
func spec(text string, state types.SpecState, msg string, labels ...string) types.SpecReport {
	return types.SpecReport{
		ContainerHierarchyTexts: []string{"the suite"},
		LeafNodeType:            types.NodeTypeIt,
		LeafNodeText:            text,
		LeafNodeLabels:          labels,
		State:                   state,
		Failure:                 types.Failure{Message: msg},
	}
}

// matrixSpec is a matrix spec of launcher for set; an n/a one carries the
// launcher's reason in its report entry, as the suite's do.
func matrixSpec(launcher, set string, state types.SpecState, msg string) types.SpecReport {
	sr := spec(set, state, msg, matrixreport.MatrixLabel, matrixreport.LauncherLabelPrefix+launcher)
	if reason, ok := strings.CutPrefix(msg, "n/a: "+launcher+": "); ok {
		sr.ReportEntries = types.ReportEntries{{
			Name:  matrixreport.NotExpressibleEntry,
			Value: types.WrapEntryValue(matrixreport.LauncherNote{Launcher: launcher, Reason: reason}),
		}}
	}
	return sr
}

// node is a suite-level node's report.
func node(nt types.NodeType, state types.SpecState, msg string) types.SpecReport {
	return types.SpecReport{LeafNodeType: nt, State: state, Failure: types.Failure{Message: msg}}
}

// run is the report of one suite run, passed through JSON as the command
// reads it (report entries get their JSON form there).
func run(t *testing.T, succeeded bool, reasons []string, specs ...types.SpecReport) []types.Report {
	t.Helper()
	data, err := json.Marshal([]types.Report{{
		SuitePath:                  "./suite",
		SuiteDescription:           "nsverify",
		SuiteSucceeded:             succeeded,
		SpecialSuiteFailureReasons: reasons,
		SpecReports:                specs,
	}})
	if err != nil {
		t.Fatal(err)
	}
	reports, err := matrixreport.ReadGinkgo(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return reports
}

func TestDecide(t *testing.T) {
	const (
		passed  = types.SpecStatePassed
		skipped = types.SpecStateSkipped
		failed  = types.SpecStateFailed
	)
	setup := node(types.NodeTypeSynchronizedBeforeSuite, passed, "")
	after := node(types.NodeTypeSynchronizedAfterSuite, passed, "")
	rootless := "needs CAP_SYS_ADMIN over its own user namespace: run with sudo"
	for _, tc := range []struct {
		name    string
		reports func(t *testing.T) []types.Report
		status  int
		want    int
		reason  string
	}{{
		name: "a run whose matrix passed",
		reports: func(t *testing.T) []types.Report {
			return run(t, true, nil, setup, matrixSpec("go", "uts", passed, ""), after)
		},
		want:   exitcode.Verified,
		reason: "1 matrix set verified",
	}, {
		name: "some sets skipped, the others passed",
		reports: func(t *testing.T) []types.Report {
			return run(t, true, nil, setup, matrixSpec("go", "uts", skipped, rootless), matrixSpec("go", "uts+user", passed, ""), after)
		},
		want:   exitcode.Verified,
		reason: "1 matrix set verified",
	}, {
		name:    "no report at all",
		reports: func(*testing.T) []types.Report { return nil },
		want:    exitcode.CouldNotVerify,
		reason:  "the report holds no suite",
	}, {
		name: "a suite that did not compile",
		reports: func(t *testing.T) []types.Report {
			return run(t, false, []string{"Failed to compile suite:\n\n# github.com/nsverify/nsverify/suite\nsuite/x_test.go:1:1: syntax error"})
		},
		status: 1,
		want:   exitcode.CouldNotVerify,
		reason: "Ginkgo says: Failed to compile suite:",
	}, {
		name: "a setup that failed before any spec",
		reports: func(t *testing.T) []types.Report {
			return run(t, false, nil, node(types.NodeTypeSynchronizedBeforeSuite, failed, "build the probe: exit status 1"), matrixSpec("go", "uts", skipped, ""), after)
		},
		status: 1,
		want:   exitcode.CouldNotVerify,
		reason: "the setup before the specs failed: SynchronizedBeforeSuite failed: build the probe: exit status 1",
	}, {
		name: "a host left changed after the specs passed",
		reports: func(t *testing.T) []types.Report {
			return run(t, false, nil, setup, matrixSpec("go", "uts", passed, ""),
				node(types.NodeTypeSynchronizedAfterSuite, failed, "the host changed in 1 place:\n  links: + nsvh1 (left behind)"))
		},
		status: 1,
		want:   exitcode.Differs,
		reason: "1 failed; the first: SynchronizedAfterSuite failed: the host changed in 1 place:",
	}, {
		name: "a failure in a run that was then interrupted",
		reports: func(t *testing.T) []types.Report {
			return run(t, false, []string{"Interrupted by User"}, setup,
				matrixSpec("go", "uts", failed, "uts: cloned with uts\nthe child's hostname is the host's"),
				matrixSpec("go", "ipc", types.SpecStateInterrupted, "interrupted by user"), after)
		},
		status: 1,
		want:   exitcode.Differs,
		reason: "1 failed; the first: matrix of go, set uts failed: uts: cloned with uts",
	}, {
		name: "an interrupted run with no failure",
		reports: func(t *testing.T) []types.Report {
			return run(t, false, []string{"Interrupted by User"}, setup, matrixSpec("go", "uts", passed, ""),
				matrixSpec("go", "ipc", types.SpecStateInterrupted, "interrupted by user"), after)
		},
		status: 1,
		want:   exitcode.CouldNotVerify,
		reason: "Ginkgo says: Interrupted by User (and 1 more)",
	}, {
		name: "a spec that exceeded its own timeout",
		reports: func(t *testing.T) []types.Report {
			return run(t, false, nil, setup, spec("a nested run ends", types.SpecStateTimedout, "A spec timeout occurred"), after)
		},
		status: 1,
		want:   exitcode.Differs,
		reason: `1 failed; the first: "the suite a nested run ends" timedout: A spec timeout occurred`,
	}, {
		name: "a panic",
		reports: func(t *testing.T) []types.Report {
			return run(t, false, nil, setup, spec("reads the host", types.SpecStatePanicked, "Test Panicked\nruntime error"), after)
		},
		status: 1,
		want:   exitcode.Differs,
		reason: `1 failed; the first: "the suite reads the host" panicked: Test Panicked`,
	}, {
		name: "a failed run whose report names no failure",
		reports: func(t *testing.T) []types.Report {
			return run(t, false, nil, setup, matrixSpec("go", "uts", passed, ""), after)
		},
		status: 1,
		want:   exitcode.CouldNotVerify,
		reason: "Ginkgo reports that the suite did not succeed, and names no failure",
	}, {
		name: "ginkgo failed where its report shows none",
		reports: func(t *testing.T) []types.Report {
			return run(t, true, nil, setup, matrixSpec("go", "uts", passed, ""), after)
		},
		status: 197,
		want:   exitcode.CouldNotVerify,
		reason: "ginkgo exited with 197, yet its report shows no failure",
	}, {
		name: "the status of ginkgo unknown",
		reports: func(t *testing.T) []types.Report {
			return run(t, true, nil, setup, matrixSpec("go", "uts", passed, ""), after)
		},
		status: UnknownStatus,
		want:   exitcode.Verified,
	}, {
		name: "a machine that cannot create the kinds",
		reports: func(t *testing.T) []types.Report {
			return run(t, true, nil, setup, matrixSpec("go", "uts", skipped, rootless), matrixSpec("go", "ipc", skipped, rootless),
				spec("refuses an unknown launcher", passed, ""), after)
		},
		want:   exitcode.NothingVerified,
		reason: "the matrix verified no set: go 2 skipped (" + rootless + ")",
	}, {
		name: "two launchers, neither installed",
		reports: func(t *testing.T) []types.Report {
			return run(t, true, nil, setup,
				matrixSpec("runc", "mnt", skipped, "n/a: runc: runc is not on PATH; install it (package runc), or leave it out of the launchers"),
				matrixSpec("bwrap", "mnt", skipped, "n/a: bwrap: bwrap is not on PATH; install it (package bubblewrap), or leave it out of the launchers"), after)
		},
		want:   exitcode.NothingVerified,
		reason: "the matrix verified no set: bwrap 1 n/a (bwrap is not on PATH; install it (package bubblewrap), or leave it out of the launchers); runc 1 n/a (runc is not on PATH",
	}, {
		name: "the matrix filtered out, other specs passed",
		reports: func(t *testing.T) []types.Report {
			return run(t, true, nil, setup, matrixSpec("go", "uts", skipped, ""), spec("keeps the host's hostname", passed, "", "ns:uts"), after)
		},
		want:   exitcode.Verified,
		reason: "1 spec passed; the run left out the matrix",
	}, {
		name: "the matrix filtered out, the other specs skipped",
		reports: func(t *testing.T) []types.Report {
			return run(t, true, nil, setup, matrixSpec("go", "uts", skipped, ""), spec("keeps the host's hostname", skipped, rootless, "ns:uts"), after)
		},
		want:   exitcode.NothingVerified,
		reason: "no spec passed, 1 skipped; the first: " + rootless,
	}, {
		name: "a filter that left nothing",
		reports: func(t *testing.T) []types.Report {
			return run(t, true, nil, matrixSpec("go", "uts", skipped, ""), spec("keeps the host's hostname", skipped, ""))
		},
		want:   exitcode.NothingVerified,
		reason: "no spec ran",
	}, {
		name: "a setup that skipped the whole suite",
		reports: func(t *testing.T) []types.Report {
			// Ginkgo counts such a suite a success: it skips every spec.
			return run(t, true, []string{skippedInBeforeSuite}, node(types.NodeTypeSynchronizedBeforeSuite, skipped, "no namespaces here"), matrixSpec("go", "uts", skipped, ""))
		},
		want:   exitcode.NothingVerified,
		reason: "the setup before the specs skipped the whole suite",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			v := Decide(tc.reports(t), tc.status)
			if v.Code != tc.want || !strings.HasPrefix(v.Reason, tc.reason) {
				t.Errorf("Decide = %d %q, want %d %q…", v.Code, v.Reason, tc.want, tc.reason)
			}
			last := v.Lines(0)[len(v.Lines(0))-1]
			if want := "exit " + string(rune('0'+tc.want)) + " (" + exitcode.Describe(tc.want) + "): "; !strings.HasPrefix(last, want) {
				t.Errorf("last line %q, want it to start %q", last, want)
			}
		})
	}
}

func TestLinesNameAtMostMaxFailures(t *testing.T) {
	v := Decide(readFixture(t, "lying"), 1)
	lines := v.Lines(3)
	// The tally, three failures, how many more, the code.
	if len(lines) != 6 || lines[4] != "failed: and 5 more" {
		t.Errorf("Lines(3):\n%s", strings.Join(lines, "\n"))
	}
	if all := v.Lines(0); len(all) != 10 {
		t.Errorf("Lines(0) has %d lines, want the tally, 8 failures and the code", len(all))
	}
}
