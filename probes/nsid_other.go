//go:build !linux

package probes

import (
	"errors"
	"fmt"
)

// StatNSID is Linux-only: namespaces exist nowhere else.
func StatNSID(path string) (NSID, error) {
	return NSID{}, fmt.Errorf("stat namespace %s: %w", path, errors.ErrUnsupported)
}

// FstatNSID is Linux-only: namespaces exist nowhere else.
func FstatNSID(fd int) (NSID, error) {
	return NSID{}, fmt.Errorf("stat namespace at fd %d: %w", fd, errors.ErrUnsupported)
}
