package testreq

import "testing"

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
