//go:build !linux

package main

import (
	"fmt"
	"os"
	"runtime"
)

// Namespaces are Linux's; elsewhere the command only builds, so that the
// module builds and vets on any system.
func main() {
	fmt.Fprintf(os.Stderr, "nsprobe: Linux namespaces do not exist on %s; run nsprobe on Linux\n", runtime.GOOS)
	os.Exit(2)
}
