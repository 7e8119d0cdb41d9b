package spawn

import (
	"fmt"
	"maps"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// stagePID moves a new pid namespace from the clone to the probe's stage
// when the child joins namespaces: cloned into it, the probe would be pid
// 1 and its observer a pid the host cannot name, while the stage, having
// joined, unshares pid and forks the observer as pid 1 below the caller's
// pid namespace (or the joined user namespace's), as the clone would.
// With time offsets the stage already does (see command).
func stagePID(o Options, flags uintptr, args []string) (uintptr, []string) {
	if o.Join.empty() || !o.Set.Has(PID) || o.timeWithOffsets() {
		return flags, args
	}
	return flags &^ unix.CLONE_NEWPID, append(args, "-"+probes.FlagNewPID)
}

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
	for _, k := range kinds {
		if k.CloneFlag() == flag {
			return string(k)
		}
	}
	return fmt.Sprintf("unknown (type %#x)", flag)
}
