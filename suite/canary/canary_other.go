//go:build !linux

package canary

import (
	"errors"
	"fmt"

	"github.com/nsverify/nsverify/probes"
)

// Planted is Linux-only.
type Planted struct{}

// Plant fails: canaries are Linux namespaces' matter.
func Plant(Options) (*Planted, error) {
	return nil, fmt.Errorf("plant canaries: %w", errors.ErrUnsupported)
}

// Args is empty.
func (p *Planted) Args() []string { return nil }

// Spec is empty.
func (p *Planted) Spec() probes.Canaries { return probes.Canaries{} }

// WhileHeld does nothing.
func (p *Planted) WhileHeld(int) {}

// Results is empty.
func (p *Planted) Results(*probes.Report) []Result { return nil }

// Remove does nothing.
func (p *Planted) Remove() {}
