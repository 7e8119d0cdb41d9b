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
	"github.com/nsverify/nsverify/verify"
)

// BeIsolatedFrom succeeds when the child's namespace of kind differs, by
// (dev, ino), from the host's. The actual value is a *Child or a
// *spawn.Result: the identity compared is the one the host read of the
// child from /proc/<pid>/ns, and the probe's own reading must agree with
// it. A *probes.Report alone is accepted only where no host can read the
// child (a probe run by a nested suite), and the message says so.
func BeIsolatedFrom(h *Host, kind spawn.Kind) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(actual any) (bool, error) {
		got, want, err := identities(actual, h, kind)
		if err != nil {
			return false, err
		}
		return got != want, nil
	}).WithPrecompiledTemplate(template("%s: expected the child's %s namespace, as the host reads it, to differ from the host's {{.Data}}, and it is the same", kind), h.NS[string(kind)])
}

// BeSharedWith succeeds when the child's namespace of kind is the host's,
// read as BeIsolatedFrom reads it.
func BeSharedWith(h *Host, kind spawn.Kind) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(actual any) (bool, error) {
		got, want, err := identities(actual, h, kind)
		if err != nil {
			return false, err
		}
		return got == want, nil
	}).WithPrecompiledTemplate(template("%s: expected the child's %s namespace, as the host reads it, to be the host's {{.Data}}, and it differs", kind), h.NS[string(kind)])
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

// identities returns the child's identity of kind as the host read it
// and the host's own. The probe's reading must agree with the host's: a
// probe that reports another namespace than the one it is in fails here,
// whatever the verdict would have been.
func identities(actual any, h *Host, kind spawn.Kind) (got, want probes.NSID, err error) {
	want, ok := h.NS[string(kind)]
	if !ok {
		return got, want, fmt.Errorf("%s: the host has no %s namespace to compare with", kind, kind)
	}
	var res *spawn.Result
	switch v := actual.(type) {
	case *Child:
		if v != nil {
			res = v.Result
		}
	case *spawn.Result:
		res = v
	case *probes.Report:
		// Only a nested suite's probe comes here: no process of this
		// suite could read it, so the probe's word is all there is.
		if v == nil {
			return got, want, fmt.Errorf("%s: no report to compare", kind)
		}
		got, ok = v.NS[string(kind)]
		if !ok {
			return got, want, fmt.Errorf("%s: the child's report has no %s identity; errors: %v", kind, kind, v.Errors)
		}
		return got, want, nil
	default:
		return got, want, fmt.Errorf("%s: want a *Child or a *spawn.Result to compare, got %T", kind, actual)
	}
	if res == nil || res.Report == nil {
		return got, want, fmt.Errorf("%s: no child to compare", kind)
	}
	got, err = hostReading(res, kind)
	return got, want, err
}

// hostReading returns the host's reading of the child's namespace of kind,
// and fails when the probe's own reading differs from it or is missing:
// the oracle nsverify check uses too (verify.Identity).
func hostReading(res *spawn.Result, kind spawn.Kind) (probes.NSID, error) {
	return verify.Identity(string(kind), res.Outside, res.Report)
}
