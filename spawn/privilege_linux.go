package spawn

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// readPrivilege reads what this process may do over the namespaces it runs
// in. It starts no process and enters no namespace; mounts is this
// process's mount table, where the cgroup v2 hierarchy is looked up.
func readPrivilege(mounts []probes.Mount) Privilege {
	p := Privilege{EUID: os.Geteuid()}
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		if hex, err := probes.ParseCapEff(bytes.NewReader(data)); err == nil {
			p.CapEff, _ = strconv.ParseUint(hex, 16, 64)
		}
	}
	// No map tells the initial user namespace apart (one that maps every
	// id to itself has its maps); its fixed inode does.
	if own, err := probes.StatNSID("/proc/self/ns/user"); err == nil {
		p.UserNS = own.String()
		p.InitialUserNS = own.Ino == probes.InitialUserIno
	}
	p.UIDMap, p.GIDMap = readOwnMap("/proc/self/uid_map"), readOwnMap("/proc/self/gid_map")
	for _, k := range All.Kinds() {
		if k == User || !kindsPresent()[k] {
			continue
		}
		p.Owners = append(p.Owners, readOwnership(k, p.InitialUserNS))
	}
	p.CgroupDir, p.CgroupError = ownCgroupDir(mounts)
	if p.CgroupDir != "" {
		// AT_EACCESS: the effective ids decide, as they do for mkdir.
		p.CgroupWritable = unix.Faccessat(unix.AT_FDCWD, p.CgroupDir, unix.W_OK|unix.X_OK, unix.AT_EACCESS) == nil
	}
	return p
}

// ownMounts returns this process's mount table; nil when it cannot be
// read, and the cgroup v2 directory is then reported as not found.
func ownMounts() []probes.Mount {
	mounts, err := probes.ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	return mounts
}

// readOwnership asks the kernel which user namespace owns this process's
// namespace of kind k. NS_GET_USERNS answers only when the owner is the
// caller's user namespace or one below it, and fails with EPERM when the
// owner is above: exactly the cases in which the caller's capabilities do
// and do not count over the namespace.
func readOwnership(k Kind, initial bool) Ownership {
	o := Ownership{Kind: k}
	owner, err := probes.OwnerOf("/proc/self/ns/" + string(k))
	switch {
	case err != nil:
		o.Error, o.Held = err.Error(), initial
	case !owner.Outside:
		o.Owner, o.Held = owner.ID.String(), true
	}
	return o
}

// readOwnMap reads one of this process's own id maps; nil when it cannot.
func readOwnMap(path string) []IDMap {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	ranges, err := probes.ParseIDMap(f)
	if err != nil {
		return nil
	}
	maps := make([]IDMap, len(ranges))
	for i, r := range ranges {
		maps[i] = IDMap{Inside: r[0], Outside: r[1], Count: r[2]}
	}
	return maps
}

// ownCgroupDir returns the directory of this process's cgroup in the v2
// hierarchy, or why there is none.
func ownCgroupDir(mounts []probes.Mount) (dir, why string) {
	mount := ""
	for _, m := range mounts {
		if m.FSType == "cgroup2" {
			mount = m.MountPoint
		}
	}
	if mount == "" {
		return "", "no cgroup v2 hierarchy is mounted"
	}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Sprintf("open own cgroup: %v", err)
	}
	defer f.Close()
	lines, err := probes.ParseCgroup(f)
	if err != nil {
		return "", err.Error()
	}
	path, ok := probes.CgroupPath(lines, "")
	if !ok {
		return "", "no cgroup v2 line in /proc/self/cgroup"
	}
	return filepath.Join(mount, path), ""
}
