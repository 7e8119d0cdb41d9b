package matrixreport

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/spawn/launchers"
)

// ByLauncher reports whether ms are the matrices of one machine's launchers,
// one each, which CombineLaunchers puts side by side; otherwise they are
// machines, for Combine.
func ByLauncher(ms []*Matrix) bool {
	if len(ms) < 2 {
		return false
	}
	seen := map[string]bool{}
	for _, m := range ms {
		name := launcherName(m)
		if m.Name != ms[0].Name || seen[name] {
			return false
		}
		seen[name] = true
	}
	return true
}

// launcherOrder places a launcher as package launchers lists them, any
// other after.
func launcherOrder(name string) int {
	if i := slices.Index(launchers.Names(), name); i >= 0 {
		return i
	}
	return len(launchers.Names())
}

func launcherName(m *Matrix) string {
	if m.Launcher == "" {
		return BuiltinLauncher
	}
	return m.Launcher
}

// CombineLaunchers writes the matrices of one machine's launchers side by
// side: which sandbox isolates what on this kernel. A line per launcher
// gives its version and totals; then one row per set, a column per
// launcher, each cell a letter per kind (or n/a with the launcher's
// reason). A cell that differs from the built-in launcher's is bold: there
// the sandbox does something the kernel's own clone does not.
func CombineLaunchers(w io.Writer, ms []*Matrix) error {
	if len(ms) == 0 {
		return fmt.Errorf("combine launchers: none given")
	}
	kinds := ms[0].Kinds
	for _, m := range ms[1:] {
		if !slices.Equal(m.Kinds, kinds) {
			return fmt.Errorf("combine launchers: %s has the kinds %v and %s has %v; rewrite both with the same nsreport", launcherName(ms[0]), kinds, launcherName(m), m.Kinds)
		}
	}
	// Launchers in the order spawn knows them: the built-in one, the
	// reference, first.
	ms = slices.Clone(ms)
	slices.SortStableFunc(ms, func(a, b *Matrix) int { return launcherOrder(launcherName(a)) - launcherOrder(launcherName(b)) })
	ref := 0

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "## nsverify launchers: %s\n\n", inline(ms[0].Name))
	fmt.Fprintf(bw, "- kernel: %s\n", ms[0].kernelText())
	if s := ms[0].PreflightSummary(); s != "" {
		fmt.Fprintf(bw, "- preflight: %s\n", inline(s))
	}
	fmt.Fprintln(bw)
	writeRow(bw, []string{"launcher", "sets", "passed", "failed", "n/a", "skipped", "(id) cells"})
	writeRow(bw, slices.Repeat([]string{"---"}, 7))
	for _, m := range ms {
		t := m.Totals
		writeRow(bw, []string{m.launcherText(), strconv.Itoa(t.Rows), strconv.Itoa(t.Passed), strconv.Itoa(t.Failed), strconv.Itoa(t.NotApplicable), strconv.Itoa(t.Skipped), strconv.Itoa(t.IdentityOnly)})
	}
	kindNames := make([]string, len(kinds))
	for i, k := range kinds {
		kindNames[i] = string(k)
	}
	fmt.Fprintf(bw, "\nEach cell gives the kinds %s in that order: I isolated, S shared, i and s the same judged by the identity read by the host alone, - skipped (not checked), F failed; n/a: the launcher cannot express the set; [n] points to a note. **Bold**: unlike the built-in launcher's.\n\n", strings.Join(kindNames, " "))

	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = launcherName(m)
	}
	bySet, present, err := indexRows(ms, names)
	if err != nil {
		return fmt.Errorf("combine launchers: %w", err)
	}
	header := []string{"set"}
	for _, m := range ms {
		header = append(header, inline(launcherName(m)))
	}
	writeRow(bw, header)
	writeRow(bw, slices.Repeat([]string{"---"}, len(header)))
	var n notes
	for _, set := range spawn.PowerSet(spawn.All) {
		if !present[set] {
			continue
		}
		name := set.String()
		cells := []string{"`" + name + "`"}
		refRow, refOK := bySet[ref][name]
		for i := range ms {
			r, ok := bySet[i][name]
			if !ok {
				cells = append(cells, "not in the report")
				continue
			}
			var text string
			if r.Status == StatusNotApplicable {
				text = fmt.Sprintf("n/a [%d]", n.ref(r.Note))
			} else {
				text = compactCell(r, kinds, compactCode(r, kinds), &n)
			}
			if i != ref && refOK && r.Status != StatusNotApplicable && launcherCode(r, kinds) != launcherCode(refRow, kinds) {
				text = "**" + strings.ReplaceAll(text, "**", "") + "**"
			}
			cells = append(cells, text)
		}
		writeRow(bw, cells)
	}
	n.write(bw)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write launcher Markdown: %w", err)
	}
	return nil
}

// launcherCode is what two launchers' cells are compared by: the letters
// and the outcome.
func launcherCode(r Row, kinds []spawn.Kind) string {
	return compactCode(r, kinds) + " " + string(r.Status)
}
