package spawn

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Capability is a Linux capability, by its number in linux/capability.h
// (the same on every architecture).
type Capability uint

// The capabilities that decide what nsverify may do.
const (
	CapSetgid      Capability = 6
	CapSetuid      Capability = 7
	CapNetAdmin    Capability = 12
	CapSysAdmin    Capability = 21
	CapSysResource Capability = 24
	CapSysTime     Capability = 25
)

var capNames = map[Capability]string{
	CapSetgid: "CAP_SETGID", CapSetuid: "CAP_SETUID", CapNetAdmin: "CAP_NET_ADMIN",
	CapSysAdmin: "CAP_SYS_ADMIN", CapSysResource: "CAP_SYS_RESOURCE", CapSysTime: "CAP_SYS_TIME",
}

// String returns the capability's name as capabilities(7) spells it.
func (c Capability) String() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return "capability " + strconv.Itoa(int(c))
}

// changeCap is the capability it takes to change a namespace of each kind
// once it exists: its hostname, its mounts, its links, its IPC and cgroup
// settings. A process holds it over a namespace only if it holds it in its
// effective set and its user namespace owns that namespace, or is an
// ancestor of the owner (user_namespaces(7)).
var changeCap = map[Kind]Capability{
	UTS: CapSysAdmin, IPC: CapSysAdmin, PID: CapSysAdmin, MNT: CapSysAdmin,
	Net: CapNetAdmin, Cgroup: CapSysAdmin, Time: CapSysTime,
}

// Ownership says whether this process holds its capabilities over one of
// the namespaces it runs in.
type Ownership struct {
	Kind Kind `json:"kind"`
	// Owner is the "dev:ino" of the user namespace that owns the
	// namespace. The kernel tells it (NS_GET_USERNS) only when that is
	// this process's user namespace or one below it; otherwise Owner is
	// empty.
	Owner string `json:"owner,omitempty"`
	// Held says that this process's user namespace owns the namespace or
	// is an ancestor of its owner, so that the capabilities in its
	// effective set count there. When the owner is an ancestor of this
	// process's user namespace, it holds nothing over the namespace.
	Held bool `json:"held"`
	// Error says why ownership could not be read (a kernel before 4.9 has
	// no NS_GET_USERNS); Held is then true only in the initial user
	// namespace, whose processes are above every namespace's owner.
	Error string `json:"error,omitempty"`
}

// Privilege is what this process may do over the namespaces it runs in
// (the host, as the suite sees it), decided by capabilities and ownership
// and never by the effective uid alone: uid 0 in a user namespace other than
// the initial one holds every capability over the namespaces that user
// namespace owns, and none over those it shares with the host.
type Privilege struct {
	// EUID is the effective uid of this process, in its user namespace.
	EUID int `json:"euid"`
	// InitialUserNS says that this process runs in the initial user
	// namespace.
	InitialUserNS bool `json:"initial_user_ns"`
	// UserNS is the "dev:ino" of this process's user namespace.
	UserNS string `json:"user_ns,omitempty"`
	// CapEff is the effective capability set (CapEff in
	// /proc/self/status): what this process holds over its own user
	// namespace and every namespace that namespace owns.
	CapEff uint64 `json:"cap_eff"`
	// Owners has one entry per kind but user that this kernel has.
	Owners []Ownership `json:"owners"`
	// UIDMap and GIDMap are the maps of this process's user namespace: the
	// ids it can map into a new one.
	UIDMap []IDMap `json:"uid_map,omitempty"`
	GIDMap []IDMap `json:"gid_map,omitempty"`
	// CgroupDir is this process's own cgroup v2 directory, and
	// CgroupWritable says whether it may make a cgroup below it (write and
	// search access to the directory). CgroupError says why not, when
	// CgroupDir could not be found.
	CgroupDir      string `json:"cgroup_dir,omitempty"`
	CgroupWritable bool   `json:"cgroup_writable"`
	CgroupError    string `json:"cgroup_error,omitempty"`
}

var ownPrivilege = sync.OnceValue(func() Privilege { return readPrivilege(ownMounts()) })

// ReadPrivilege returns what this process may do over the namespaces it
// runs in, read once per process and without starting a child. Detect
// reports the same in Features, for callers that need no child at all.
// The result is a copy, the caller's to keep.
func ReadPrivilege() *Privilege {
	p := ownPrivilege()
	p.Owners, p.UIDMap, p.GIDMap = slices.Clone(p.Owners), slices.Clone(p.UIDMap), slices.Clone(p.GIDMap)
	return &p
}

// Has reports whether c is in this process's effective set, that is,
// whether it holds c over its own user namespace.
func (p *Privilege) Has(c Capability) bool { return p.CapEff&(1<<c) != 0 }

// AdminInInitialUserNS reports whether this process holds CAP_SYS_ADMIN in
// the initial user namespace: what the distribution switches for
// unprivileged user namespaces (Debian's sysctl, Ubuntu's AppArmor
// restriction) ask of a process they let through.
func (p *Privilege) AdminInInitialUserNS() bool { return p.InitialUserNS && p.Has(CapSysAdmin) }

// owner returns the ownership entry of kind k.
func (p *Privilege) owner(k Kind) Ownership {
	for _, o := range p.Owners {
		if o.Kind == k {
			return o
		}
	}
	return Ownership{Kind: k, Error: "not read"}
}

// HasOver reports whether this process holds c over the namespace of kind
// k it runs in.
func (p *Privilege) HasOver(k Kind, c Capability) bool {
	return p.Has(c) && p.owner(k).Held
}

// CanChange reports whether this process may change the namespace of kind k
// it runs in (see changeCap).
func (p *Privilege) CanChange(k Kind) bool {
	c, ok := changeCap[k]
	return ok && p.HasOver(k, c)
}

// Who describes this process's privilege in a few words, for messages:
// its uid, whether its user namespace is the initial one, and whether it
// holds CAP_SYS_ADMIN there.
func (p *Privilege) Who() string {
	where := "the initial user namespace"
	if !p.InitialUserNS {
		where = "a user namespace other than the initial one"
	}
	with := "with CAP_SYS_ADMIN"
	if !p.Has(CapSysAdmin) {
		with = "without CAP_SYS_ADMIN"
	}
	return fmt.Sprintf("uid %d in %s, %s", p.EUID, where, with)
}

// CanCreate reports whether this process may create namespaces other than
// user outside a new user namespace: that needs CAP_SYS_ADMIN over its own
// user namespace, which then owns them. When it may not, reason says so and
// what to do.
func (p *Privilege) CanCreate(set Set) (ok bool, reason string) {
	if p.Has(CapSysAdmin) {
		return true, ""
	}
	// One wording for every set, so that a matrix of skipped sets shares
	// one note.
	return false, fmt.Sprintf("needs CAP_SYS_ADMIN over its own user namespace: creating namespaces other than user outside a new user namespace needs it, and this process (%s) lacks it; run as root (sudo), or add user to the set so that they are created inside a new user namespace",
		p.Who())
}

// NeedOver reports whether this process holds c over the namespace of kind
// k it runs in, in order to do what says. When it does not, reason names
// the capability, the namespace, why it is missing and the remedy.
func (p *Privilege) NeedOver(k Kind, c Capability, what string) (ok bool, reason string) {
	if p.HasOver(k, c) {
		return true, ""
	}
	o := p.owner(k)
	var why, remedy string
	switch {
	case !o.Held && o.Error != "":
		why = fmt.Sprintf("its owner could not be read (%s), and this process is not in the initial user namespace", o.Error)
		remedy = "run as root in the initial user namespace (sudo)"
	case !o.Held:
		why = "that namespace is owned by a user namespace above this process's own, so it holds no capability there"
		remedy = "run as root in the initial user namespace (sudo), or in a " + string(k) + " namespace that its user namespace owns"
	default:
		why = c.String() + " is not in its effective set"
		remedy = "run as root (sudo)"
	}
	return false, fmt.Sprintf("needs %s over the host's %s namespace to %s, and this process (%s) lacks it: %s; %s",
		c, k, what, p.Who(), why, remedy)
}

// CanMapIDs reports whether this process may write uid and gid maps that
// name ids other than its own into a new user namespace: that needs
// CAP_SETUID and CAP_SETGID over its own user namespace (the new one's
// parent), and every id outside must be mapped in its own. When it may
// not, reason says which is missing and what to do.
func (p *Privilege) CanMapIDs(uid, gid []IDMap) (ok bool, reason string) {
	for _, c := range []struct {
		cap        Capability
		name       string
		maps, have []IDMap
	}{{CapSetuid, "uid", uid, p.UIDMap}, {CapSetgid, "gid", gid, p.GIDMap}} {
		if !p.Has(c.cap) {
			return false, fmt.Sprintf("needs %s over its own user namespace to map %ss other than its own into a new one (%s), and this process (%s) lacks it; run the suite as root (sudo)",
				c.cap, c.name, FormatIDMaps(c.maps), p.Who())
		}
		for _, m := range c.maps {
			if !covers(c.have, m.Outside, m.Count) {
				return false, fmt.Sprintf("needs %s over a user namespace that maps %ss %d-%d, to map them into a new one, and this process's user namespace maps only %s (%s_map %s); run the suite as root in the initial user namespace (sudo), or in a user namespace that maps them",
					c.cap, c.name, m.Outside, uint64(m.Outside)+uint64(m.Count)-1, describeMapped(c.have), c.name, FormatIDMaps(c.have))
			}
		}
	}
	return true, ""
}

// CanMakeCgroup reports whether this process may make a cgroup below its
// own cgroup v2 directory. When it may not, reason says why and what to do.
func (p *Privilege) CanMakeCgroup() (ok bool, reason string) {
	switch {
	case p.CgroupDir == "":
		return false, fmt.Sprintf("needs a cgroup v2 directory of its own to make a cgroup for the child, and found none (%s); mount the cgroup v2 hierarchy (e.g. at /sys/fs/cgroup/unified)", p.CgroupError)
	case !p.CgroupWritable:
		return false, fmt.Sprintf("needs write access to its cgroup v2 directory %s (as its owner, or with CAP_DAC_OVERRIDE) to make a cgroup for the child, and this process (%s) has none; run the suite as root (sudo), or in a cgroup delegated to its user (systemd-run --user --scope -p Delegate=yes)", p.CgroupDir, p.Who())
	}
	return true, ""
}

// Changeable lists the kinds whose namespace, the one this process runs
// in, it may change.
func (p *Privilege) Changeable() []Kind {
	var ks []Kind
	for _, o := range p.Owners {
		if p.CanChange(o.Kind) {
			ks = append(ks, o.Kind)
		}
	}
	return ks
}

// describe is the privilege as the preflight prints it: who runs, which of
// the host's namespaces it can change, and what it can create.
func (p *Privilege) describe() (runs, change, create string) {
	where := "in the initial user namespace"
	if !p.InitialUserNS {
		where = "in a user namespace of its own (not the initial one)"
	}
	runs = fmt.Sprintf("uid %d %s, %s", p.EUID, where, describeCaps(p))
	ks := p.Changeable()
	switch {
	case len(ks) == 0:
		change = "none of the host's namespaces"
	case len(ks) == len(p.Owners):
		change = "every host namespace (" + joinKinds(ks) + ")"
	default:
		var not []string
		for _, o := range p.Owners {
			if !p.CanChange(o.Kind) {
				not = append(not, fmt.Sprintf("%s (needs %s over it)", o.Kind, changeCap[o.Kind]))
			}
		}
		change = joinKinds(ks) + "; not " + strings.Join(not, ", ")
	}
	if p.CgroupWritable {
		change += "; may make cgroups below " + p.CgroupDir
	} else if p.CgroupDir != "" {
		change += "; may not make cgroups below " + p.CgroupDir
	}
	if p.Has(CapSysAdmin) {
		create = "namespaces of every kind, owned by its user namespace (CAP_SYS_ADMIN over it)"
	} else {
		create = "a user namespace, and the other kinds only inside it (no CAP_SYS_ADMIN)"
	}
	return runs, change, create
}

// describeCaps names the capabilities that matter that p holds.
func describeCaps(p *Privilege) string {
	var held []string
	for _, c := range []Capability{CapSysAdmin, CapNetAdmin, CapSetuid, CapSetgid, CapSysResource} {
		if p.Has(c) {
			held = append(held, c.String())
		}
	}
	if len(held) == 0 {
		return "holding none of CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SETUID, CAP_SETGID, CAP_SYS_RESOURCE"
	}
	return "holding " + strings.Join(held, ", ")
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// covers reports whether the outside ids first..first+count-1 of a new map
// are all mapped in have (the "inside" column of this process's own map).
func covers(have []IDMap, first, count uint32) bool {
	next, end := uint64(first), uint64(first)+uint64(count)
	for next < end {
		found := false
		for _, m := range have {
			if lo, hi := uint64(m.Inside), uint64(m.Inside)+uint64(m.Count); next >= lo && next < hi {
				next, found = hi, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// FormatIDMaps prints maps for a message: "0 1000 1, 1 100000 65536" in
// quotes, or empty.
func FormatIDMaps(maps []IDMap) string {
	if len(maps) == 0 {
		return "empty"
	}
	s := make([]string, len(maps))
	for i, m := range maps {
		s[i] = m.String()
	}
	return `"` + strings.Join(s, ", ") + `"`
}

// describeMapped says which ids a map's inside column holds.
func describeMapped(maps []IDMap) string {
	if len(maps) == 0 {
		return "nothing"
	}
	s := make([]string, len(maps))
	for i, m := range maps {
		if m.Count == 1 {
			s[i] = strconv.FormatUint(uint64(m.Inside), 10)
		} else {
			s[i] = fmt.Sprintf("%d-%d", m.Inside, uint64(m.Inside)+uint64(m.Count)-1)
		}
	}
	return strings.Join(s, ", ")
}
