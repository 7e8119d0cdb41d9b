//go:build !linux

package probes

import (
	"errors"
	"fmt"
)

// MsgGet is Linux-only here: the suite makes its queues only on Linux.
func MsgGet(key int32, flags int) (int, error) {
	return -1, fmt.Errorf("msgget %d: %w", key, errors.ErrUnsupported)
}

// MsgRemove is Linux-only here, as MsgGet is.
func MsgRemove(id int) error {
	return fmt.Errorf("msgctl IPC_RMID %d: %w", id, errors.ErrUnsupported)
}
