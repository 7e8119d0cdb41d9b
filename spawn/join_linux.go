package spawn

import (
	"fmt"
	"maps"
	"slices"

	"golang.org/x/sys/unix"
)

// checkJoinFiles checks, before anything is cloned, that each path is a
// namespace file of its kind (NS_GET_NSTYPE), so that a wrong path is bad
// input rather than an EINVAL from the probe's setns.
func checkJoinFiles(paths map[Kind]string) error {
	for _, k := range slices.Sorted(maps.Keys(paths)) {
		p := paths[k]
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("validate join: open the %s namespace to join: %w", k, err)
		}
		nstype, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("validate join: ask the type of %s, given as the %s namespace: %w (is it a /proc/PID/ns file or a bind mount of one?)", p, k, err)
		}
		if uintptr(nstype) != k.CloneFlag() {
			return fmt.Errorf("validate join: %s, given as the %s namespace, is a %s namespace", p, k, kindOfFlag(uintptr(nstype)))
		}
	}
	return nil
}

// kindOfFlag names the kind of a CLONE_NEW* flag.
func kindOfFlag(flag uintptr) string {
	for _, k := range Kinds {
		if k.CloneFlag() == flag {
			return string(k)
		}
	}
	return fmt.Sprintf("unknown (type %#x)", flag)
}
