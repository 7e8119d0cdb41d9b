package spawn

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// initialUserNSIno is the inode number the kernel gives the initial user
// namespace's nsfs file (PROC_USER_INIT_INO in include/linux/proc_ns.h,
// fixed since Linux 3.8). No map tells it apart: a user namespace that maps
// every id to itself has the initial namespace's maps.
const initialUserNSIno = 0xEFFFFFFD

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
	var own unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &own); err == nil {
		p.UserNS = nsID(&own)
		p.InitialUserNS = own.Ino == initialUserNSIno
	}
	p.UIDMap, p.GIDMap = readOwnMap("/proc/self/uid_map"), readOwnMap("/proc/self/gid_map")
	for _, k := range Kinds {
		if k == User || !Present(k) {
			continue
		}
		p.Owners = append(p.Owners, readOwnership(k, p.UserNS, p.InitialUserNS))
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
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	mounts, err := probes.ParseMountinfo(f)
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
func readOwnership(k Kind, ownUserNS string, initial bool) Ownership {
	o := Ownership{Kind: k}
	f, err := os.Open("/proc/self/ns/" + string(k))
	if err != nil {
		o.Error, o.Held = fmt.Sprintf("open namespace: %v", err), initial
		return o
	}
	defer f.Close()
	fd, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_USERNS)
	switch {
	case errors.Is(err, unix.EPERM):
		return o
	case err != nil:
		o.Error, o.Held = fmt.Sprintf("ioctl NS_GET_USERNS: %v", err), initial
		return o
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		o.Error, o.Held = fmt.Sprintf("stat owner: %v", err), initial
		return o
	}
	o.Owner, o.Held = nsID(&st), true
	return o
}

func nsID(st *unix.Stat_t) string {
	return fmt.Sprintf("%d:%d", uint64(st.Dev), st.Ino)
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
