//go:build !linux

package probes

import (
	"errors"
	"fmt"
)

// ReadOutside is Linux-only: namespaces exist nowhere else. The result
// says so under Errors.
func ReadOutside(pid int, withOwners bool) *Outside {
	o := &Outside{PID: pid, NS: map[string]NSID{}}
	o.fail("ns", fmt.Errorf("read /proc/%d: %w", pid, errors.ErrUnsupported))
	return o
}
