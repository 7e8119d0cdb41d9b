package spawn

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nsverify/nsverify/probes"
)

// Join names existing namespaces the child joins, alone or with the new
// ones of Options.Set: by path, one setns per kind, or by a pidfd, several
// kinds of one process in one setns. The child is cloned into Set first;
// then a single-threaded stage of the probe joins (a Go process has
// several threads, and the kernel refuses setns into a user, mnt or time
// namespace to those) and forks the observer, so joined pid and time
// namespaces hold it too. The observer's pid is Result.HostPID.
type Join struct {
	// Paths maps a kind to a namespace file to join: /proc/PID/ns/KIND or
	// a bind mount of one, such as /run/netns/NAME.
	Paths map[Kind]string
	// PID, when not 0, is a process whose namespaces of the kinds in Kinds
	// the child joins at once through a pidfd (Linux 5.8 or later).
	PID   int
	Kinds Set
}

// Set returns the kinds joined.
func (j Join) Set() Set {
	if j.PID != 0 {
		return j.Kinds
	}
	var s Set
	for k := range j.Paths {
		s = s.With(k)
	}
	return s
}

// empty reports whether nothing is joined.
func (j Join) empty() bool { return len(j.Paths) == 0 && j.PID == 0 && j.Kinds == None }

// validate checks the join against the set the child is cloned into and
// the actions, then (on Linux) that each path is a namespace of its kind.
func (j Join) validate(set Set, a Actions) error {
	if j.empty() {
		return nil
	}
	if len(j.Paths) > 0 && (j.PID != 0 || j.Kinds != None) {
		return errors.New("validate join: give namespaces by path or one process's by pidfd, not both")
	}
	if j.PID < 0 || (j.PID == 0) != (j.Kinds == None) {
		return fmt.Errorf("validate join: joining by pidfd needs a positive pid and at least one kind; got pid %d and %s", j.PID, j.Kinds)
	}
	for _, k := range slices.Sorted(maps.Keys(j.Paths)) {
		p := j.Paths[k]
		if !k.Valid() {
			return fmt.Errorf("validate join: unknown namespace kind %q; use one of %s", k, kindNames())
		}
		if !filepath.IsAbs(p) {
			return fmt.Errorf("validate join: path %q of the %s namespace is not absolute; give /proc/PID/ns/%s or a bind mount of it", p, k, k)
		}
	}
	joined := j.Set()
	if both := joined & set; both != None {
		return fmt.Errorf("validate join: %s is both in the set to create (%s) and joined; a process is in one namespace of each kind", both, set)
	}
	if set.Has(User) {
		return fmt.Errorf("validate join: the set %s makes a new user namespace, which holds no capability over the namespaces to join (%s); join a user namespace that owns them, or drop user from the set", set, joined)
	}
	if a.Confine.any() {
		return errors.New("validate join: confinement actions cannot be combined with a join; run them in a child that joins nothing")
	}
	return checkJoinFiles(j.Paths)
}

// args returns the probe flags that ask for the join, kinds in
// probes.JoinOrder.
func (j Join) args() []string {
	if j.empty() {
		return nil
	}
	var parts []string
	for _, name := range probes.JoinOrder {
		k := Kind(name)
		if j.PID != 0 {
			if j.Kinds.Has(k) {
				parts = append(parts, name)
			}
		} else if p, ok := j.Paths[k]; ok {
			parts = append(parts, name+"="+p)
		}
	}
	if j.PID != 0 {
		return []string{"-" + probes.FlagJoinPidfd, strconv.Itoa(j.PID) + "=" + strings.Join(parts, "+")}
	}
	return []string{"-" + probes.FlagJoin, strings.Join(parts, ",")}
}

// pidfdJoinSince is the first kernel where setns takes a pidfd.
const pidfdJoinSince = "5.8"

// PidfdJoin reports whether a kernel of release rel can join namespaces
// through a pidfd, and if not, why and what to do.
func PidfdJoin(rel string) (ok bool, reason string) {
	if olderThan(rel, pidfdJoinSince) {
		return false, fmt.Sprintf("setns by pidfd: kernel %s is older than %s, where setns learnt to take a pidfd; join by /proc/PID/ns paths instead, or boot %s or later", rel, pidfdJoinSince, pidfdJoinSince)
	}
	return true, ""
}

// describePidfdJoin is the preflight row for joining through a pidfd.
func describePidfdJoin(rel string) string {
	if rel == "" {
		return "unknown"
	}
	if ok, why := PidfdJoin(rel); !ok {
		return "no: " + strings.TrimPrefix(why, "setns by pidfd: ")
	}
	return "yes (Linux " + pidfdJoinSince + " or later)"
}
