//go:build !linux

package spawn

import "os"

// isTerminal reports false: off Linux the table only says that namespaces
// are Linux-only, and it is written without colour.
func isTerminal(*os.File) bool { return false }
