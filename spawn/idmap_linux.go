package spawn

import "syscall"

// toSysProcIDMaps converts maps to the form os/exec writes to uid_map and
// gid_map.
func toSysProcIDMaps(maps []IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(maps))
	for i, m := range maps {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.Inside), HostID: int(m.Outside), Size: int(m.Count)}
	}
	return out
}
