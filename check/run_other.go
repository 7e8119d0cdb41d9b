//go:build !linux

package check

import (
	"context"
	"errors"
)

// Run needs Linux: namespaces, /proc and SO_PEERCRED are Linux's.
func Run(context.Context, Options) (*Outcome, error) {
	return nil, errors.New("nsverify check runs on Linux only: namespaces are Linux's")
}
