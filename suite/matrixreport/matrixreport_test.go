package matrixreport_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/suite/matrixreport"
)

// The fixtures are Ginkgo's own JSON reports of testdata/fixturesuite
// (regenerate with testdata/gen.sh):
//
//   - el7: a 3.10 kernel without cgroup and time namespaces, run on three
//     processes, with "kernel", "preflight" and "host baseline" entries;
//     uts+net fails on net, ipc+pid fails before any kind is checked.
//   - modern: every kind present, no suite-level entry; user+net fails on
//     user.
//
// Both give each child's capabilities (see fixturesuite's doc), and the
// report of a real run of the suite's matrix specs as root (go test
// ./suite -ginkgo.label-filter=matrix -ginkgo.json-report=..., then
// testdata/scrub.go, which keeps the specs, the namespace identities and
// the capabilities, and drops what describes the machine):
//
//   - real: 364 specs, of which the 256 in the matrix passed and the others
//     were filtered out; the 32 sets with user and mnt but not pid judged
//     mnt by the identity read by the host alone; root held 40 of the 41 known capabilities on
//     the host and all of them in a user namespace of its own.
//   - launchers.json.gz (read by nsreport's tests): the same, with
//     NSVERIFY_LAUNCHER=all, on a host with hybrid cgroups: the matrix of
//     go, unshare, bwrap, runc and crun, where crun refuses to run and runc
//     has no time namespace.
const (
	el7    = "el7.json.gz"
	modern = "modern.json.gz"
	real   = "real.json.gz"
)

// fixtures are all of them, for the tests that hold for any report.
var fixtures = []string{el7, modern, real}

// fixture returns the decompressed bytes of testdata/name.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return data
}

func matrixOf(t *testing.T, name string, opts matrixreport.Options) *matrixreport.Matrix {
	t.Helper()
	reports, err := matrixreport.ReadGinkgo(bytes.NewReader(fixture(t, name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m, err := matrixreport.FromReports(reports, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func markdown(t *testing.T, m *matrixreport.Matrix) string {
	t.Helper()
	var buf bytes.Buffer
	if err := m.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// table is a Markdown table read back: its set rows (cells split, the set
// unquoted) and the numbered notes below it.
type table struct {
	rows  map[string][]string
	order []string
	notes map[int]string
}

var (
	setRow = regexp.MustCompile("^\\| `([a-z+]+)` \\|")
	noteRe = regexp.MustCompile(`^(\d+)\. (.*)$`)
	refRe  = regexp.MustCompile(`\[([\d,]+)\]`)
)

func readTable(t *testing.T, md string) table {
	t.Helper()
	tab := table{rows: map[string][]string{}, notes: map[int]string{}}
	for line := range strings.Lines(md) {
		line = strings.TrimSuffix(line, "\n")
		if m := setRow.FindStringSubmatch(line); m != nil {
			cells := strings.Split(strings.Trim(line, "| "), " | ")
			if _, dup := tab.rows[m[1]]; dup {
				t.Errorf("set %s has two rows", m[1])
			}
			tab.rows[m[1]] = cells[1:]
			tab.order = append(tab.order, m[1])
		}
		if m := noteRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			tab.notes[n] = m[2]
		}
	}
	return tab
}

// refs returns the note numbers a cell points to.
func refs(cell string) []int {
	m := refRe.FindStringSubmatch(cell)
	if m == nil {
		return nil
	}
	var out []int
	for _, s := range strings.Split(m[1], ",") {
		n, _ := strconv.Atoi(s)
		out = append(out, n)
	}
	return out
}

func TestTableHas256RowsInSuiteOrder(t *testing.T) {
	want := make([]string, 0, 256)
	for _, s := range spawn.PowerSet(spawn.All) {
		want = append(want, s.String())
	}
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			m := matrixOf(t, name, matrixreport.Options{Name: "fixture"})
			if len(m.Rows) != 256 || m.Totals.Rows != 256 {
				t.Fatalf("got %d rows (totals %d), want 256", len(m.Rows), m.Totals.Rows)
			}
			tab := readTable(t, markdown(t, m))
			if !slices.Equal(tab.order, want) {
				t.Errorf("table rows are not the 256 sets in the suite's order:\ngot  %v\nwant %v", tab.order, want)
			}
		})
	}
}

// spec is the part of a Ginkgo spec report the oracle below reads, decoded
// without the types package so that the test does not share the code's
// reading of it.
type spec struct {
	LeafNodeType   string
	LeafNodeText   string
	LeafNodeLabels []string
	State          string
	Failure        struct{ Message string }
	ReportEntries  []struct {
		Name  string
		Value struct{ AsJSON string }
	}
}

// childCaps returns the capability summary of the probe report in a spec's
// "child <set>" entry, "" when it has none.
func (s spec) childCaps(t *testing.T) string {
	t.Helper()
	for _, e := range s.ReportEntries {
		if e.Name != "child "+s.LeafNodeText {
			continue
		}
		var v struct{ Report *probes.Report }
		if err := json.Unmarshal([]byte(e.Value.AsJSON), &v); err != nil {
			t.Fatal(err)
		}
		return probes.CapsSummary(v.Report)
	}
	return ""
}

// noted returns the kinds a spec's "identity only" or "not checked"
// entries (the entry name) name, with their reasons.
func (s spec) noted(t *testing.T, entry string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range s.ReportEntries {
		if e.Name != entry {
			continue
		}
		var v struct{ Kind, Reason string }
		if err := json.Unmarshal([]byte(e.Value.AsJSON), &v); err != nil {
			t.Fatal(err)
		}
		out[v.Kind] = v.Reason
	}
	return out
}

func specs(t *testing.T, name string) []spec {
	t.Helper()
	var reports []struct{ SpecReports []spec }
	if err := json.Unmarshal(fixture(t, name), &reports); err != nil {
		t.Fatal(err)
	}
	var out []spec
	for _, r := range reports {
		out = append(out, r.SpecReports...)
	}
	return out
}

// kernelKinds is what the fixture's kernel has: the keys of the host
// baseline's "ns", or every kind when there is no baseline.
func kernelKinds(t *testing.T, all []spec) map[string]bool {
	t.Helper()
	kinds := map[string]bool{}
	for _, s := range all {
		for _, e := range s.ReportEntries {
			if e.Name != "host baseline" {
				continue
			}
			var v struct{ NS map[string]any }
			if err := json.Unmarshal([]byte(e.Value.AsJSON), &v); err != nil {
				t.Fatal(err)
			}
			for k := range v.NS {
				kinds[k] = true
			}
			return kinds
		}
	}
	for _, k := range spawn.All.Kinds() {
		kinds[string(k)] = true
	}
	return kinds
}

// TestCellsMatchTheReport checks every cell, in the matrix and in the
// Markdown, against an oracle that reads the report by itself: the kinds a
// spec isolates are its "ns:<kind>" labels, its outcome is its state, a
// failure names its kind first, and its "identity only" and "not checked"
// entries name the kinds it judged by the identity read by the host alone or not at all.
func TestCellsMatchTheReport(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			m := matrixOf(t, name, matrixreport.Options{})
			tab := readTable(t, markdown(t, m))
			rows := map[string]matrixreport.Row{}
			for _, r := range m.Rows {
				rows[r.Set] = r
			}
			all := specs(t, name)
			present := kernelKinds(t, all)
			seen := 0
			for _, s := range all {
				if s.LeafNodeType != "It" || !slices.Contains(s.LeafNodeLabels, "matrix") {
					continue
				}
				seen++
				row, ok := rows[s.LeafNodeText]
				if !ok {
					t.Errorf("no row for spec %q", s.LeafNodeText)
					continue
				}
				cells := tab.rows[s.LeafNodeText]
				if len(cells) != len(spawn.All.Kinds())+2 {
					t.Fatalf("%s: Markdown row has %d cells, want %d: %q", s.LeafNodeText, len(cells), len(spawn.All.Kinds())+2, cells)
				}
				// The caps column: the child's summary, "-" without one.
				wantCaps := s.childCaps(t)
				if row.Caps != wantCaps {
					t.Errorf("%s: caps %q, want %q", s.LeafNodeText, row.Caps, wantCaps)
				}
				if wantCaps == "" {
					wantCaps = "-"
				}
				if got := cells[len(spawn.All.Kinds())]; got != wantCaps {
					t.Errorf("%s: Markdown caps cell %q, want %q", s.LeafNodeText, got, wantCaps)
				}
				failedKind, _, _ := strings.Cut(s.Failure.Message, ":")
				idOnly, unchecked := s.noted(t, "identity only"), s.noted(t, "not checked")
				for i, k := range spawn.All.Kinds() {
					var want matrixreport.CellState
					_, byID := idOnly[string(k)]
					_, notRun := unchecked[string(k)]
					switch {
					case s.State == "skipped":
						want = matrixreport.CellSkipped
					case s.State == "failed" && failedKind == string(k):
						want = matrixreport.CellFailed
					case notRun:
						want = matrixreport.CellSkipped
					case slices.Contains(s.LeafNodeLabels, "ns:"+string(k)):
						want = matrixreport.CellIsolated
					case !present[string(k)]:
						want = matrixreport.CellSkipped
					default:
						want = matrixreport.CellShared
					}
					byID = byID && (want == matrixreport.CellIsolated || want == matrixreport.CellShared)
					if got := row.Cells[k]; got.State != want || got.IdentityOnly != byID {
						t.Errorf("%s, %s: cell is %s (identity only: %v), want %s (%v)", s.LeafNodeText, k, got.State, got.IdentityOnly, want, byID)
					}
					word := string(want)
					if want == matrixreport.CellFailed {
						word = "**FAILED**"
					}
					if byID {
						word += " (id) ["
					}
					if !strings.HasPrefix(cells[i], word) {
						t.Errorf("%s, %s: Markdown cell is %q, want %s", s.LeafNodeText, k, cells[i], word)
					}
					if reason := idOnly[string(k)] + unchecked[string(k)]; (byID || notRun) && !strings.HasSuffix(row.Cells[k].Note, reason) {
						t.Errorf("%s, %s: note %q, want it to give the spec's reason %q", s.LeafNodeText, k, row.Cells[k].Note, reason)
					}
					// A cell with a note points to that very text.
					if note := row.Cells[k].Note; note != "" {
						r := refs(cells[i])
						if len(r) != 1 || tab.notes[r[0]] != note {
							t.Errorf("%s, %s: cell %q points to %v, want the note %q", s.LeafNodeText, k, cells[i], r, note)
						}
					}
				}
				wantStatus := map[string]matrixreport.Status{"passed": matrixreport.StatusPassed, "failed": matrixreport.StatusFailed, "skipped": matrixreport.StatusSkipped}[s.State]
				if row.Status != wantStatus {
					t.Errorf("%s: status %s, want %s", s.LeafNodeText, row.Status, wantStatus)
				}
				if status := cells[len(cells)-1]; !strings.Contains(status, string(wantStatus)) {
					t.Errorf("%s: status cell %q, want %s", s.LeafNodeText, status, wantStatus)
				}
			}
			if seen != 256 {
				t.Errorf("the fixture has %d matrix specs, want 256", seen)
			}
		})
	}
}

func TestSkipReasonsShareOneNote(t *testing.T) {
	m := matrixOf(t, el7, matrixreport.Options{})
	tab := readTable(t, markdown(t, m))

	// Every distinct reason is written once, and every note is used.
	var texts []string
	for _, text := range tab.notes {
		if slices.Contains(texts, text) {
			t.Errorf("note %q is written twice", text)
		}
		texts = append(texts, text)
	}
	used := map[int]bool{}
	for _, cells := range tab.rows {
		for _, c := range cells {
			for _, r := range refs(c) {
				used[r] = true
			}
		}
	}
	for n := range tab.notes {
		if !used[n] {
			t.Errorf("note %d (%q) is never pointed to", n, tab.notes[n])
		}
	}

	// The suite skips a set on the first kind in it the kernel lacks:
	// cgroup for the 128 sets with cgroup, time for the 64 with time only.
	counts := map[string]int{}
	for _, set := range tab.order {
		cells := tab.rows[set]
		if !strings.HasPrefix(cells[len(cells)-1], "skipped") {
			continue
		}
		r := refs(cells[0])
		if len(r) != 1 {
			t.Fatalf("%s: skipped cell %q has no single note", set, cells[0])
		}
		for _, c := range cells[:len(spawn.All.Kinds())] {
			if !slices.Equal(refs(c), r) {
				t.Errorf("%s: the cells of a skipped row point to different notes: %q", set, cells)
			}
		}
		if c := cells[len(spawn.All.Kinds())]; c != "-" {
			t.Errorf("%s: a skipped row has no child, and its caps cell is %q, want -", set, c)
		}
		counts[tab.notes[r[0]]]++
	}
	want := map[string]int{
		"this kernel has no cgroup namespaces (/proc/self/ns/cgroup is missing); a kernel that has them is needed to verify cgroup": 128,
		"this kernel has no time namespaces (/proc/self/ns/time is missing); a kernel that has them is needed to verify time":       64,
	}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("skipped rows by reason:\ngot  %v\nwant %v", counts, want)
	}

	// A passed row says why cgroup and time were not checked, rather than
	// calling them shared.
	none := tab.rows["none"]
	for i, k := range []string{"cgroup", "time"} {
		cell := none[6+i]
		r := refs(cell)
		if !strings.HasPrefix(cell, "skipped") || len(r) != 1 || !strings.Contains(tab.notes[r[0]], "no "+k+" namespaces") {
			t.Errorf("none, %s: cell %q (note %v), want skipped with a note on the missing %s namespace", k, cell, r, k)
		}
	}
}

func TestFailureCells(t *testing.T) {
	cases := []struct {
		fixture, set string
		failed       spawn.Kind // "" when the failure names no kind
		message      string
	}{
		{el7, "uts+net", spawn.Net, "net: the child in uts+net sees links beyond lo and its own marker"},
		{el7, "ipc+pid", "", "run the probe in ipc+pid: clone: invalid argument"},
		{modern, "user+net", spawn.User, "user: the child in user+net reads back another uid map than the one written"},
	}
	for _, tc := range cases {
		t.Run(tc.fixture+"/"+tc.set, func(t *testing.T) {
			m := matrixOf(t, tc.fixture, matrixreport.Options{})
			set, err := spawn.ParseSet(tc.set)
			if err != nil {
				t.Fatal(err)
			}
			var row matrixreport.Row
			for _, r := range m.Rows {
				if r.Set == tc.set {
					row = r
				}
			}
			if row.Status != matrixreport.StatusFailed || !strings.HasPrefix(row.Note, tc.message) {
				t.Fatalf("row %+v, want failed with the note %q", row, tc.message)
			}
			for _, k := range spawn.All.Kinds() {
				c := row.Cells[k]
				switch {
				case k == tc.failed:
					if c.State != matrixreport.CellFailed || c.Note != tc.message {
						t.Errorf("%s: cell %+v, want failed with the note %q", k, c, tc.message)
					}
				case c.State == matrixreport.CellFailed:
					t.Errorf("%s: cell failed, and the failure is not about %s", k, k)
				case set.Has(k) && c.State != matrixreport.CellIsolated:
					t.Errorf("%s: cell %s, want isolated as expected", k, c.State)
				}
			}

			md := markdown(t, m)
			tab := readTable(t, md)
			cells := tab.rows[tc.set]
			status := cells[len(cells)-1]
			if r := refs(status); !strings.HasPrefix(status, "**failed**") || len(r) != 1 || tab.notes[r[0]] != tc.message {
				t.Errorf("status cell %q, want **failed** pointing to %q", status, tc.message)
			}
			wantLine := "`" + tc.set + "`"
			if tc.failed != "" {
				wantLine += " (" + string(tc.failed) + ")"
			}
			if !strings.Contains(md, "- failed: ") || !strings.Contains(md, wantLine) {
				t.Errorf("the heading does not list %s among the failed sets:\n%s", wantLine, md[:strings.Index(md, "| set")])
			}
		})
	}
}

func TestHeading(t *testing.T) {
	m := matrixOf(t, el7, matrixreport.Options{Name: "centos7", Kernel: "ignored", KernelSource: "flag"})
	if m.Kernel != "3.10.0-1160.119.1.el7.x86_64" || m.KernelSource != "report entry kernel" {
		t.Errorf("kernel %q from %q, want the report entry's", m.Kernel, m.KernelSource)
	}
	md := markdown(t, m)
	for _, want := range []string{
		"## nsverify matrix: centos7\n",
		"- kernel: `3.10.0-1160.119.1.el7.x86_64`\n",
		"- preflight: root; user namespaces enabled (user.max_user_namespaces=15000); no cgroup or time namespaces\n",
		"- 256 sets: 62 passed, 2 failed, 192 skipped\n",
		"- cells judged by the identity read by the host alone (id): 0; cells not checked in rows that ran: 128\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("heading lacks %q:\n%s", want, md[:strings.Index(md, "| set")])
		}
	}

	// Without entries: the kernel from the options, or said to be unknown.
	m = matrixOf(t, modern, matrixreport.Options{Name: "rocky9", Kernel: "5.14.0-503.el9.x86_64", KernelSource: "given with -kernel"})
	md = markdown(t, m)
	if want := "- kernel: `5.14.0-503.el9.x86_64` (given with -kernel)\n"; !strings.Contains(md, want) {
		t.Errorf("heading lacks %q:\n%s", want, md[:strings.Index(md, "| set")])
	}
	if strings.Contains(md, "preflight") {
		t.Errorf("a report without a preflight entry should have no preflight line:\n%s", md[:strings.Index(md, "| set")])
	}
	if want := "- cells judged by the identity read by the host alone (id): 32; cells not checked in rows that ran: 0\n"; !strings.Contains(md, want) {
		t.Errorf("heading lacks %q:\n%s", want, md[:strings.Index(md, "| set")])
	}
	m = matrixOf(t, modern, matrixreport.Options{})
	if md := markdown(t, m); !strings.Contains(md, "- kernel: unknown") {
		t.Errorf("a report without a kernel entry and no kernel given should say unknown:\n%s", md[:strings.Index(md, "| set")])
	}
}

func TestPreflightSummary(t *testing.T) {
	cases := []struct{ preflight, want string }{
		{`{"summary": "root; user namespaces on", "x": 1}`, "root; user namespaces on"},
		{`{"user_namespaces": true, "max_user_namespaces": 15000, "apparmor": "restricted"}`, "apparmor: restricted; max_user_namespaces: 15000; user_namespaces: true"},
		{`"user namespaces: off"`, "user namespaces: off"},
		{`[{"name": "userns", "ok": false}]`, `{"name":"userns","ok":false}`},
	}
	for _, tc := range cases {
		m := &matrixreport.Matrix{Preflight: json.RawMessage(tc.preflight)}
		if got := m.PreflightSummary(); got != tc.want {
			t.Errorf("PreflightSummary(%s) = %q, want %q", tc.preflight, got, tc.want)
		}
	}
}

// TestPreflightEntryAsString: a suite may attach the preflight as a string
// that holds JSON; the matrix keeps the JSON itself.
func TestPreflightEntryAsString(t *testing.T) {
	report := types.Report{SuiteDescription: "nsverify", SpecReports: types.SpecReports{
		suiteNode(entry("preflight", `{"summary":"rootless"}`)),
		matrixSpec("none", types.SpecStatePassed, ""),
	}}
	m, err := matrixreport.FromReports([]types.Report{report}, matrixreport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m.Preflight); got != `{"summary":"rootless"}` {
		t.Errorf("preflight %s, want the object the string held", got)
	}
}

// TestNotRun: a spec that Ginkgo skipped without a message (a label filter,
// --fail-fast) gets a reason that says so, and a pending spec is skipped.
func TestNotRun(t *testing.T) {
	report := types.Report{SuiteDescription: "nsverify", SpecReports: types.SpecReports{
		matrixSpec("uts", types.SpecStateSkipped, ""),
		matrixSpec("ipc", types.SpecStatePending, ""),
		matrixSpec("pid", types.SpecStateTimedout, "A spec timeout occurred"),
	}}
	m, err := matrixreport.FromReports([]types.Report{report}, matrixreport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]matrixreport.Row{}
	for _, r := range m.Rows {
		got[r.Set] = r
	}
	if r := got["uts"]; r.Status != matrixreport.StatusSkipped || !strings.Contains(r.Note, "--label-filter") {
		t.Errorf("uts: %+v, want skipped with a note on filters", r)
	}
	if r := got["ipc"]; r.Status != matrixreport.StatusSkipped || r.GinkgoState != "pending" {
		t.Errorf("ipc: %+v, want skipped (pending)", r)
	}
	if r := got["pid"]; r.Status != matrixreport.StatusFailed || r.GinkgoState != "timedout" || r.Cells[spawn.PID].State != matrixreport.CellIsolated {
		t.Errorf("pid: %+v, want failed (timedout) with the cells as expected", r)
	}
	if md := markdown(t, m); !strings.Contains(md, "| **failed** [") || !strings.Contains(md, " (timedout) |") {
		t.Errorf("the timed-out row should say failed (timedout):\n%s", md)
	}
}

func TestWorstOutcomeWinsForARepeatedSet(t *testing.T) {
	reports := []types.Report{
		{SuiteDescription: "a", SpecReports: types.SpecReports{matrixSpec("uts", types.SpecStatePassed, "")}},
		{SuiteDescription: "b", SpecReports: types.SpecReports{matrixSpec("uts", types.SpecStateFailed, "uts: the host's hostname changed")}},
		{SuiteDescription: "c", SpecReports: types.SpecReports{matrixSpec("uts", types.SpecStateSkipped, "needs root")}},
	}
	m, err := matrixreport.FromReports(reports, matrixreport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Rows) != 1 || m.Rows[0].Status != matrixreport.StatusFailed || m.Rows[0].Cells[spawn.UTS].State != matrixreport.CellFailed {
		t.Errorf("rows %+v, want one failed row", m.Rows)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	m := matrixOf(t, el7, matrixreport.Options{Name: "centos7"})
	var buf bytes.Buffer
	if err := m.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := matrixreport.Read(bytes.NewReader(buf.Bytes()), matrixreport.Options{Name: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	// Times lose their monotonic reading in JSON, and the encoder indents
	// the preflight's JSON.
	m.Started, back.Started = m.Started.Round(0), back.Started.Round(0)
	var want, got bytes.Buffer
	if err := errors.Join(json.Compact(&want, m.Preflight), json.Compact(&got, back.Preflight)); err != nil {
		t.Fatal(err)
	}
	if want.String() != got.String() {
		t.Errorf("preflight changed through JSON: %s, want %s", got.String(), want.String())
	}
	m.Preflight, back.Preflight = nil, nil
	if !reflect.DeepEqual(m.Rows, back.Rows) {
		t.Errorf("the rows changed through JSON")
	}
	m.Rows, back.Rows = nil, nil
	if !reflect.DeepEqual(m, back) {
		t.Errorf("the matrix changed through JSON:\n%+v\n%+v", m, back)
	}
	if back.Started.Equal(time.Time{}) || back.Suite != "nsverify" {
		t.Errorf("suite %q started %v, want the report's", back.Suite, back.Started)
	}
}

func TestCombine(t *testing.T) {
	centos := matrixOf(t, el7, matrixreport.Options{Name: "centos7"})
	// One input as a matrix JSON and one as a Ginkgo report, as combine
	// takes both.
	var buf bytes.Buffer
	if err := centos.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	fromJSON, err := matrixreport.Read(&buf, matrixreport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rocky, err := matrixreport.Read(bytes.NewReader(fixture(t, modern)), matrixreport.Options{Name: "rocky9"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := matrixreport.Combine(&out, []*matrixreport.Matrix{fromJSON, rocky}); err != nil {
		t.Fatal(err)
	}
	md := out.String()
	tab := readTable(t, md)
	if len(tab.order) != 256 {
		t.Fatalf("combined table has %d set rows, want 256", len(tab.order))
	}
	for _, want := range []string{
		"| set | centos7 | rocky9 | machines agree |",
		"| machine | kernel | sets | passed | failed | skipped | (id) cells | preflight |",
		"| centos7 | `3.10.0-1160.119.1.el7.x86_64` | 256 | 62 | 2 | 192 | 0 | root; user namespaces enabled",
		"| rocky9 | unknown (the report has no \"kernel\" entry) | 256 | 255 | 1 | 0 | 32 | none |",
		"i and s the same judged by the identity read by the host alone",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("combined table lacks %q:\n%s", want, md)
		}
	}
	cases := []struct{ set, centos, rocky, agree string }{
		{"none", "`S S S S S S - -`", "`S S S S S S S S`", "**no**"},
		{"uts+net", "`I S S S S F - -` **failed**", "`I S S S S I S S`", "**no**"},
		{"user+net", "`S S S S I I - -`", "`S S S S F I S S` **failed**", "**no**"},
		{"time", "`- - - - - - - -`", "`S S S S S S S I`", "**no**"},
		{"mnt+user", "`S S S I I S - -`", "`S S S i I S S S`", "**no**"},
	}
	for _, tc := range cases {
		cells := tab.rows[tc.set]
		if len(cells) != 3 || !strings.HasPrefix(cells[0], tc.centos) || !strings.HasPrefix(cells[1], tc.rocky) || cells[2] != tc.agree {
			t.Errorf("%s: cells %q, want %s | %s | %s", tc.set, cells, tc.centos, tc.rocky, tc.agree)
		}
	}
	// uts+net on centos7 points to its failure and to the two kinds its
	// kernel lacks.
	var notes []string
	for _, r := range refs(tab.rows["uts+net"][0]) {
		notes = append(notes, tab.notes[r])
	}
	if len(notes) != 3 || !slices.Contains(notes, "net: the child in uts+net sees links beyond lo and its own marker") {
		t.Errorf("uts+net on centos7 points to %q, want its failure and the two missing kinds", notes)
	}

	// The same machine twice agrees on every row, under two names.
	out.Reset()
	if err := matrixreport.Combine(&out, []*matrixreport.Matrix{rocky, rocky}); err != nil {
		t.Fatal(err)
	}
	tab = readTable(t, out.String())
	for _, set := range tab.order {
		if cells := tab.rows[set]; cells[2] != "yes" {
			t.Errorf("%s: %q, want the machines to agree", set, cells)
		}
	}
	if !strings.Contains(out.String(), "| set | rocky9 | rocky9 (2) | machines agree |") {
		t.Errorf("two machines with one name should be told apart:\n%s", out.String()[:400])
	}
}

func TestBadInput(t *testing.T) {
	matrixJSON := func() string {
		var buf bytes.Buffer
		if err := matrixOf(t, modern, matrixreport.Options{}).WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}()
	cases := []struct {
		name, input string
		is          error
		says        string
	}{
		{"empty", "  \n", nil, "empty"},
		{"junit", `<?xml version="1.0"?><testsuites/>`, matrixreport.ErrNotGinkgoReport, "JUnit"},
		{"text", "ok  github.com/nsverify/nsverify/suite 12.3s", matrixreport.ErrNotGinkgoReport, "not JSON"},
		{"object", matrixJSON, matrixreport.ErrNotGinkgoReport, "JSON object"},
		{"array of numbers", "[1, 2]", matrixreport.ErrNotGinkgoReport, "JSON"},
		{"array of other objects", `[{"name": "x"}]`, matrixreport.ErrNotGinkgoReport, "no SuitePath"},
		{"truncated", string(fixture(t, el7)[:5000]), matrixreport.ErrNotGinkgoReport, "unexpected end"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := matrixreport.ReadGinkgo(strings.NewReader(tc.input))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "--json-report") {
				t.Errorf("error %q should say %q and how to make a report (--json-report)", err, tc.says)
			}
		})
	}

	if _, err := matrixreport.Read(strings.NewReader(`{"rows": 3}`), matrixreport.Options{}); !errors.Is(err, matrixreport.ErrNotMatrix) {
		t.Errorf("a JSON object that is no matrix: %v, want ErrNotMatrix", err)
	}
	if _, err := matrixreport.Read(strings.NewReader(`{"name": "x"}`), matrixreport.Options{}); !errors.Is(err, matrixreport.ErrNotMatrix) {
		t.Errorf("a JSON object without rows: %v, want ErrNotMatrix", err)
	}
	if _, err := matrixreport.Read(strings.NewReader(strings.Replace(matrixJSON, fmt.Sprintf(`"schema": %d`, matrixreport.Schema), `"schema": 9`, 1)), matrixreport.Options{}); err == nil || !strings.Contains(err.Error(), "schema 9") {
		t.Errorf("a matrix of another schema: %v, want an error naming it", err)
	}
}

func TestReportsWithoutRows(t *testing.T) {
	// What Ginkgo writes when the suite does not compile.
	broken := []types.Report{{SuitePath: "./suite", SpecialSuiteFailureReasons: []string{"Failed to compile suite:\n\nspawn/run.go:6:2: \"errors\" imported and not used\n"}}}
	_, err := matrixreport.FromReports(broken, matrixreport.Options{})
	if err == nil || !strings.Contains(err.Error(), "did not run its specs: Failed to compile suite") {
		t.Errorf("a report of a suite that did not compile: %v, want an error quoting Ginkgo's reason", err)
	}
	// A run filtered to other labels.
	hostOnly := []types.Report{{SuiteDescription: "nsverify", SpecReports: types.SpecReports{{LeafNodeType: types.NodeTypeIt, LeafNodeText: "reads the host", LeafNodeLabels: []string{"host"}, State: types.SpecStatePassed}}}}
	_, err = matrixreport.FromReports(hostOnly, matrixreport.Options{})
	if err == nil || !strings.Contains(err.Error(), `no spec in the report is labelled "matrix"`) {
		t.Errorf("a report without matrix specs: %v, want an error saying so", err)
	}
	// A matrix spec whose text is not a set cannot be placed.
	odd := []types.Report{{SuiteDescription: "nsverify", SpecReports: types.SpecReports{matrixSpec("uts and then some", types.SpecStatePassed, "")}}}
	_, err = matrixreport.FromReports(odd, matrixreport.Options{})
	if err == nil || !strings.Contains(err.Error(), "must name a namespace set") {
		t.Errorf("a matrix spec named %q: %v, want an error", "uts and then some", err)
	}
}

func matrixSpec(set string, state types.SpecState, message string) types.SpecReport {
	return types.SpecReport{
		ContainerHierarchyTexts: []string{"the combination matrix", "a child cloned with a set of kinds is isolated in exactly those, and shares the others"},
		LeafNodeType:            types.NodeTypeIt,
		LeafNodeText:            set,
		LeafNodeLabels:          []string{"matrix"},
		State:                   state,
		Failure:                 types.Failure{Message: message},
	}
}

func suiteNode(entries ...types.ReportEntry) types.SpecReport {
	return types.SpecReport{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStatePassed, ReportEntries: entries}
}

// entry makes a report entry as Ginkgo stores it, through its JSON.
func entry(name string, value any) types.ReportEntry {
	data, err := json.Marshal(types.WrapEntryValue(value))
	if err != nil {
		panic(err)
	}
	var v types.ReportEntryValue
	if err := json.Unmarshal(data, &v); err != nil {
		panic(err)
	}
	return types.ReportEntry{Name: name, Value: v}
}

// TestRealReport: the real run has its 256 matrix specs among others (the
// walk-through names sets too), all passed, and so a table of 256 passed
// rows with every kind checked, by both oracles except mnt in the 32 sets
// with user and mnt but not pid, whose one note says why.
func TestRealReport(t *testing.T) {
	m := matrixOf(t, real, matrixreport.Options{Name: "real"})
	md := markdown(t, m)
	tab := readTable(t, md)
	if len(tab.order) != 256 {
		t.Fatalf("the real report's table has %d set rows, want 256", len(tab.order))
	}
	if m.Totals != (matrixreport.Totals{Rows: 256, Passed: 256, IdentityOnly: 32}) {
		t.Errorf("totals %+v, want 256 passed and 32 cells by the identity read by the host alone", m.Totals)
	}
	if len(tab.notes) != 1 || !strings.Contains(tab.notes[1], "judged by the identity read by the host alone: the kernel refused the child's /proc mount") {
		t.Errorf("notes %v, want one on the refused /proc mount", tab.notes)
	}
	for _, set := range tab.order {
		s, err := spawn.ParseSet(set)
		if err != nil {
			t.Fatal(err)
		}
		byID := s.Has(spawn.User) && s.Has(spawn.MNT) && !s.Has(spawn.PID)
		if got := strings.HasPrefix(tab.rows[set][3], "isolated (id) [1]"); got != byID {
			t.Errorf("%s: mnt cell %q, want identity only: %v", set, tab.rows[set][3], byID)
		}
	}
	all := tab.rows["uts+ipc+pid+mnt+user+net+cgroup+time"]
	if want := slices.Repeat([]string{"isolated"}, 8); !slices.Equal(all[:8], want) || all[8] != "full in own userns" || all[9] != "passed" {
		t.Errorf("the set of all kinds: %q, want isolated everywhere, full caps in its own user namespace, and passed", all)
	}
	// Root holds its capabilities on the host in the sets without user,
	// and a full set in its own user namespace in those with it.
	for _, r := range m.Rows {
		s, err := spawn.ParseSet(r.Set)
		if err != nil {
			t.Fatal(err)
		}
		want := "host root (40/41)"
		if s.Has(spawn.User) {
			want = "full in own userns"
		}
		if r.Caps != want {
			t.Errorf("%s: caps %q, want %q", r.Set, r.Caps, want)
		}
	}
}

// TestCapsColumn: each row that ran says what root held in its child, and
// a row without a child report with capabilities says "-".
func TestCapsColumn(t *testing.T) {
	cases := []struct{ fixture, set, want string }{
		{el7, "none", "host root (37/41)"},
		{el7, "uts+user", "37/41 in own userns"},
		{el7, "uts+net", "host root (37/41)"}, // failed after its child ran
		{el7, "cgroup", ""},                   // skipped
		{modern, "none", "host root (41/41)"},
		{modern, "user+net", "full in own userns"}, // failed after its child ran
		{modern, "ipc+net", "none"},
		{modern, "pid+net", ""}, // its report lacks the caps
	}
	for _, tc := range cases {
		t.Run(tc.fixture+"/"+tc.set, func(t *testing.T) {
			m := matrixOf(t, tc.fixture, matrixreport.Options{})
			var row matrixreport.Row
			for _, r := range m.Rows {
				if r.Set == tc.set {
					row = r
				}
			}
			if row.Caps != tc.want {
				t.Errorf("caps %q, want %q", row.Caps, tc.want)
			}
			want := tc.want
			if want == "" {
				want = "-"
			}
			if cells := readTable(t, markdown(t, m)).rows[tc.set]; cells[len(spawn.All.Kinds())] != want {
				t.Errorf("Markdown row %q, want the caps cell %q", cells, want)
			}
		})
	}
	md := markdown(t, matrixOf(t, modern, matrixreport.Options{}))
	if want := "| set | uts | ipc | pid | mnt | user | net | cgroup | time | caps | status |\n"; !strings.Contains(md, want) {
		t.Errorf("the header lacks the caps column between the kinds and the status:\n%s", md)
	}
}

// TestOldSchema: a matrix of schema 2, written before rows had caps, still
// reads, with no caps in its rows; other schemas do not.
func TestOldSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := matrixOf(t, modern, matrixreport.Options{Name: "rocky9"}).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	raw["schema"] = 2
	for _, r := range raw["rows"].([]any) {
		delete(r.(map[string]any), "caps")
	}
	old, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := matrixreport.Read(bytes.NewReader(old), matrixreport.Options{})
	if err != nil {
		t.Fatalf("a schema 2 matrix: %v, want it read", err)
	}
	if m.Schema != 2 || len(m.Rows) != 256 || m.Rows[0].Caps != "" || m.Totals.Failed != 1 {
		t.Errorf("a schema 2 matrix read as schema %d, %d rows, caps %q, totals %+v", m.Schema, len(m.Rows), m.Rows[0].Caps, m.Totals)
	}
	if cells := readTable(t, markdown(t, m)).rows["none"]; cells[len(spawn.All.Kinds())] != "-" {
		t.Errorf("a schema 2 row: %q, want the caps cell -", cells)
	}
	raw["schema"] = 1
	if old, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	if _, err := matrixreport.Read(bytes.NewReader(old), matrixreport.Options{}); err == nil || !strings.Contains(err.Error(), "schema 1") {
		t.Errorf("a schema 1 matrix: %v, want an error naming it", err)
	}
}

// TestSpecEntriesDecideCells: a spec's own "not checked" entry skips a cell
// even without a host baseline to infer it from, and an "identity only"
// entry marks a passing cell but never hides a failure.
func TestSpecEntriesDecideCells(t *testing.T) {
	uts := matrixSpec("uts", types.SpecStatePassed, "")
	uts.ReportEntries = types.ReportEntries{
		entry(matrixreport.NotCheckedEntry, matrixreport.KindNote{Kind: spawn.Time, Reason: "time: no time namespaces here"}),
		entry(matrixreport.IdentityOnlyEntry, matrixreport.KindNote{Kind: spawn.Net, Reason: "nothing to compare"}),
	}
	ipc := matrixSpec("ipc", types.SpecStateFailed, "ipc: the child sees the host's queue")
	ipc.ReportEntries = types.ReportEntries{
		entry(matrixreport.IdentityOnlyEntry, matrixreport.KindNote{Kind: spawn.IPC, Reason: "no host queue"}),
		entry(matrixreport.IdentityOnlyEntry, matrixreport.KindNote{Kind: "bogus", Reason: "ignored"}),
	}
	m, err := matrixreport.FromReports([]types.Report{{SuiteDescription: "nsverify", SpecReports: types.SpecReports{uts, ipc}}}, matrixreport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]matrixreport.Row{}
	for _, r := range m.Rows {
		rows[r.Set] = r
	}
	if c := rows["uts"].Cells[spawn.Time]; c.State != matrixreport.CellSkipped || c.Note != "not checked: time: no time namespaces here" {
		t.Errorf("uts, time: %+v, want skipped with the spec's reason", c)
	}
	if c := rows["uts"].Cells[spawn.Net]; c.State != matrixreport.CellShared || !c.IdentityOnly || c.Note != "judged by the identity read by the host alone: nothing to compare" {
		t.Errorf("uts, net: %+v, want shared by the identity read by the host alone with the spec's reason", c)
	}
	if c := rows["ipc"].Cells[spawn.IPC]; c.State != matrixreport.CellFailed || c.IdentityOnly {
		t.Errorf("ipc, ipc: %+v, want failed", c)
	}
	if m.Totals.IdentityOnly != 1 || m.Totals.NotChecked != 1 {
		t.Errorf("totals %+v, want one cell by the identity read by the host alone and one not checked", m.Totals)
	}
	md := markdown(t, m)
	if !strings.Contains(md, "| shared (id) [") || !strings.Contains(md, "- cells judged by the identity read by the host alone (id): 1; cells not checked in rows that ran: 1\n") {
		t.Errorf("the table should show and count the cell by the identity read by the host alone:\n%s", md)
	}
	var out bytes.Buffer
	if err := matrixreport.Combine(&out, []*matrixreport.Matrix{m}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| `uts` | `I S S S S s S -`") {
		t.Errorf("the combined table should write the cell by the identity read by the host alone in lower case:\n%s", out.String())
	}
}

// launcherSpec is a matrix spec of launcher, with entries.
func launcherSpec(launcher, set string, state types.SpecState, message string, entries ...types.ReportEntry) types.SpecReport {
	s := matrixSpec(set, state, message)
	s.LeafNodeLabels = append(s.LeafNodeLabels, matrixreport.LauncherLabelPrefix+launcher)
	s.ReportEntries = entries
	return s
}

// TestLaunchersSplitTheMatrix: one report holding several launchers'
// matrix specs gives one matrix per launcher, each with its version from
// the "launchers" entry; a set the launcher cannot express is n/a with its
// reason, counted apart from passed and skipped, and never shown as a pass.
func TestLaunchersSplitTheMatrix(t *testing.T) {
	notExpressible := entry(matrixreport.NotExpressibleEntry, matrixreport.LauncherNote{Launcher: "bwrap", Reason: "bwrap always makes a mount namespace"})
	reports := []types.Report{{
		SuiteDescription: "nsverify",
		SpecReports: []types.SpecReport{
			suiteNode(entry(matrixreport.LaunchersEntry, []matrixreport.LauncherInfo{{Name: "go"}, {Name: "bwrap", Version: "bubblewrap 0.8.0"}})),
			launcherSpec("bwrap", "uts", types.SpecStateSkipped, "n/a: bwrap: bwrap always makes a mount namespace", notExpressible),
			launcherSpec("bwrap", "uts+mnt", types.SpecStatePassed, ""),
			matrixSpec("uts", types.SpecStatePassed, ""),
			launcherSpec("go", "uts+mnt", types.SpecStateFailed, "mnt: the host's mount table changed"),
		},
	}}
	if got := matrixreport.Launchers(reports); !slices.Equal(got, []string{"go", "bwrap"}) {
		t.Errorf("launchers %v, want go then bwrap", got)
	}
	builtin, err := matrixreport.FromReports(reports, matrixreport.Options{Name: "box"})
	if err != nil {
		t.Fatal(err)
	}
	if builtin.Launcher != "go" || builtin.Totals.Rows != 2 || builtin.Totals.Failed != 1 {
		t.Errorf("built-in matrix: launcher %q, totals %+v", builtin.Launcher, builtin.Totals)
	}
	bwrap, err := matrixreport.FromReports(reports, matrixreport.Options{Name: "box", Launcher: "bwrap"})
	if err != nil {
		t.Fatal(err)
	}
	if bwrap.LauncherVersion != "bubblewrap 0.8.0" {
		t.Errorf("bwrap's version %q", bwrap.LauncherVersion)
	}
	want := matrixreport.Totals{Rows: 2, Passed: 1, NotApplicable: 1}
	if bwrap.Totals != want {
		t.Errorf("bwrap totals %+v, want %+v", bwrap.Totals, want)
	}
	uts := bwrap.Rows[0]
	if uts.Set != "uts" || uts.Status != matrixreport.StatusNotApplicable || uts.Cells[spawn.UTS].State != matrixreport.CellNotApplicable || !strings.Contains(uts.Note, "always makes a mount namespace") {
		t.Errorf("bwrap's uts row: %+v", uts)
	}
	md := markdown(t, bwrap)
	if !strings.Contains(md, "- launcher: `bwrap` (bubblewrap 0.8.0)") || !strings.Contains(md, "1 n/a (the launcher cannot express them)") {
		t.Errorf("bwrap's Markdown heading:\n%s", md)
	}
	if _, err := matrixreport.FromReports(reports, matrixreport.Options{Launcher: "runc"}); err == nil || !strings.Contains(err.Error(), "go, bwrap") {
		t.Errorf("a launcher the report lacks: %v", err)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(reports); err != nil {
		t.Fatal(err)
	}
	all, err := matrixreport.ReadAll(&buf, matrixreport.Options{Name: "box"})
	if err != nil || len(all) != 2 || !matrixreport.ByLauncher(all) {
		t.Fatalf("ReadAll: %d matrices, %v", len(all), err)
	}
}
