package check

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/nsverify/nsverify/probes"
)

// WriteJSON writes the outcome as indented JSON, for machines.
func WriteJSON(w io.Writer, out *Outcome) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write outcome as JSON: %w", err)
	}
	return nil
}

// row is one kind's line of the table, in the order of the columns.
func row(v KindVerdict) []string {
	expected := v.Expected
	if expected == "" {
		expected = "-"
	}
	host := v.Host
	switch {
	case host == "":
		host = "not read"
	case v.HostID != "":
		host += " " + v.HostID
	}
	canaries := strings.Join(v.Canaries, ", ")
	if canaries == "" {
		canaries = "-"
	}
	return []string{v.Kind, expected, host, v.Probe, canaries, v.Verdict}
}

var columns = []string{"KIND", "EXPECTED", "HOST READS", "PROBE", "CANARIES", "VERDICT"}

// WriteTable writes the outcome for a terminal: the table of kinds, why
// each differing kind differs, what root inside may do, what could not be
// read, and the verdict line.
func WriteTable(w io.Writer, out *Outcome) error {
	p := &printer{w: w}
	p.f("nsverify check: %s\n", strings.Join(out.Command, " "))
	p.f("  probe: host pid %d, uid %d; the command exited with %d after %s\n\n", out.HostPID, out.ProbeUID, out.ExitStatus, out.Duration.Round(1e6))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p.w = tw
	p.f("  %s\n", strings.Join(columns, "\t"))
	for _, v := range out.Kinds {
		p.f("  %s\n", strings.Join(row(v), "\t"))
	}
	if p.err == nil {
		p.err = tw.Flush()
	}
	p.w = w
	p.list("\nwhy it differs", failures(out))
	p.list("\nnotes", notes(out))
	p.f("\nroot inside the sandbox, as the host reads it\n")
	for _, l := range rootLines(out.Outside, out.Self, userOwn(out)) {
		p.f("  %s\n", l)
	}
	for _, f := range out.Checks {
		mark := "ok"
		if !f.OK {
			mark = "DIFFERS"
		}
		p.f("  %-13s expected %s, found %s: %s\n", f.What, f.Expected, f.Found, mark)
	}
	p.list("\nnot read", out.Unread)
	p.list("\nproblems", out.Problems)
	p.f("\n%s (exit %d)\n", out.Verdict, out.ExitCode)
	return p.err
}

// WriteMarkdown writes the outcome as Markdown, for job summaries and
// issues.
func WriteMarkdown(w io.Writer, out *Outcome) error {
	p := &printer{w: w}
	p.f("## nsverify check: %s (exit %d)\n\n", out.Verdict, out.ExitCode)
	p.f("```\n%s\n```\n\n", strings.Join(out.Command, " "))
	p.f("| %s |\n|%s\n", strings.Join(columns, " | "), strings.Repeat(" --- |", len(columns)))
	for _, v := range out.Kinds {
		cells := row(v)
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		p.f("| %s |\n", strings.Join(cells, " | "))
	}
	p.mdList("Why it differs", failures(out))
	p.mdList("Notes", notes(out))
	root := rootLines(out.Outside, out.Self, userOwn(out))
	for _, f := range out.Checks {
		mark := "ok"
		if !f.OK {
			mark = "**differs**"
		}
		root = append(root, fmt.Sprintf("%s: expected %s, found %s: %s", f.What, f.Expected, f.Found, mark))
	}
	p.mdList("Root inside the sandbox, as the host reads it", root)
	p.mdList("Not read", out.Unread)
	p.mdList("Problems", out.Problems)
	return p.err
}

// rootLines say what root inside may do, from the host's reading of the
// probe's status and maps, beside nsverify's own (self).
func rootLines(o, self *probes.Outside, userOwn bool) []string {
	if o == nil {
		return []string{"not read: the host did not read the probe"}
	}
	lines := []string{fmt.Sprintf("uid %d, gid %d (as the host maps them); uid_map %s; gid_map %s", o.UID, o.GID, formatRanges(o.UIDMap), formatRanges(o.GIDMap))}
	c := o.Caps
	if c == nil {
		return append(lines, "capabilities, seccomp, no_new_privs: not read: "+statusError(o))
	}
	var hostBnd []string
	if self != nil && self.Caps != nil {
		hostBnd = self.Caps.Bnd
	}
	lines = append(lines,
		"effective caps: "+formatCaps(c.Eff, c.Bnd, "its bounding set"),
		"bounding caps:  "+formatCaps(c.Bnd, hostBnd, "nsverify's own"),
	)
	if len(c.Amb) > 0 {
		lines = append(lines, "ambient caps:   "+formatCaps(c.Amb, nil, ""))
	}
	if userOwn && len(c.Eff) > 0 {
		lines = append(lines, "                (held over the sandbox's own user namespace: they give nothing over the host's namespaces)")
	}
	nnp := "not printed by this kernel"
	if c.NoNewPrivs != nil {
		nnp = fmt.Sprint(*c.NoNewPrivs)
	}
	seccomp := c.Seccomp
	if seccomp == "" {
		seccomp = "not printed (a kernel built without seccomp)"
	}
	if c.SeccompFilters != nil {
		seccomp += fmt.Sprintf(", %d filters", *c.SeccompFilters)
	}
	lsm := c.LSM
	if lsm == "" {
		lsm = "none (no LSM labels this process)"
	}
	return append(lines, "no_new_privs:   "+nnp, "seccomp:        "+seccomp, "LSM label:      "+lsm)
}

// formatCaps lists caps, or, where there are many, says how they stand
// to ref (what refName holds): the same, or all of it but a few.
func formatCaps(caps, ref []string, refName string) string {
	if len(caps) == 0 {
		return "none"
	}
	if len(caps) <= 8 || ref == nil {
		return strings.Join(caps, " ")
	}
	var extra, missing []string
	for _, c := range caps {
		if !slices.Contains(ref, c) {
			extra = append(extra, c)
		}
	}
	for _, c := range ref {
		if !slices.Contains(caps, c) {
			missing = append(missing, c)
		}
	}
	switch {
	case len(extra) > 0 && len(missing) == 0 && len(extra) <= 8:
		return fmt.Sprintf("%d, all of %s and %s", len(caps), refName, strings.Join(extra, " "))
	case len(extra) > 0 || len(missing) > 8:
		return fmt.Sprintf("%d: %s", len(caps), strings.Join(caps, " "))
	case len(missing) == 0:
		return fmt.Sprintf("%d, all of %s", len(caps), refName)
	}
	return fmt.Sprintf("%d, all of %s but %s", len(caps), refName, strings.Join(missing, " "))
}

func formatRanges(rs []probes.IDRange) string {
	if len(rs) == 0 {
		return "empty"
	}
	// As the kernel prints them: inside, outside, length.
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%d %d %d", r[0], r[1], r[2])
	}
	return strings.Join(parts, ", ")
}

// userOwn reports whether the host read the probe's user namespace as its
// own.
func userOwn(out *Outcome) bool {
	for _, v := range out.Kinds {
		if v.Kind == "user" {
			return v.Host == "own"
		}
	}
	return false
}

func failures(out *Outcome) []string {
	var s []string
	for _, v := range out.Kinds {
		s = append(s, v.Failures...)
	}
	return s
}

func notes(out *Outcome) []string {
	s := append([]string{}, out.Notes...)
	for _, v := range out.Kinds {
		for _, n := range v.Notes {
			if !strings.HasPrefix(n, v.Kind+":") {
				n = v.Kind + ": " + n
			}
			s = append(s, n)
		}
	}
	return s
}

// printer keeps the first write error, so that rendering reads as text.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) list(title string, items []string) {
	if len(items) == 0 {
		return
	}
	p.f("%s\n", title)
	for _, it := range items {
		p.f("  - %s\n", it)
	}
}

func (p *printer) mdList(title string, items []string) {
	if len(items) == 0 {
		return
	}
	p.f("\n### %s\n\n", title)
	for _, it := range items {
		p.f("- %s\n", strings.ReplaceAll(it, "\n", " "))
	}
}
