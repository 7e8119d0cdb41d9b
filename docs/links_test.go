package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/spawn/launchers"
	"github.com/nsverify/nsverify/suite/matrixreport"
)

// repoRoot is the repository's root, seen from this package's directory.
const repoRoot = ".."

// checkedDirs are the top-level directories whose paths, named in inline
// code, must exist. Other inline code (commands, /proc paths, reports/ that
// a run writes) is not checked.
var checkedDirs = []string{"spawn/", "probes/", "suite/", "scripts/", "docs/", "internal/", ".github/", ".ci/"}

var (
	// linkRE matches an inline Markdown link or image, [text](target).
	linkRE = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)
	// codeRE matches an inline code span.
	codeRE = regexp.MustCompile("`([^`]+)`")
	// placeholderRE matches a placeholder in a path, such as <kind>.
	placeholderRE = regexp.MustCompile(`<[^>/]*>`)
	// codePathRE matches a repository path in code or a comment: one of
	// checkedDirs, at the start of a word (so not the tail of an import
	// path), perhaps after "./".
	codePathRE = regexp.MustCompile(`(?:^|[\s"'(\x60=])(?:\./)?((?:spawn|probes|suite|scripts|docs|internal|\.github|\.ci)/[\w./<>*-]*)`)
	// headingRE matches an ATX heading.
	headingRE = regexp.MustCompile(`^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
)

// doc is one Markdown file: its path from the repository's root, its lines
// outside fenced code blocks (fenced lines are blanked, keeping numbers).
type doc struct {
	path  string
	lines []string
}

func readDoc(t *testing.T, path string) doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	lines := strings.Split(string(b), "\n")
	var fence string
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if fence == "" {
			if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
				fence = trimmed[:3]
				lines[i] = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, fence) {
			fence = ""
		}
		lines[i] = ""
	}
	return doc{path: path, lines: lines}
}

// docs returns README.md and docs/*.md.
func docs(t *testing.T) []doc {
	t.Helper()
	paths := []string{"README.md"}
	mds, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mds {
		paths = append(paths, filepath.ToSlash(filepath.Join("docs", filepath.Base(m))))
	}
	var ds []doc
	for _, p := range paths {
		ds = append(ds, readDoc(t, p))
	}
	return ds
}

// anchor returns GitHub's anchor for a heading's text: lower case, inline
// markup and punctuation dropped except '-' and '_', spaces made '-'.
func anchor(heading string) string {
	heading = linkRE.ReplaceAllStringFunc(heading, func(m string) string {
		return m[strings.Index(m, "[")+1 : strings.Index(m, "]")]
	})
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_':
			b.WriteRune(r)
		case unicode.IsLetter(r), unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of d's headings, numbering repeats as GitHub
// does (name, name-1, name-2, …).
func anchors(d doc) map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, l := range d.lines {
		m := headingRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		a := anchor(m[1])
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// exists says whether a repository path exists; a placeholder (<kind>) or
// '*' in it must match at least one file.
func exists(path string) bool {
	pattern := placeholderRE.ReplaceAllString(path, "*")
	matches, err := filepath.Glob(filepath.Join(repoRoot, filepath.FromSlash(strings.TrimSuffix(pattern, "/"))))
	return err == nil && len(matches) > 0
}

func TestLinks(t *testing.T) {
	ds := docs(t)
	byPath := map[string]doc{}
	for _, d := range ds {
		byPath[d.path] = d
	}
	for _, d := range ds {
		for i, l := range d.lines {
			for _, m := range linkRE.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, frag, _ := strings.Cut(target, "#")
				path := d.path
				if file != "" {
					path = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(d.path), file)))
					if strings.HasPrefix(path, "../") || !exists(path) {
						t.Errorf("%s:%d: link %q: %s does not exist", d.path, i+1, target, path)
						continue
					}
				}
				if frag == "" {
					continue
				}
				td, ok := byPath[path]
				if !ok {
					if !strings.HasSuffix(path, ".md") {
						t.Errorf("%s:%d: link %q: an anchor in a file that is not Markdown", d.path, i+1, target)
						continue
					}
					td = readDoc(t, path)
				}
				if !anchors(td)[frag] {
					t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", d.path, i+1, target, path, frag)
				}
			}
		}
	}
}

func TestPaths(t *testing.T) {
	for _, d := range docs(t) {
		for i, l := range d.lines {
			for _, m := range codeRE.FindAllStringSubmatch(l, -1) {
				fields := strings.Fields(m[1])
				if len(fields) == 0 {
					continue
				}
				path := fields[0]
				checked := false
				for _, dir := range checkedDirs {
					checked = checked || strings.HasPrefix(path, dir)
				}
				if checked && !exists(path) {
					t.Errorf("%s:%d: path %q does not exist", d.path, i+1, path)
				}
			}
		}
	}
}

func TestAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"Running it":                                  "running-it",
		"What root inside can do":                     "what-root-inside-can-do",
		"Joining, named namespaces and propagation":   "joining-named-namespaces-and-propagation",
		"The probe's report: privilege and ownership": "the-probes-report-privilege-and-ownership",
		"`nsreport` and snake_case":                   "nsreport-and-snake_case",
		"[Linked](x.md) heading":                      "linked-heading",
	} {
		if got := anchor(heading); got != want {
			t.Errorf("anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// codeFiles are the files besides the Markdown ones that may name paths:
// Go sources, scripts, workflows, the Vagrantfile and .ci/run.
func codeFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if name == ".git" || name == "testdata" || name == "reports" {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(name, ".go"), strings.HasSuffix(name, ".sh"), strings.HasSuffix(name, ".yml"),
			name == "Vagrantfile", name == "run" && filepath.Base(filepath.Dir(path)) == ".ci":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk the repository: %v", err)
	}
	return files
}

func TestPathsInCode(t *testing.T) {
	for _, file := range codeFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			for _, m := range codePathRE.FindAllStringSubmatch(l, -1) {
				path := strings.TrimRight(m[1], ".")
				if !exists(path) {
					t.Errorf("%s:%d: path %q does not exist", file, i+1, path)
				}
			}
		}
	}
}

var (
	// labelCallRE matches a Ginkgo label decorator in the suite, Label(…)
	// or Labels{…}; its quoted arguments are literal labels.
	labelCallRE = regexp.MustCompile(`\bLabels?[({]([^(){}]*)[)}]`)
	// quotedRE matches one quoted label.
	quotedRE = regexp.MustCompile(`"([^"]+)"`)
)

// TestLabelsAreDocumented checks that the README's label table names every
// label the suite's specs carry, and no label they do not: the table is the
// one place that says what a label marks.
func TestLabelsAreDocumented(t *testing.T) {
	readme := readDoc(t, "README.md")
	documented := map[string]int{}
	inTable := false
	for i, l := range readme.lines {
		if m := headingRE.FindStringSubmatch(l); m != nil {
			inTable = m[1] == "Labels"
			continue
		}
		if !inTable || !strings.HasPrefix(l, "| `") {
			continue
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(l, "| "), " |")
		for _, m := range codeRE.FindAllStringSubmatch(cell, -1) {
			documented[m[1]] = i + 1
		}
	}
	if len(documented) == 0 {
		t.Fatal("README.md has no label table under a Labels heading")
	}
	// The suite makes the ns:<kind> labels of the matrix and the
	// walk-through from the kinds, and the matrix's launcher:<name> labels
	// from the launchers, so each of those is used.
	used := map[string]bool{"ns:<kind>": true, matrixreport.LauncherLabelPrefix + "<name>": true}
	for _, k := range spawn.All.Kinds() {
		used["ns:"+string(k)] = true
	}
	for _, name := range launchers.Names() {
		used[matrixreport.LauncherLabelPrefix+name] = true
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "suite", "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range labelCallRE.FindAllStringSubmatch(string(b), -1) {
			for _, q := range quotedRE.FindAllStringSubmatch(call[1], -1) {
				used[q[1]] = true
				if _, ok := documented[q[1]]; !ok {
					t.Errorf("%s: label %q is not in README.md's label table", file, q[1])
				}
			}
		}
	}
	for label, line := range documented {
		if !used[label] {
			t.Errorf("README.md:%d: label %q is in the table, and no spec in suite/ carries it", line, label)
		}
	}
}
