//go:build !linux

package nsprobe

import (
	"fmt"
	"io"
	"runtime"
)

// Main is the probe's command; namespaces are Linux's, so elsewhere it
// only says so, and a binary that holds the probe still builds.
func Main(_ []string, _, stderr io.Writer) int {
	_, _ = fmt.Fprintf(stderr, "nsprobe: Linux namespaces do not exist on %s; run the probe on Linux\n", runtime.GOOS)
	return 2
}
