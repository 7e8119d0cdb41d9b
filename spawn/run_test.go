package spawn

import "testing"

func TestTimeNSOnExecFromLinux62(t *testing.T) {
	for _, c := range []struct {
		rel  string
		want bool
	}{
		{"6.2.0", true},
		{"6.18.4", true},
		{"6.1.0-18-amd64", false},
		{"7.0", true},
		{"6.0.19", false},
		{"5.15.0-105-generic", false},
		{"3.10.0-1160.el7.x86_64", false},
		{"", false},
		{"unknown", false},
	} {
		if got := TimeNSOnExec(c.rel); got != c.want {
			t.Errorf("TimeNSOnExec(%q) = %v, want %v", c.rel, got, c.want)
		}
	}
}
