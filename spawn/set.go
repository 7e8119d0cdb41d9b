package spawn

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Set is a set of namespace kinds. Bit i stands for kinds[i], so sets
// compare, sort and print in the fixed order of All.Kinds().
type Set uint8

// None is the empty set: a child that shares every namespace with its parent.
const None Set = 0

// All is the set of all eight kinds.
const All Set = 1<<8 - 1

// SetOf returns the set holding the given kinds. It panics on an invalid
// kind, which is a programming error; use ParseSet for input.
func SetOf(kinds ...Kind) Set {
	var s Set
	for _, k := range kinds {
		s |= bit(k)
	}
	return s
}

func bit(k Kind) Set {
	for i, kind := range kinds {
		if kind == k {
			return 1 << i
		}
	}
	panic(fmt.Sprintf("spawn: invalid namespace kind %q", string(k)))
}

// ParseSet parses a set written as kinds separated by "," or "+"
// ("uts,ipc", "uts+ipc"), or the words "all" and "none" (or ""). Unknown and
// repeated kinds are errors, since either is most likely a typo.
func ParseSet(s string) (Set, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "", "none":
		return None, nil
	case "all":
		return All, nil
	}
	var set Set
	for _, part := range strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == '+' }) {
		k, err := ParseKind(part)
		if err != nil {
			return None, fmt.Errorf("parse set %q: %w", s, err)
		}
		if set.Has(k) {
			return None, fmt.Errorf("parse set %q: kind %q is given twice; name each kind once", s, part)
		}
		set |= bit(k)
	}
	if set == None {
		return None, fmt.Errorf("parse set %q: no kind given; use kinds such as uts+ipc, or all, or none", s)
	}
	return set, nil
}

// Has reports whether k is in s.
func (s Set) Has(k Kind) bool { return k.Valid() && s&bit(k) != 0 }

// With returns s with the given kinds added.
func (s Set) With(kinds ...Kind) Set { return s | SetOf(kinds...) }

// Without returns s with the given kinds removed.
func (s Set) Without(kinds ...Kind) Set { return s &^ SetOf(kinds...) }

// Kinds returns the members of s in the fixed order of All.Kinds().
func (s Set) Kinds() []Kind {
	var out []Kind
	for i, k := range kinds {
		if s&(1<<i) != 0 {
			out = append(out, k)
		}
	}
	return out
}

// userFirst returns the members of s with user first, then the others in
// the fixed order: the order in which the kernel meets them when it
// clones, and so the order in which to look for what stops a clone.
// Without user, an unprivileged caller can create nothing else.
func (s Set) userFirst() []Kind {
	if !s.Has(User) {
		return s.Kinds()
	}
	return append([]Kind{User}, s.Without(User).Kinds()...)
}

// Len returns the number of kinds in s.
func (s Set) Len() int { return bits.OnesCount8(uint8(s)) }

// String prints s as its kinds joined by "+" ("uts+ipc"), or "none".
func (s Set) String() string {
	if s == None {
		return "none"
	}
	kinds := s.Kinds()
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, "+")
}

// CloneFlags returns the union of the CLONE_NEW* flags of the kinds in s.
func (s Set) CloneFlags() uintptr {
	var flags uintptr
	for _, k := range s.Kinds() {
		flags |= k.CloneFlag()
	}
	return flags
}

// PowerSet returns every subset of s, the empty set first. Subsets are
// ordered by size, then by the fixed order of All.Kinds() (as in "uts" before
// "ipc", "uts+ipc" before "uts+pid"), so the order is the same in every
// process and readable in a report. For All it returns 256 sets.
func PowerSet(s Set) []Set {
	var subsets []Set
	// Enumerate the submasks of s.
	for sub := s; ; sub = (sub - 1) & s {
		subsets = append(subsets, sub)
		if sub == 0 {
			break
		}
	}
	sortSets(subsets)
	return subsets
}

// sortSets orders sets by size, then lexicographically by their members in
// the order of kinds. Bit i stands for kinds[i], so comparing the
// bit-reversed masks compares the member lists.
func sortSets(sets []Set) {
	slices.SortFunc(sets, func(a, b Set) int {
		return cmp.Or(cmp.Compare(a.Len(), b.Len()), cmp.Compare(bits.Reverse8(uint8(b)), bits.Reverse8(uint8(a))))
	})
}
