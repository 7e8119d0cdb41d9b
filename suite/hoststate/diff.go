package hoststate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Op is what happened to an item between two snapshots.
type Op int

// The three kinds of change.
const (
	// Added means in the second snapshot only: left behind.
	Added Op = iota + 1
	// Removed means in the first snapshot only.
	Removed
	// Changed means in both, with another value.
	Changed
)

// String returns "+", "-" or "~".
func (o Op) String() string {
	switch o {
	case Added:
		return "+"
	case Removed:
		return "-"
	case Changed:
		return "~"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// MarshalText makes an Op read as its sign in JSON.
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads the sign that MarshalText writes.
func (o *Op) UnmarshalText(b []byte) error {
	switch string(b) {
	case "+":
		*o = Added
	case "-":
		*o = Removed
	case "~":
		*o = Changed
	default:
		return fmt.Errorf("read change op %q: want +, - or ~", b)
	}
	return nil
}

// The areas a Change can name, in the order Diff reports them. A sysctl's
// area is "sysctl " followed by its name as given in Options.Sysctls.
const (
	AreaHostname        = "hostname"
	AreaDomainname      = "domainname"
	AreaSysvMsg         = "sysvipc msg"
	AreaSysvShm         = "sysvipc shm"
	AreaSysvSem         = "sysvipc sem"
	AreaPosixMqueues    = "posix mqueues"
	AreaLinks           = "links"
	AreaNetnsFiles      = "netns files"
	AreaCgroups         = "cgroups"
	AreaMountinfo       = "mountinfo"
	AreaRootPropagation = "root propagation"
	AreaSysctlPrefix    = "sysctl "
	AreaChildren        = "children"
)

// Change is one item that differs between two snapshots: Before is empty
// for Added, After for Removed.
type Change struct {
	Area   string `json:"area"`
	Op     Op     `json:"op"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// String prints the change on one line:
//
//	links: + nsvh1234 (left behind)
//	mountinfo: - /proc proc proc root=/ opts=rw super=rw prop=private (removed)
//	hostname: "a" → "b"
func (c Change) String() string {
	switch c.Op {
	case Added:
		return fmt.Sprintf("%s: + %s (left behind)", c.Area, c.After)
	case Removed:
		return fmt.Sprintf("%s: - %s (removed)", c.Area, c.Before)
	}
	return fmt.Sprintf("%s: %q → %q", c.Area, c.Before, c.After)
}

// Format prints changes as a readable multi-line diff, one change a line
// under a line that counts them; no change prints as one line that says so.
func Format(changes []Change) string {
	if len(changes) == 0 {
		return "the host is unchanged"
	}
	var b strings.Builder
	if len(changes) == 1 {
		b.WriteString("the host changed in 1 place:")
	} else {
		fmt.Fprintf(&b, "the host changed in %d places:", len(changes))
	}
	for _, c := range changes {
		b.WriteString("\n  ")
		b.WriteString(c.String())
	}
	return b.String()
}

// Diff returns what differs from before to after, area by area in a fixed
// order and, within an area, in sorted order; nil if nothing does. A nil
// snapshot counts as an empty one.
//
// Lists are compared as multisets: a second mount identical to the first
// is an addition. Children are matched by pid and start time, and a child
// found in both counts as changed only if its command name changed or it
// became (or stopped being) a zombie: a running process goes from R to S and
// back all the time.
func Diff(before, after *Snapshot) []Change {
	if before == nil {
		before = &Snapshot{}
	}
	if after == nil {
		after = &Snapshot{}
	}
	var d []Change
	d = scalar(d, AreaHostname, before.Hostname, after.Hostname)
	d = scalar(d, AreaDomainname, before.Domainname, after.Domainname)
	d = list(d, AreaSysvMsg, strs(before.SysvMsg), strs(after.SysvMsg), ipcKey)
	d = list(d, AreaSysvShm, strs(before.SysvShm), strs(after.SysvShm), ipcKey)
	d = list(d, AreaSysvSem, strs(before.SysvSem), strs(after.SysvSem), ipcKey)
	d = list(d, AreaPosixMqueues, before.PosixMqueues, after.PosixMqueues, nil)
	d = list(d, AreaLinks, before.Links, after.Links, nil)
	d = list(d, AreaNetnsFiles, before.NetnsFiles, after.NetnsFiles, nil)
	d = list(d, AreaCgroups, before.Cgroups, after.Cgroups, nil)
	d = list(d, AreaMountinfo, before.Mountinfo, after.Mountinfo, mountPoint)
	d = scalar(d, AreaRootPropagation, string(before.RootPropagation), string(after.RootPropagation))
	d = sysctls(d, before.Sysctls, after.Sysctls)
	d = children(d, before.Children, after.Children)
	return d
}

func scalar(d []Change, area, before, after string) []Change {
	if before == after {
		return d
	}
	return append(d, Change{Area: area, Op: Changed, Before: before, After: after})
}

// list compares before and after as multisets, merging their sorted
// copies. The changes come out sorted by group (an item's key, e.g. its
// mount point), and within a group removals first, so that a mount that
// changed reads as its old line followed by its new one.
func list(d []Change, area string, before, after []string, group func(string) string) []Change {
	var c []Change
	b, a := slices.Sorted(slices.Values(before)), slices.Sorted(slices.Values(after))
	for len(b) > 0 || len(a) > 0 {
		switch {
		case len(a) == 0 || len(b) > 0 && b[0] < a[0]:
			c = append(c, Change{Area: area, Op: Removed, Before: b[0]})
			b = b[1:]
		case len(b) == 0 || a[0] < b[0]:
			c = append(c, Change{Area: area, Op: Added, After: a[0]})
			a = a[1:]
		default:
			b, a = b[1:], a[1:]
		}
	}
	if group != nil {
		slices.SortStableFunc(c, func(x, y Change) int {
			return cmp.Or(cmp.Compare(group(x.Before+x.After), group(y.Before+y.After)), cmp.Compare(y.Op, x.Op))
		})
	}
	return append(d, c...)
}

// mountPoint is the first field of a Mountinfo line.
func mountPoint(line string) string {
	mp, _, _ := strings.Cut(line, " ")
	return mp
}

// ipcKey is the key part of a probes.IPCObject's String: "key 0x1234".
func ipcKey(s string) string {
	k, _, _ := strings.Cut(s, " id ")
	return k
}

func strs[T fmt.Stringer](items []T) []string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = it.String()
	}
	return s
}

// absent is how a sysctl missing from one snapshot prints.
const absent = "(absent)"

func sysctls(d []Change, before, after map[string]string) []Change {
	names := slices.Sorted(maps.Keys(before))
	for n := range after {
		if _, ok := before[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		b, inB := before[n]
		a, inA := after[n]
		if !inB {
			b = absent
		}
		if !inA {
			a = absent
		}
		d = scalar(d, AreaSysctlPrefix+n, b, a)
	}
	return d
}

type procKey struct {
	pid   int
	start uint64
}

func children(d []Change, before, after []Process) []Change {
	inBefore := map[procKey]Process{}
	for _, p := range before {
		inBefore[procKey{p.PID, p.StartTime}] = p
	}
	inAfter := map[procKey]Process{}
	for _, p := range after {
		inAfter[procKey{p.PID, p.StartTime}] = p
	}
	keys := slices.Collect(maps.Keys(inBefore))
	for k := range inAfter {
		if _, ok := inBefore[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y procKey) int {
		return cmp.Or(cmp.Compare(x.pid, y.pid), cmp.Compare(x.start, y.start))
	})
	for _, k := range keys {
		b, inB := inBefore[k]
		a, inA := inAfter[k]
		switch {
		case !inB:
			d = append(d, Change{Area: AreaChildren, Op: Added, After: a.String()})
		case !inA:
			d = append(d, Change{Area: AreaChildren, Op: Removed, Before: b.String()})
		case b.Comm != a.Comm || b.Zombie() != a.Zombie():
			d = append(d, Change{Area: AreaChildren, Op: Changed, Before: b.String(), After: a.String()})
		}
	}
	return d
}
