package exitcode

import "testing"

func TestEveryCodeIsDescribed(t *testing.T) {
	seen := map[string]int{}
	for _, c := range []int{Verified, Differs, CouldNotVerify, NothingVerified} {
		d := Describe(c)
		if d == Describe(-1) {
			t.Errorf("code %d has no description", c)
		}
		if prev, ok := seen[d]; ok {
			t.Errorf("codes %d and %d share the description %q", prev, c, d)
		}
		seen[d] = c
	}
}
