//go:build !linux

package probes

import (
	"errors"
	"fmt"
)

// OwnerOf is Linux-only: namespaces exist nowhere else.
func OwnerOf(path string) (NSRef, error) {
	return NSRef{}, fmt.Errorf("get owning user namespace of %s: %w", path, errors.ErrUnsupported)
}

// ParentOf is Linux-only: namespaces exist nowhere else.
func ParentOf(path string) (NSRef, error) {
	return NSRef{}, fmt.Errorf("get parent namespace of %s: %w", path, errors.ErrUnsupported)
}

// ErrNoNSIoctl is false: elsewhere there is no kernel to lack the ioctls.
func ErrNoNSIoctl(err error) bool { return false }
