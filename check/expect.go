package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// Expectation is what the user expects of the sandbox. Every kind not in
// Isolated is expected to be the host's.
type Expectation struct {
	// Isolated are the kinds expected to be the sandbox's own.
	Isolated []string `json:"isolated"`
	// CapsAbsent are capabilities root inside must not hold (in its
	// effective, permitted or ambient set), e.g. "CAP_SYS_ADMIN".
	CapsAbsent []string `json:"caps_absent,omitempty"`
	// Seccomp, when set, is the seccomp mode expected: disabled, strict
	// or filter.
	Seccomp string `json:"seccomp,omitempty"`
	// NoNewPrivs, when set, is the no_new_privs expected.
	NoNewPrivs *bool `json:"no_new_privs,omitempty"`
}

// ParseExpectKinds parses --expect: kinds separated by "," or "+", or
// "none".
func ParseExpectKinds(s string) (*Expectation, error) {
	set, err := spawn.ParseSet(s)
	if err != nil {
		return nil, fmt.Errorf("parse --expect: %w", err)
	}
	e := &Expectation{Isolated: []string{}}
	for _, k := range set.Kinds() {
		e.Isolated = append(e.Isolated, string(k))
	}
	return e, nil
}

// ParseExpectation reads an expectation file (JSON), rejecting fields it
// does not know, so that a typo is not an expectation silently dropped.
func ParseExpectation(r io.Reader) (*Expectation, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var e Expectation
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("parse expectation: %w; write JSON such as {\"isolated\": [\"net\", \"ipc\"], \"caps_absent\": [\"CAP_SYS_ADMIN\"], \"seccomp\": \"filter\", \"no_new_privs\": true}", err)
	}
	if e.Isolated == nil {
		return nil, errors.New("parse expectation: no \"isolated\" list; give the kinds expected to be the sandbox's own, [] for none")
	}
	seen := map[string]bool{}
	for _, k := range e.Isolated {
		if _, err := spawn.ParseKind(k); err != nil {
			return nil, fmt.Errorf("parse expectation: isolated: %w", err)
		}
		if seen[k] {
			return nil, fmt.Errorf("parse expectation: isolated: %q is given twice; name each kind once", k)
		}
		seen[k] = true
	}
	for i, c := range e.CapsAbsent {
		e.CapsAbsent[i] = strings.ToUpper(c)
		if !slices.Contains(probes.DecodeCaps(^uint64(0)), e.CapsAbsent[i]) {
			return nil, fmt.Errorf("parse expectation: caps_absent: %q is not a capability this build knows; write names such as CAP_SYS_ADMIN", c)
		}
	}
	switch e.Seccomp {
	case "", "disabled", "strict", "filter":
	default:
		return nil, fmt.Errorf("parse expectation: seccomp: %q is not a mode; use disabled, strict or filter", e.Seccomp)
	}
	return &e, nil
}

// isolated reports whether kind is expected to be the sandbox's own.
func (e *Expectation) isolated(kind string) bool { return slices.Contains(e.Isolated, kind) }
