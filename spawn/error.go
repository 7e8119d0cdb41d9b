package spawn

import (
	"fmt"
	"strings"
)

// Error is a failure to start or read one child. It names the namespace set
// and the step that failed, keeps the underlying error (so errors.Is finds
// the errno) and carries the probe's stderr.
type Error struct {
	Set Set
	// Kind, when set, is the kind whose namespace Run could not make
	// itself (a time namespace with offsets).
	Kind   Kind
	Op     string
	Err    error
	Args   []string
	Stderr string
	// Cause and Remedy, when known, say why this most likely happened on
	// this machine and what to do about it.
	Cause  string
	Remedy string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "spawn %s: %s: %v", e.Set, e.Op, e.Err)
	if e.Cause != "" {
		fmt.Fprintf(&b, "; likely cause: %s", e.Cause)
	}
	if e.Remedy != "" {
		fmt.Fprintf(&b, "; remedy: %s", e.Remedy)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, "; probe stderr: %s", s)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
