//go:build !linux

package spawn

import (
	"errors"
	"strings"
	"testing"
)

func TestRunAndDetectSayNamespacesAreLinuxOnly(t *testing.T) {
	const want = "spawn: namespaces are Linux-only; run nsverify on Linux"
	_, err := Run(t.Context(), Options{Probe: "/usr/libexec/nsprobe", Set: SetOf(UTS)})
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), want) {
		t.Errorf("Run = %v, want an error wrapping errors.ErrUnsupported that says %q", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Set != SetOf(UTS) {
		t.Errorf("Run = %v, want an *Error naming the set", err)
	}

	f := Detect("/usr/libexec/nsprobe")
	if f.Error != want {
		t.Errorf("Detect: error %q, want %q", f.Error, want)
	}
	if len(f.Kinds) != len(kinds) {
		t.Fatalf("Detect: %d kinds, want %d", len(f.Kinds), len(kinds))
	}
	for _, ks := range f.Kinds {
		if ks.Supported() || !strings.Contains(ks.Reason, want) {
			t.Errorf("%s: supported=%v, reason %q", ks.Kind, ks.Supported(), ks.Reason)
		}
	}
	if ok, reason := f.Supports(None); ok || !strings.Contains(reason, want) {
		t.Errorf("Supports(none) = %v, %q", ok, reason)
	}
}
