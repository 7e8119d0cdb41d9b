package probes

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// StatNSID returns the identity of the namespace file at path (following
// the link, as /proc/PID/ns/KIND is one): the device and inode of its
// nsfs file.
func StatNSID(path string) (NSID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return NSID{}, fmt.Errorf("stat namespace %s: %w", path, err)
	}
	return NSID{Dev: st.Dev, Ino: st.Ino}, nil
}
