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

// FstatNSID returns the identity of the namespace file open at fd (a
// handle such as netns.NsHandle, or the answer of a namespace ioctl).
func FstatNSID(fd int) (NSID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return NSID{}, fmt.Errorf("stat namespace at fd %d: %w", fd, err)
	}
	return NSID{Dev: st.Dev, Ino: st.Ino}, nil
}
