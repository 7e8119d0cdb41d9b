package matrixreport

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// Schema is the version of the matrix JSON. It is bumped on any change that
// an older reader would misunderstand. Schema 3 added a row's caps; schema
// 4 the launcher and the n/a status of a set it cannot express.
const Schema = 4

// oldestSchema is the oldest matrix JSON Read still takes: a
// schema 2 matrix lacks only the caps, which its rows leave empty.
const oldestSchema = 2

// MatrixLabel is the label of the specs that make the rows.
const MatrixLabel = "matrix"

// Names of the report entries the matrix reads.
const (
	KernelEntry       = "kernel"
	PreflightEntry    = "preflight"
	HostBaselineEntry = "host baseline"
	ChildEntryPrefix  = "child "
	// IdentityOnlyEntry is added by a spec for each kind it judged by its
	// namespace identity alone, its behaviour oracle having nothing to
	// look at; the value is a KindNote.
	IdentityOnlyEntry = "identity only"
	// NotCheckedEntry is added by a spec for each kind it did not check at
	// all (the kernel lacks it); the value is a KindNote.
	NotCheckedEntry = "not checked"
	// NotExpressibleEntry is added by a spec whose launcher cannot start
	// its child as asked; the value is a LauncherNote, the row n/a.
	NotExpressibleEntry = "not expressible"
	// LaunchersEntry is the suite's list of launchers, each a
	// LauncherInfo.
	LaunchersEntry = "launchers"
	// LauncherLabelPrefix starts the label that names a matrix spec's
	// launcher ("launcher:bwrap"); a spec without one is the built-in
	// launcher's, as in reports from before launchers.
	LauncherLabelPrefix = "launcher:"
	// BuiltinLauncher is the name of the built-in launcher.
	BuiltinLauncher = "go"
)

// LauncherNote is the value of a "not expressible" entry.
type LauncherNote struct {
	Launcher string `json:"launcher"`
	Reason   string `json:"reason"`
}

// LauncherInfo is one launcher of the "launchers" entry, as the suite
// found it.
type LauncherInfo struct {
	Name    string `json:"name"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	// Refused says why the launcher started nothing on the machine.
	Refused string `json:"refused,omitempty"`
	// RefusedKinds are "kind: message" for kinds a trial showed it
	// refuses.
	RefusedKinds []string `json:"refused_kinds,omitempty"`
}

// KindNote is the value of an "identity only" or "not checked" entry: the
// kind and why.
type KindNote struct {
	Kind   spawn.Kind `json:"kind"`
	Reason string     `json:"reason"`
}

// CellState is what a matrix cell says about one kind in one set.
type CellState string

// The states of a cell.
const (
	// CellIsolated: the kind is in the set and the spec found it isolated.
	CellIsolated CellState = "isolated"
	// CellShared: the kind is not in the set and the spec found it shared.
	CellShared CellState = "shared"
	// CellSkipped: the kind was not checked; the cell's note says why.
	CellSkipped CellState = "skipped"
	// CellFailed: the spec failed on this kind; the note holds the failure.
	CellFailed CellState = "failed"
	// CellNotApplicable: the launcher cannot express the row's set; the
	// note says why.
	CellNotApplicable CellState = "n/a"
)

// Status is the outcome of a row's spec.
type Status string

// The statuses of a row.
const (
	StatusPassed  Status = "passed"
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped"
	// StatusNotApplicable: the launcher cannot express the set, a fact
	// about the launcher that the note states; never a pass.
	StatusNotApplicable Status = "n/a"
)

// Cell is one kind in one row.
type Cell struct {
	State CellState `json:"state"`
	// IdentityOnly says an isolated or shared cell was judged by the
	// namespace identity alone: the spec's behaviour oracle for the kind
	// had nothing to look at, and Note says why.
	IdentityOnly bool `json:"identity_only,omitempty"`
	// Note says why a cell was skipped or judged by the identity read by the host alone, or how
	// it failed.
	Note string `json:"note,omitempty"`
}

// Row is one namespace set: the outcome of its matrix spec and a cell per
// kind.
type Row struct {
	// Set is the set's name as spawn prints it ("uts+ipc", "none").
	Set    string `json:"set"`
	Status Status `json:"status"`
	// GinkgoState is the spec's state as Ginkgo reports it, finer than
	// Status ("timedout", "panicked", "pending").
	GinkgoState string `json:"ginkgo_state"`
	// Note is the skip reason or the whole failure message.
	Note  string              `json:"note,omitempty"`
	Cells map[spawn.Kind]Cell `json:"cells"`
	// Caps says what root inside the child held, as probes.CapsSummary
	// puts it ("full in own userns", "host root (41/41)", "none"), from
	// the spec's "child <set>" entry; empty when the row has no child
	// report with capabilities (a skipped spec, a child that never ran,
	// a matrix of schema 2).
	Caps string `json:"caps,omitempty"`
}

// Totals counts rows by status, and the cells of rows that ran by how far
// they were checked.
type Totals struct {
	Rows    int `json:"rows"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// NotApplicable counts the rows the launcher cannot express.
	NotApplicable int `json:"not_applicable"`
	// IdentityOnly counts the isolated and shared cells judged by identity
	// alone; NotChecked the skipped cells of rows that ran (a kind the
	// kernel lacks).
	IdentityOnly int `json:"identity_only"`
	NotChecked   int `json:"not_checked"`
}

// Matrix is the combination matrix of one suite run on one machine.
type Matrix struct {
	Schema int `json:"schema"`
	// Name names the machine ("centos7", "ubuntu-24.04-root").
	Name string `json:"name"`
	// Launcher is what started the children: "go", the built-in clone,
	// or a sandbox's program, with its version and path as the suite
	// found it.
	Launcher        string `json:"launcher,omitempty"`
	LauncherVersion string `json:"launcher_version,omitempty"`
	// Kernel is the kernel release, and KernelSource where it came from: the
	// suite's "kernel" report entry, or whatever Options said.
	Kernel       string `json:"kernel,omitempty"`
	KernelSource string `json:"kernel_source,omitempty"`
	// Preflight is the value of the suite's "preflight" report entry, as the
	// suite wrote it.
	Preflight json.RawMessage `json:"preflight,omitempty"`
	Suite     string          `json:"suite,omitempty"`
	Started   time.Time       `json:"started,omitzero"`
	// Kinds are the columns, in the order of spawn.All.Kinds().
	Kinds  []spawn.Kind `json:"kinds"`
	Rows   []Row        `json:"rows"`
	Totals Totals       `json:"totals"`
}

// Options name a matrix and supply what its report may lack.
type Options struct {
	// Name names the machine the report comes from.
	Name string
	// Kernel is used when the report has no "kernel" entry; KernelSource
	// then says where it came from ("uname -r of the machine that ran nsreport").
	Kernel, KernelSource string
	// Launcher picks the rows of one launcher; empty, the built-in one's.
	Launcher string
}

// specLauncher is the launcher a matrix spec's labels name.
func specLauncher(sr types.SpecReport) string {
	for _, l := range sr.Labels() {
		if name, ok := strings.CutPrefix(l, LauncherLabelPrefix); ok {
			return name
		}
	}
	return BuiltinLauncher
}

// Launchers lists the launchers whose matrix specs the reports hold, in
// the order spawn knows them (the built-in one first), any other after.
func Launchers(reports []types.Report) []string {
	var names []string
	for _, rep := range reports {
		for _, sr := range rep.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt || !slices.Contains(sr.Labels(), MatrixLabel) {
				continue
			}
			if name := specLauncher(sr); !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.SortStableFunc(names, func(a, b string) int { return launcherOrder(a) - launcherOrder(b) })
	return names
}

// FromReports builds the matrix of the specs labelled "matrix" in reports.
// It fails when a matrix spec's text is not a namespace set, since the row
// could not be placed, or when no spec is labelled "matrix".
func FromReports(reports []types.Report, opts Options) (*Matrix, error) {
	launcher := opts.Launcher
	if launcher == "" {
		launcher = BuiltinLauncher
	}
	m := &Matrix{Schema: Schema, Name: opts.Name, Launcher: launcher, Kinds: spawn.All.Kinds(), Rows: []Row{}}
	suite := suiteEntries(reports)
	if v, ok := suite[LaunchersEntry]; ok {
		var infos []LauncherInfo
		if json.Unmarshal([]byte(v.AsJSON), &infos) == nil {
			for _, info := range infos {
				if info.Name == launcher {
					m.LauncherVersion = info.Version
				}
			}
		}
	}
	if v, ok := suite[KernelEntry]; ok {
		if k := kernelRelease(v); k != "" {
			m.Kernel, m.KernelSource = k, "report entry "+KernelEntry
		}
	}
	if m.Kernel == "" && opts.Kernel != "" {
		m.Kernel, m.KernelSource = opts.Kernel, opts.KernelSource
	}
	if v, ok := suite[PreflightEntry]; ok {
		m.Preflight = preflightJSON(v)
	}
	var hostNS map[string]probes.NSID
	if v, ok := suite[HostBaselineEntry]; ok {
		var r probes.Report
		if json.Unmarshal([]byte(v.AsJSON), &r) == nil && len(r.NS) > 0 {
			hostNS = r.NS
		}
	}

	rows := map[spawn.Set]Row{}
	for _, rep := range reports {
		if m.Suite == "" {
			m.Suite, m.Started = rep.SuiteDescription, rep.StartTime
		}
		for _, sr := range rep.SpecReports {
			if sr.LeafNodeType != types.NodeTypeIt || !slices.Contains(sr.Labels(), MatrixLabel) || specLauncher(sr) != launcher {
				continue
			}
			set, err := spawn.ParseSet(sr.LeafNodeText)
			if err != nil {
				return nil, fmt.Errorf("read matrix spec %q: its text must name a namespace set: %w", sr.FullText(), err)
			}
			row := newRow(set, sr, hostNS)
			// A set reported twice (two suites, or a repeated run) keeps
			// its worst outcome: a failure anywhere must show.
			if old, ok := rows[set]; !ok || rank(row.Status) > rank(old.Status) {
				rows[set] = row
			}
		}
	}
	if len(rows) == 0 {
		for _, rep := range reports {
			// A suite that failed to compile or start has no specs, and
			// Ginkgo says why here.
			if len(rep.SpecialSuiteFailureReasons) > 0 {
				return nil, fmt.Errorf("build matrix: the suite did not run its specs: %s", summary(strings.Join(rep.SpecialSuiteFailureReasons, "; "), 0, 600))
			}
		}
		if others := Launchers(reports); len(others) > 0 {
			return nil, fmt.Errorf("build matrix: no matrix spec in the report is of launcher %q; it holds those of %s", launcher, strings.Join(others, ", "))
		}
		return nil, fmt.Errorf("build matrix: no spec in the report is labelled %q; run the whole suite, or at least --label-filter=%s, with --json-report", MatrixLabel, MatrixLabel)
	}
	for _, set := range spawn.PowerSet(spawn.All) {
		if row, ok := rows[set]; ok {
			m.Rows = append(m.Rows, row)
		}
	}
	m.count()
	return m, nil
}

// hasEntry reports whether the spec has a report entry named name.
func hasEntry(sr types.SpecReport, name string) bool {
	return slices.ContainsFunc(sr.ReportEntries, func(e types.ReportEntry) bool { return e.Name == name })
}

func rank(s Status) int {
	switch s {
	case StatusFailed:
		return 2
	case StatusPassed:
		return 1
	}
	return 0
}

// newRow judges one matrix spec.
func newRow(set spawn.Set, sr types.SpecReport, hostNS map[string]probes.NSID) Row {
	row := Row{Set: set.String(), GinkgoState: sr.State.String(), Cells: make(map[spawn.Kind]Cell, len(spawn.All.Kinds()))}
	switch {
	case sr.State.Is(types.SpecStatePassed):
		row.Status = StatusPassed
	case sr.State.Is(types.SpecStateFailureStates):
		row.Status = StatusFailed
		row.Note = strings.TrimSpace(sr.Failure.Message)
		if row.Note == "" {
			row.Note = "the spec " + sr.State.String() + " without a message"
		}
	case hasEntry(sr, NotExpressibleEntry):
		row.Status = StatusNotApplicable
		row.Note = skipReason(sr)
		for _, e := range sr.ReportEntries {
			var v LauncherNote
			if e.Name == NotExpressibleEntry && json.Unmarshal([]byte(e.Value.AsJSON), &v) == nil && v.Reason != "" {
				row.Note = v.Launcher + " cannot express it: " + v.Reason
			}
		}
		for _, k := range spawn.All.Kinds() {
			row.Cells[k] = Cell{State: CellNotApplicable, Note: row.Note}
		}
		return row
	default:
		row.Status = StatusSkipped
		row.Note = skipReason(sr)
		for _, k := range spawn.All.Kinds() {
			row.Cells[k] = Cell{State: CellSkipped, Note: row.Note}
		}
		return row
	}

	// The kinds this kernel has: from the host baseline, else from the
	// child's own report. A kind it lacks was never checked, so calling its
	// cell shared would claim more than the spec proved.
	childNS, childCaps := childReports(sr, set)
	row.Caps = probes.CapsSummary(childCaps)
	for _, k := range spawn.All.Kinds() {
		switch {
		case set.Has(k):
			row.Cells[k] = Cell{State: CellIsolated}
		case hostNS != nil && !hasKey(hostNS, string(k)):
			row.Cells[k] = Cell{State: CellSkipped, Note: fmt.Sprintf("not checked: this kernel has no %s namespaces (/proc/self/ns/%s is missing)", k, k)}
		case hostNS == nil && childNS != nil && !hasKey(childNS, string(k)):
			row.Cells[k] = Cell{State: CellSkipped, Note: fmt.Sprintf("not checked: the child's report has no %s namespace (/proc/self/ns/%s is missing)", k, k)}
		default:
			row.Cells[k] = Cell{State: CellShared}
		}
	}
	// What the spec itself says it could not check outweighs what is
	// inferred above.
	for _, e := range sr.ReportEntries {
		if e.Name != IdentityOnlyEntry && e.Name != NotCheckedEntry {
			continue
		}
		var v KindNote
		if json.Unmarshal([]byte(e.Value.AsJSON), &v) != nil || !v.Kind.Valid() {
			continue
		}
		c := row.Cells[v.Kind]
		switch {
		case e.Name == NotCheckedEntry:
			c = Cell{State: CellSkipped, Note: "not checked: " + v.Reason}
		case c.State == CellIsolated || c.State == CellShared:
			c.IdentityOnly, c.Note = true, "judged by the identity read by the host alone: "+v.Reason
		}
		row.Cells[v.Kind] = c
	}
	if row.Status == StatusFailed {
		failures := []string{sr.Failure.Message}
		for _, af := range sr.AdditionalFailures {
			failures = append(failures, af.Failure.Message)
		}
		for _, msg := range failures {
			if k, ok := failedKind(msg); ok {
				row.Cells[k] = Cell{State: CellFailed, Note: summary(msg, 2, 240)}
			}
		}
	}
	return row
}

// failedKind returns the kind a failure message starts with: the suite
// begins every assertion message with "<kind>: ".
func failedKind(msg string) (spawn.Kind, bool) {
	name, _, ok := strings.Cut(strings.TrimSpace(msg), ":")
	if !ok {
		return "", false
	}
	k := spawn.Kind(name)
	return k, k.Valid()
}

// skipReason is the Skip message, or why Ginkgo did not run the spec.
func skipReason(sr types.SpecReport) string {
	if msg := summary(sr.Failure.Message, 0, 0); msg != "" {
		return msg
	}
	if sr.State.Is(types.SpecStatePending) {
		return "pending: the spec is marked Pending"
	}
	return "not run: filtered out by --label-filter or --focus, or the run stopped early (--fail-fast, an interrupt)"
}

// childReports reads the probe reports in the spec's "child <set>"
// entries: it returns the namespace identities of the first that has some,
// or nil, and the first report that has capabilities, or nil.
func childReports(sr types.SpecReport, set spawn.Set) (ns map[string]probes.NSID, withCaps *probes.Report) {
	for _, e := range sr.ReportEntries {
		if e.Name != ChildEntryPrefix+set.String() {
			continue
		}
		var v struct {
			Report *probes.Report `json:"report"`
		}
		if json.Unmarshal([]byte(e.Value.AsJSON), &v) != nil || v.Report == nil {
			continue
		}
		if ns == nil && len(v.Report.NS) > 0 {
			ns = v.Report.NS
		}
		if withCaps == nil && v.Report.Caps != nil {
			withCaps = v.Report
		}
	}
	return ns, withCaps
}

// suiteEntries returns the first entry of each name, looking at suite-level
// nodes (BeforeSuite and the like) before specs, since that is where the
// suite attaches what holds for the whole run.
func suiteEntries(reports []types.Report) map[string]types.ReportEntryValue {
	out := map[string]types.ReportEntryValue{}
	for _, suiteLevel := range []bool{true, false} {
		for _, rep := range reports {
			for _, sr := range rep.SpecReports {
				if sr.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes) != suiteLevel {
					continue
				}
				for _, e := range sr.ReportEntries {
					if _, ok := out[e.Name]; !ok && e.Value.AsJSON != "" {
						out[e.Name] = e.Value
					}
				}
			}
		}
	}
	return out
}

// kernelRelease reads the "kernel" entry: a string (uname -r), or an object
// with a "release" field.
func kernelRelease(v types.ReportEntryValue) string {
	var s string
	if json.Unmarshal([]byte(v.AsJSON), &s) == nil {
		return strings.TrimSpace(s)
	}
	var obj struct {
		Release string `json:"release"`
	}
	if json.Unmarshal([]byte(v.AsJSON), &obj) == nil && obj.Release != "" {
		return obj.Release
	}
	return strings.TrimSpace(v.Representation)
}

// preflightJSON returns the "preflight" entry as JSON. A suite may pass a
// struct (stored as its JSON) or a string that already holds JSON (stored as
// a JSON string); both come out as the same JSON.
func preflightJSON(v types.ReportEntryValue) json.RawMessage {
	raw := []byte(v.AsJSON)
	var s string
	if json.Unmarshal(raw, &s) == nil && json.Valid([]byte(s)) {
		if b := firstByte([]byte(s)); b == '{' || b == '[' {
			raw = []byte(s)
		}
	}
	if !json.Valid(raw) {
		return nil
	}
	return json.RawMessage(raw)
}

// PreflightSummary renders the preflight entry on one line: its "summary"
// field when it has one, else its fields as "name: value".
func (m *Matrix) PreflightSummary() string {
	if len(m.Preflight) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(m.Preflight, &v); err != nil {
		return ""
	}
	if obj, ok := v.(map[string]any); ok {
		if s, ok := obj["summary"].(string); ok && s != "" {
			return summary(s, 0, 400)
		}
	}
	return truncate(flatten(v), 400)
}

func flatten(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+compact(v[k]))
		}
		return strings.Join(parts, "; ")
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, compact(e))
		}
		return strings.Join(parts, "; ")
	default:
		return compact(v)
	}
}

func compact(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return truncate(string(b), 120)
}

// count recomputes the totals from the rows.
func (m *Matrix) count() {
	m.Totals = Totals{Rows: len(m.Rows)}
	for _, r := range m.Rows {
		for _, c := range r.Cells {
			switch {
			case c.IdentityOnly:
				m.Totals.IdentityOnly++
			case c.State == CellSkipped && r.Status != StatusSkipped:
				m.Totals.NotChecked++
			}
		}
		switch r.Status {
		case StatusPassed:
			m.Totals.Passed++
		case StatusFailed:
			m.Totals.Failed++
		case StatusNotApplicable:
			m.Totals.NotApplicable++
		default:
			m.Totals.Skipped++
		}
	}
}

// WriteJSON writes m as indented JSON, the form Read takes.
func (m *Matrix) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("write matrix JSON: %w", err)
	}
	return nil
}

func hasKey[V any](m map[string]V, k string) bool { _, ok := m[k]; return ok }

// summary joins the first lines non-empty lines of msg (all when lines is 0)
// with single spaces and cuts the result to max runes (no limit when 0).
// It stops early at Gomega's "Expected" block, whose values span many lines
// and read badly on one.
func summary(msg string, lines, max int) string {
	var kept []string
	for line := range strings.Lines(msg) {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			continue
		}
		if lines > 0 && len(kept) > 0 && strings.HasPrefix(line, "Expected") {
			break
		}
		kept = append(kept, line)
		if lines > 0 && len(kept) == lines {
			break
		}
	}
	return truncate(strings.Join(kept, " "), max)
}

func truncate(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}
