package probes

import (
	"fmt"
	"os"
	"sort"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mqueues lists the POSIX message queues of the caller's ipc namespace,
// sorted. An mqueue file system shows the queues of the ipc namespace it
// was mounted from, so it makes one of its own but attaches it nowhere
// (fsopen and fsmount, Linux 5.2+): no path of any mount namespace
// changes, and the mount is gone when the descriptor is closed. It needs
// CAP_SYS_ADMIN over the ipc namespace and the mount namespace.
func Mqueues() ([]string, error) {
	fsfd, err := unix.Fsopen("mqueue", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open an mqueue file system: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("create an mqueue file system: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("make a detached mqueue mount: %w", err)
	}
	defer unix.Close(mfd)
	// The mount's descriptor is a path only; its root, opened, lists.
	fd, err := unix.Openat(mfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the detached mqueue mount: %w", err)
	}
	dir := os.NewFile(uintptr(fd), "mqueue")
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list POSIX queues: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// MqOpen creates the POSIX queue name (without the leading slash, as the
// system call takes it) with permissions perm, whatever the umask, failing
// if it exists, and closes it: the queue stays until MqUnlink or until its
// ipc namespace dies.
func MqOpen(name string, perm uint32) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return fmt.Errorf("create POSIX queue %q: %w", name, err)
	}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600, 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("create POSIX queue %q: %w", name, errno)
	}
	defer unix.Close(int(fd))
	// mq_open's mode goes through the umask; the queue's own inode takes
	// the permissions as given.
	if err := unix.Fchmod(int(fd), perm); err != nil {
		return fmt.Errorf("set permissions of POSIX queue %q: %w", name, err)
	}
	return nil
}

// MqUnlink removes the POSIX queue name.
func MqUnlink(name string) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return fmt.Errorf("remove POSIX queue %q: %w", name, err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); errno != 0 {
		return fmt.Errorf("remove POSIX queue %q: %w", name, errno)
	}
	return nil
}
