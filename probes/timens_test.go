package probes

import (
	"strings"
	"testing"
	"time"
)

func TestFormatTimensOffsetsKeepsNanosecondsNonNegative(t *testing.T) {
	cases := []struct {
		mono, boot time.Duration
		want       string
	}{
		{168 * time.Hour, 216 * time.Hour, "monotonic 604800 0\nboottime 777600 0\n"},
		{0, 0, "monotonic 0 0\nboottime 0 0\n"},
		{1500 * time.Millisecond, -1500 * time.Millisecond, "monotonic 1 500000000\nboottime -2 500000000\n"},
	}
	for _, c := range cases {
		got := FormatTimensOffsets(c.mono, c.boot)
		if got != c.want {
			t.Errorf("FormatTimensOffsets(%s, %s) = %q, want %q", c.mono, c.boot, got, c.want)
		}
		// What is written, the parser reads back.
		mono, boot, err := ParseTimensOffsets(strings.NewReader(got))
		if err != nil || mono != c.mono || boot != c.boot {
			t.Errorf("ParseTimensOffsets(%q) = %s, %s, %v", got, mono, boot, err)
		}
	}
}
