package matrixreport

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/spawn"
)

// launcherMatrix is a matrix of one row per set given, each passed with
// its kinds isolated, or n/a when the note is not empty.
func launcherMatrix(launcher string, rows map[string]string) *Matrix {
	m := &Matrix{Schema: Schema, Name: "box", Launcher: launcher, Kinds: spawn.All.Kinds()}
	for _, set := range spawn.PowerSet(spawn.SetOf(spawn.UTS, spawn.MNT)) {
		note, ok := rows[set.String()]
		if !ok {
			continue
		}
		r := Row{Set: set.String(), Status: StatusPassed, Cells: map[spawn.Kind]Cell{}}
		for _, k := range spawn.All.Kinds() {
			switch {
			case note != "" && note != "shared uts":
				r.Status, r.Note = StatusNotApplicable, note
				r.Cells[k] = Cell{State: CellNotApplicable, Note: note}
			case set.Has(k) && (k != spawn.UTS || note != "shared uts"):
				r.Cells[k] = Cell{State: CellIsolated}
			default:
				r.Cells[k] = Cell{State: CellShared}
			}
		}
		m.Rows = append(m.Rows, r)
	}
	m.count()
	return m
}

func TestCombineLaunchers(t *testing.T) {
	builtin := launcherMatrix("go", map[string]string{"uts": "", "mnt": "", "uts+mnt": ""})
	bwrap := launcherMatrix("bwrap", map[string]string{"uts": "bwrap always makes a mount namespace", "mnt": "", "uts+mnt": "shared uts"})
	bwrap.LauncherVersion = "bubblewrap 0.8.0"
	ms := []*Matrix{bwrap, builtin}
	if !ByLauncher(ms) {
		t.Fatal("one machine's go and bwrap are not launchers side by side")
	}
	var b bytes.Buffer
	if err := CombineLaunchers(&b, ms); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| set | go | bwrap |",
		"| `uts` | `I S S S S S S S` | n/a [1] |",
		"| `mnt` | `S S S I S S S S` | `S S S I S S S S` |",
		// bwrap shares uts where the built-in launcher isolates it: bold.
		"| `uts+mnt` | `I S S I S S S S` | **`S S S I S S S S`** |",
		"1. bwrap always makes a mount namespace",
		"| `bwrap` (bubblewrap 0.8.0) | 3 | 2 | 0 | 1 | 0 | 0 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("combined table lacks %q:\n%s", want, out)
		}
	}
	other := launcherMatrix("go", map[string]string{"uts": ""})
	other.Name = "other box"
	if ByLauncher([]*Matrix{builtin, other}) {
		t.Error("two machines taken for one machine's launchers")
	}
}
