package spawn

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

// Kind is a namespace kind, named as its file in /proc/self/ns.
type Kind string

// The eight namespace kinds.
const (
	UTS    Kind = "uts"
	IPC    Kind = "ipc"
	PID    Kind = "pid"
	MNT    Kind = "mnt"
	User   Kind = "user"
	Net    Kind = "net"
	Cgroup Kind = "cgroup"
	Time   Kind = "time"
)

// kinds lists every kind in the one fixed order used for printing sets,
// generating the power set and reporting. It follows the order in which the
// walk-through that nsverify automates added the flags, then the two kinds
// that came later to the kernel. It is not exported, so no caller can
// reorder it: All.Kinds() returns a copy.
var kinds = []Kind{UTS, IPC, PID, MNT, User, Net, Cgroup, Time}

// CloneFlag returns the CLONE_NEW* flag that creates a namespace of kind k.
// It returns 0 for an invalid kind, and for every kind on systems other than
// Linux, which have no such flags (see cloneFlags in kind_linux.go).
func (k Kind) CloneFlag() uintptr { return cloneFlags[k] }

// Valid reports whether k is one of the eight kinds.
func (k Kind) Valid() bool { return slices.Contains(kinds, k) }

// ParseKind returns the kind named s, or an error listing the valid names.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	if !k.Valid() {
		return "", fmt.Errorf("parse kind %q: unknown namespace kind; use one of %s", s, kindNames())
	}
	return k, nil
}

func kindNames() string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, " ")
}

// Present reports whether this kernel has kind k, by the presence of
// /proc/self/ns/<kind> (memoised, see kindsPresent).
func (k Kind) Present() bool { return kindsPresent()[k] }

// kindsPresent says which kinds this kernel has, by the presence of
// /proc/self/ns/<kind> (memoised). Presence does not promise that a
// namespace can be created: see the preflight for that. Callers outside
// the package read it as Machine.Present, and per kind, next to what the
// kernel let a child make, as KindSupport.Present.
var kindsPresent = sync.OnceValue(func() map[Kind]bool {
	m := make(map[Kind]bool, len(kinds))
	for _, kind := range kinds {
		_, err := os.Lstat("/proc/self/ns/" + string(kind))
		m[kind] = err == nil
	}
	return m
})
