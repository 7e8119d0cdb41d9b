//go:build !linux

package kernelsim

import (
	"errors"
	"fmt"
)

// Supported reports whether Refuse and Powerless can work here: never, off
// Linux.
func Supported() error {
	return fmt.Errorf("simulate a kernel: %w: namespaces are Linux-only", errors.ErrUnsupported)
}

// Refuse is not supported off Linux.
func Refuse(flags uint32) error { return Supported() }

// Powerless is not supported off Linux.
func Powerless() error { return Supported() }

// BecomeUser is not supported off Linux.
func BecomeUser(uid, gid int) error { return Supported() }

// Sysctl is not supported off Linux.
func Sysctl(name, value string) error { return Supported() }
