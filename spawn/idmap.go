package spawn

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
)

// IDMap is one line of a uid_map or gid_map: Count ids starting at Inside in
// the new user namespace stand for the ids starting at Outside in the parent.
type IDMap struct {
	Inside  uint32
	Outside uint32
	Count   uint32
}

// maxIDMapLines is the kernel's limit on lines in one map (since 4.15; 5
// before, which is what CentOS 7 allows).
const maxIDMapLines = 340

// ValidateIDMaps checks a uid or gid map the way the kernel would, so that a
// bad map is refused with a clear message before anything is cloned: it must
// be non-empty, every range must have a non-zero count and stay below
// 2^32-1 on both sides, and no two ranges may overlap inside or outside.
func ValidateIDMaps(maps []IDMap) error {
	if len(maps) == 0 {
		return errors.New("validate id map: the map is empty; give at least one range such as 0 0 1")
	}
	if len(maps) > maxIDMapLines {
		return fmt.Errorf("validate id map: %d ranges given, the kernel takes at most %d", len(maps), maxIDMapLines)
	}
	for _, m := range maps {
		if m.Count == 0 {
			return fmt.Errorf("validate id map: range %v has a count of 0; every range maps at least one id", m)
		}
		// The id 2^32-1 is (uid_t)-1, which means "no id" and cannot be mapped.
		if uint64(m.Inside)+uint64(m.Count) > math.MaxUint32 || uint64(m.Outside)+uint64(m.Count) > math.MaxUint32 {
			return fmt.Errorf("validate id map: range %v goes past id %d; shorten it", m, uint64(math.MaxUint32)-1)
		}
	}
	for _, side := range []struct {
		name string
		of   func(IDMap) uint32
	}{{"inside", func(m IDMap) uint32 { return m.Inside }}, {"outside", func(m IDMap) uint32 { return m.Outside }}} {
		sorted := append([]IDMap(nil), maps...)
		sort.Slice(sorted, func(i, j int) bool { return side.of(sorted[i]) < side.of(sorted[j]) })
		for i := 1; i < len(sorted); i++ {
			prev, cur := sorted[i-1], sorted[i]
			if uint64(side.of(prev))+uint64(prev.Count) > uint64(side.of(cur)) {
				return fmt.Errorf("validate id map: ranges %v and %v overlap %s the namespace; make them disjoint", prev, cur, side.name)
			}
		}
	}
	return nil
}

// String prints m as the kernel's map files do: "inside outside count".
func (m IDMap) String() string { return fmt.Sprintf("%d %d %d", m.Inside, m.Outside, m.Count) }

// RootMap maps id 0 inside to id outside, for one id.
func RootMap(outside uint32) []IDMap { return []IDMap{{Inside: 0, Outside: outside, Count: 1}} }

// CallerMaps returns the uid and gid maps that make the caller root in a new
// user namespace: 0 inside is the caller's euid and egid outside. This is the
// only mapping an unprivileged caller may write.
func CallerMaps() (uid, gid []IDMap) {
	return RootMap(uint32(os.Geteuid())), RootMap(uint32(os.Getegid()))
}

// IDMaps returns the maps o gives, or, where it gives none, the caller's
// (CallerMaps): what a new user namespace of the child gets, whatever
// launcher makes it.
func (o Options) IDMaps() (uid, gid []IDMap) {
	uid, gid = o.UIDMap, o.GIDMap
	callerUID, callerGID := CallerMaps()
	if len(uid) == 0 {
		uid = callerUID
	}
	if len(gid) == 0 {
		gid = callerGID
	}
	return uid, gid
}
