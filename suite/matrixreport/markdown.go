package matrixreport

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/nsverify/nsverify/spawn"
)

// notes numbers footnotes: identical texts share a number, so a reason
// that skips 128 rows is written once.
type notes struct {
	index map[string]int
	texts []string
}

func (n *notes) ref(text string) int {
	if n.index == nil {
		n.index = map[string]int{}
	}
	if i, ok := n.index[text]; ok {
		return i
	}
	n.texts = append(n.texts, text)
	n.index[text] = len(n.texts)
	return len(n.texts)
}

func (n *notes) write(w io.Writer) {
	if len(n.texts) == 0 {
		return
	}
	fmt.Fprintf(w, "\nNotes:\n\n")
	for i, t := range n.texts {
		fmt.Fprintf(w, "%d. %s\n", i+1, inline(t))
	}
}

// rowNote is what a row's status cell points to: the skip reason, or the
// start of the failure message.
func rowNote(r Row) string {
	if r.Status == StatusFailed {
		return summary(r.Note, 2, 240)
	}
	return r.Note
}

// WriteMarkdown writes m as a heading, the kernel, the preflight summary and
// the totals, then one table row per set and one column per kind, with
// numbered notes for skip reasons and failures.
func (m *Matrix) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	title := "nsverify matrix"
	if m.Name != "" {
		title += ": " + m.Name
	}
	fmt.Fprintf(bw, "## %s\n\n", inline(title))
	fmt.Fprintf(bw, "- launcher: %s\n", m.launcherText())
	fmt.Fprintf(bw, "- kernel: %s\n", m.kernelText())
	if s := m.PreflightSummary(); s != "" {
		fmt.Fprintf(bw, "- preflight: %s\n", inline(s))
	}
	fmt.Fprintf(bw, "- %s\n", m.totalsText())
	fmt.Fprintf(bw, "- %s\n", m.cellsText())
	if failed := m.failedText(); failed != "" {
		fmt.Fprintf(bw, "- failed: %s\n", failed)
	}
	fmt.Fprintln(bw)

	var n notes
	header := []string{"set"}
	for _, k := range m.Kinds {
		header = append(header, string(k))
	}
	header = append(header, "caps", "status")
	writeRow(bw, header)
	writeRow(bw, slices.Repeat([]string{"---"}, len(header)))
	for _, r := range m.Rows {
		cells := []string{"`" + r.Set + "`"}
		for _, k := range m.Kinds {
			c, ok := r.Cells[k]
			if !ok {
				cells = append(cells, "")
				continue
			}
			text := string(c.State)
			if c.State == CellFailed {
				text = "**FAILED**"
			}
			if c.IdentityOnly {
				text += " (id)"
			}
			if c.Note != "" {
				text += fmt.Sprintf(" [%d]", n.ref(c.Note))
			}
			cells = append(cells, text)
		}
		cells = append(cells, capsText(r))
		// A skipped row's cells carry its reason already.
		status := string(r.Status)
		if r.Status == StatusFailed {
			status = fmt.Sprintf("**failed** [%d]", n.ref(rowNote(r)))
		}
		if r.GinkgoState != "" && r.GinkgoState != string(r.Status) {
			status += " (" + r.GinkgoState + ")"
		}
		cells = append(cells, status)
		writeRow(bw, cells)
	}
	n.write(bw)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write matrix Markdown: %w", err)
	}
	return nil
}

// capsText is a row's caps cell: the summary, or "-" when the row has no
// child report with capabilities.
func capsText(r Row) string {
	if r.Caps == "" {
		return "-"
	}
	return inline(r.Caps)
}

// launcherText names the launcher with its version; a matrix from before
// launchers is the built-in one's.
func (m *Matrix) launcherText() string {
	name := m.Launcher
	if name == "" {
		name = BuiltinLauncher
	}
	text := "`" + name + "`"
	if name == BuiltinLauncher {
		text += " (built in: clone(2) with the set's flags)"
	} else if m.LauncherVersion != "" {
		text += " (" + inline(m.LauncherVersion) + ")"
	}
	return text
}

func (m *Matrix) kernelText() string {
	if m.Kernel == "" {
		return "unknown (the report has no \"kernel\" entry)"
	}
	text := "`" + m.Kernel + "`"
	if m.KernelSource != "" && m.KernelSource != "report entry "+KernelEntry {
		text += " (" + inline(m.KernelSource) + ")"
	}
	return text
}

func (m *Matrix) preflightText() string {
	if s := m.PreflightSummary(); s != "" {
		return inline(s)
	}
	return "none"
}

// failedText lists the failed sets, each with the kinds it failed on, so a
// reader need not scan 256 rows for them.
func (m *Matrix) failedText() string {
	var parts []string
	for _, r := range m.Rows {
		if r.Status != StatusFailed {
			continue
		}
		var kinds []string
		for _, k := range m.Kinds {
			if r.Cells[k].State == CellFailed {
				kinds = append(kinds, string(k))
			}
		}
		part := "`" + r.Set + "`"
		if len(kinds) > 0 {
			part += " (" + strings.Join(kinds, ", ") + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// cellsText counts the cells that claim less than both oracles: those
// judged by the identity read by the host alone and those not checked in a row that ran.
func (m *Matrix) cellsText() string {
	t := m.Totals
	return fmt.Sprintf("cells judged by the identity read by the host alone (id): %d; cells not checked in rows that ran: %d", t.IdentityOnly, t.NotChecked)
}

func (m *Matrix) totalsText() string {
	t := m.Totals
	text := fmt.Sprintf("%d sets: %d passed, %d failed, %d skipped", t.Rows, t.Passed, t.Failed, t.Skipped)
	if t.NotApplicable > 0 {
		text += fmt.Sprintf(", %d n/a (the launcher cannot express them)", t.NotApplicable)
	}
	return text
}

// Combine writes the matrices side by side: a summary line per machine, then
// one row per set with a compact cell per machine (a letter per kind) and a
// last column that says whether the machines agree.
func Combine(w io.Writer, ms []*Matrix) error {
	if len(ms) == 0 {
		return fmt.Errorf("combine matrices: none given")
	}
	names := uniqueNames(ms)
	kinds := ms[0].Kinds
	for i, m := range ms[1:] {
		if !slices.Equal(m.Kinds, kinds) {
			return fmt.Errorf("combine matrices: %s has the kinds %v and %s has %v; rewrite both with the same nsreport", names[0], kinds, names[i+1], m.Kinds)
		}
	}

	bySet, order, err := indexRows(ms, names)
	if err != nil {
		return fmt.Errorf("combine matrices: %w", err)
	}

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "## nsverify matrix: %s\n\n", inline(strings.Join(names, ", ")))
	writeRow(bw, []string{"machine", "kernel", "sets", "passed", "failed", "skipped", "(id) cells", "preflight"})
	writeRow(bw, slices.Repeat([]string{"---"}, 8))
	for i, m := range ms {
		t := m.Totals
		writeRow(bw, []string{inline(names[i]), m.kernelText(), strconv.Itoa(t.Rows), strconv.Itoa(t.Passed), strconv.Itoa(t.Failed), strconv.Itoa(t.Skipped), strconv.Itoa(t.IdentityOnly), m.preflightText()})
	}
	kindNames := make([]string, len(kinds))
	for i, k := range kinds {
		kindNames[i] = string(k)
	}
	fmt.Fprintf(bw, "\nEach cell gives the kinds %s in that order: I isolated, S shared, i and s the same judged by the identity read by the host alone, - skipped (not checked), F failed; [n] points to a note.\n\n", strings.Join(kindNames, " "))

	var n notes
	header := []string{"set"}
	for _, name := range names {
		header = append(header, inline(name))
	}
	header = append(header, "machines agree")
	writeRow(bw, header)
	writeRow(bw, slices.Repeat([]string{"---"}, len(header)))
	for _, set := range spawn.PowerSet(spawn.All) {
		if !order[set] {
			continue
		}
		name := set.String()
		cells := []string{"`" + name + "`"}
		var codes []string
		for i := range ms {
			r, ok := bySet[i][name]
			if !ok {
				cells = append(cells, "not in the report")
				codes = append(codes, "")
				continue
			}
			code := compactCode(r, kinds)
			codes = append(codes, code+string(r.Status))
			cells = append(cells, compactCell(r, kinds, code, &n))
		}
		agree := "yes"
		for _, c := range codes[1:] {
			if c != codes[0] {
				agree = "**no**"
			}
		}
		cells = append(cells, agree)
		writeRow(bw, cells)
	}
	n.write(bw)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write combined Markdown: %w", err)
	}
	return nil
}

// indexRows indexes each matrix's rows by set (as spawn prints it), and
// says which sets any of them has; names name the matrices in errors.
func indexRows(ms []*Matrix, names []string) (bySet []map[string]Row, present map[spawn.Set]bool, err error) {
	bySet = make([]map[string]Row, len(ms))
	present = map[spawn.Set]bool{}
	for i, m := range ms {
		bySet[i] = make(map[string]Row, len(m.Rows))
		for _, r := range m.Rows {
			set, err := spawn.ParseSet(r.Set)
			if err != nil {
				return nil, nil, fmt.Errorf("row of %s: %w", names[i], err)
			}
			bySet[i][set.String()] = r
			present[set] = true
		}
	}
	return bySet, present, nil
}

// compactCode is a row as one letter per kind.
func compactCode(r Row, kinds []spawn.Kind) string {
	letters := make([]string, len(kinds))
	for i, k := range kinds {
		c := r.Cells[k]
		switch c.State {
		case CellIsolated:
			letters[i] = "I"
		case CellShared:
			letters[i] = "S"
		case CellFailed:
			letters[i] = "F"
		default:
			letters[i] = "-"
		}
		if c.IdentityOnly {
			letters[i] = strings.ToLower(letters[i])
		}
	}
	return strings.Join(letters, " ")
}

func compactCell(r Row, kinds []spawn.Kind, code string, n *notes) string {
	text := "`" + code + "`"
	if r.Status == StatusFailed {
		text += " **failed**"
	}
	// The notes of the row, each once.
	var refs []int
	add := func(note string) {
		if note == "" {
			return
		}
		if i := n.ref(note); !slices.Contains(refs, i) {
			refs = append(refs, i)
		}
	}
	for _, k := range kinds {
		add(r.Cells[k].Note)
	}
	add(rowNote(r))
	if len(refs) > 0 {
		slices.Sort(refs)
		parts := make([]string, len(refs))
		for i, ref := range refs {
			parts[i] = strconv.Itoa(ref)
		}
		text += " [" + strings.Join(parts, ",") + "]"
	}
	return text
}

// uniqueNames names each matrix for a column: its own name, or "machine N"
// when it has none, with a suffix when two share one.
func uniqueNames(ms []*Matrix) []string {
	names := make([]string, len(ms))
	seen := map[string]int{}
	for i, m := range ms {
		name := m.Name
		if name == "" {
			name = fmt.Sprintf("machine %d", i+1)
		}
		seen[name]++
		if seen[name] > 1 {
			name = fmt.Sprintf("%s (%d)", name, seen[name])
		}
		names[i] = name
	}
	return names
}

func writeRow(w io.Writer, cells []string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

// inline makes text safe inside a Markdown table cell or list item: one
// line, no pipe that would split the cell, no angle bracket that would read
// as HTML.
var inlineReplacer = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\r", " ", "\n", " ")

func inline(s string) string { return inlineReplacer.Replace(s) }
