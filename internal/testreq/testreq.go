package testreq

import (
	"sync"
	"testing"
)

// Require returns a function that skips t with reason unless ok, to be
// given the result of one of spawn.Privilege's or spawn.Features' checks,
// whose reason names the capability, the namespace it is needed over and
// the remedy: a test asks for the capability it needs, not for euid 0.
func Require(t testing.TB) func(ok bool, reason string) {
	t.Helper()
	return func(ok bool, reason string) {
		t.Helper()
		if !ok {
			t.Skip(reason)
		}
	}
}

// Preflight answers whether this machine lets this process start a child
// in the new namespaces that flags name (CLONE_NEW* bits, as
// SysProcAttr.Cloneflags holds them) and, when it does not, why, naming
// the kind, the cause and the remedy. spawn's preflight is the one every
// test of this module takes (spawn.Detect(probe).Supports of the set
// those flags make).
type Preflight func(flags uintptr) (ok bool, reason string)

var preflight struct {
	sync.Mutex
	answer Preflight
}

// UsePreflight makes p the preflight that Clone asks, for the rest of the
// test binary. A TestMain calls it once, before any test runs.
func UsePreflight(p Preflight) {
	preflight.Lock()
	defer preflight.Unlock()
	preflight.answer = p
}

// Clone skips t, with the preflight's reason, unless this machine lets
// this process start a child in the new namespaces that flags name. Call
// it before every clone a test makes, in the helper that makes it, so that
// a test cannot forget to. A test binary that installed no preflight fails the test: a skip decided
// by nothing would be as wrong as a clone decided by nothing.
func Clone(t testing.TB, flags uintptr) {
	t.Helper()
	preflight.Lock()
	answer := preflight.answer
	preflight.Unlock()
	if answer == nil {
		t.Fatal("testreq.Clone: this test binary installed no preflight; call testreq.UsePreflight in TestMain with spawn's")
	}
	if ok, reason := answer(flags); !ok {
		t.Skip(reason)
	}
}
