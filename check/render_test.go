package check

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/suite/canary"
)

func judged(t *testing.T) *Outcome {
	t.Helper()
	self, probe := readings("pid")
	reached := canary.Result{Name: probes.CanaryTCP, Kind: "net", Planted: true, Reached: true, By: canary.ByHost, Host: "1 connection"}
	out := outcome(expectKinds(t, "net,pid"), self, probe, probe, reached)
	out.Command = []string{"unshare", "-p", "--fork", "{probe}", "{args}"}
	no := false
	out.Outside.Caps = &probes.Caps{Eff: []string{"CAP_KILL"}, Bnd: []string{"CAP_KILL"}, Seccomp: "disabled", NoNewPrivs: &no}
	judge(out)
	return out
}

func TestTableShowsEveryKindAndWhyOneDiffers(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, judged(t)); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{"KIND", "HOST READS", "net-tcp reached", "why it differs", "net: expected the sandbox's own net namespace", "seccomp:        disabled", "differs: net (exit 1)"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	for _, k := range kinds {
		if !strings.Contains(text, "\n  "+k+" ") {
			t.Errorf("table has no row for %s:\n%s", k, text)
		}
	}
}

func TestMarkdownHasATableRowPerKind(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, judged(t)); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| KIND") && !strings.HasPrefix(l, "| ---") {
			rows++
		}
	}
	if rows != len(kinds) {
		t.Errorf("%d rows, want %d:\n%s", rows, len(kinds), b.String())
	}
	if !strings.Contains(b.String(), "## nsverify check: differs: net (exit 1)") {
		t.Errorf("no verdict heading:\n%s", b.String())
	}
}

func TestJSONCarriesTheVerdicts(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, judged(t)); err != nil {
		t.Fatal(err)
	}
	var back Outcome
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.ExitCode != 1 || len(back.Kinds) != len(kinds) || verdictOf(&back, "net").Verdict != Differs {
		t.Errorf("decoded %+v", back)
	}
}

func TestFormatCaps(t *testing.T) {
	many := []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"}
	for _, tc := range []struct {
		caps, ref []string
		want      string
	}{
		{nil, many, "none"},
		{[]string{"A"}, many, "A"},
		{many, many, "10, all of R"},
		{many[:9], many, "9, all of R but J"},
		{append(append([]string{}, many...), "K"), many, "11, all of R and K"},
	} {
		if got := formatCaps(tc.caps, tc.ref, "R"); got != tc.want {
			t.Errorf("formatCaps(%v): %q, want %q", tc.caps, got, tc.want)
		}
	}
}
