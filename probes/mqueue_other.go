//go:build !linux

package probes

import (
	"errors"
	"fmt"
)

// Mqueues, MqOpen and MqUnlink are Linux-only: POSIX queues and ipc
// namespaces exist nowhere else.
func Mqueues() ([]string, error) {
	return nil, fmt.Errorf("list POSIX queues: %w", errors.ErrUnsupported)
}

func MqOpen(name string, perm uint32) error {
	return fmt.Errorf("create POSIX queue %q: %w", name, errors.ErrUnsupported)
}

func MqUnlink(name string) error {
	return fmt.Errorf("remove POSIX queue %q: %w", name, errors.ErrUnsupported)
}
