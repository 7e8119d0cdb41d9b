//go:build !linux

package hoststate

import (
	"errors"
	"fmt"
)

// Take is only implemented on Linux: elsewhere it returns an error that
// errors.Is errors.ErrUnsupported.
func Take(opts Options) (*Snapshot, error) {
	return nil, fmt.Errorf("take host snapshot: namespaces, /proc and netlink are Linux's: %w", errors.ErrUnsupported)
}
