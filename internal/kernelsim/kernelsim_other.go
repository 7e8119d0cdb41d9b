//go:build !linux

package kernelsim

import (
	"errors"
	"fmt"
)

// Supported reports whether Refuse can work here: never, off Linux.
func Supported() error {
	return fmt.Errorf("simulate a missing kind: %w: namespaces are Linux-only", errors.ErrUnsupported)
}

// Refuse is not supported off Linux.
func Refuse(flags uint32) error { return Supported() }
