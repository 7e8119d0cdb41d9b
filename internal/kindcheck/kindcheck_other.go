//go:build !linux

package kindcheck

import (
	"context"
	"errors"
	"fmt"
)

// Check returns an error wrapping errors.ErrUnsupported: only Linux has
// namespaces.
func Check(ctx context.Context) (*Report, error) {
	return nil, fmt.Errorf("check namespace kinds: only Linux has namespaces: %w", errors.ErrUnsupported)
}
