//go:build linux

package suite

import (
	"fmt"
	"sync"
	gotemplate "text/template"

	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// BeIsolatedFrom succeeds when the report's namespace of kind differs, by
// (dev, ino), from the host's.
func BeIsolatedFrom(h *Host, kind spawn.Kind) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(r *probes.Report) (bool, error) {
		got, want, err := identities(r, h, kind)
		if err != nil {
			return false, err
		}
		return got != want, nil
	}).WithPrecompiledTemplate(template("%s: expected the child's %s namespace to differ from the host's {{.Data}}, and it is the same:\n{{format .Actual.NS 1}}", kind), h.NS[string(kind)])
}

// BeSharedWith succeeds when the report's namespace of kind is the host's.
func BeSharedWith(h *Host, kind spawn.Kind) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(r *probes.Report) (bool, error) {
		got, want, err := identities(r, h, kind)
		if err != nil {
			return false, err
		}
		return got == want, nil
	}).WithPrecompiledTemplate(template("%s: expected the child's %s namespace to be the host's {{.Data}}, and it differs:\n{{format .Actual.NS 1}}", kind), h.NS[string(kind)])
}

// templates caches the parsed failure messages: parsing one costs more
// than the match itself, and the matrix matches sixteen times an entry.
var templates sync.Map

// template returns the parsed failure message format with kind filled in
// (format takes kind twice).
func template(format string, kind spawn.Kind) *gotemplate.Template {
	text := fmt.Sprintf(format, kind, kind)
	if t, ok := templates.Load(text); ok {
		return t.(*gotemplate.Template)
	}
	t, err := gcustom.ParseTemplate(text)
	if err != nil {
		panic(err)
	}
	templates.Store(text, t)
	return t
}

func identities(r *probes.Report, h *Host, kind spawn.Kind) (got, want probes.NSID, err error) {
	if r == nil {
		return got, want, fmt.Errorf("%s: no report to compare", kind)
	}
	want, ok := h.NS[string(kind)]
	if !ok {
		return got, want, fmt.Errorf("%s: the host has no %s namespace to compare with", kind, kind)
	}
	got, ok = r.NS[string(kind)]
	if !ok {
		return got, want, fmt.Errorf("%s: the child's report has no %s identity; errors: %v", kind, kind, r.Errors)
	}
	return got, want, nil
}
