package probes

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// OwnerOf asks the kernel which user namespace owns the namespace file at
// path (ioctl NS_GET_USERNS, ioctl_ns(2)). EPERM is an answer, not an
// error: the owner is outside the caller's user namespace, and the result
// has Outside set. On a kernel before 4.9 the ioctl does not exist and the
// error wraps ENOTTY (or EINVAL); see ErrNoNSIoctl.
func OwnerOf(path string) (NSRef, error) {
	return nsIoctl(path, unix.NS_GET_USERNS, "get owning user namespace")
}

// ParentOf asks the kernel for the parent of the pid or user namespace at
// path (ioctl NS_GET_PARENT). EPERM, again, is Outside: the parent is not
// in the caller's view, or there is none (the initial namespace). Other
// kinds have no parent, and the kernel answers EINVAL.
func ParentOf(path string) (NSRef, error) {
	return nsIoctl(path, unix.NS_GET_PARENT, "get parent namespace")
}

// ErrNoNSIoctl reports whether err says that the kernel lacks the
// namespace ioctls (before 4.9: ENOTTY on nsfs files, or EINVAL).
func ErrNoNSIoctl(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL)
}

func nsIoctl(path string, req uint, verb string) (NSRef, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return NSRef{}, fmt.Errorf("open namespace %s: %w", path, err)
	}
	defer unix.Close(fd)
	got, err := unix.IoctlRetInt(fd, req)
	if errors.Is(err, unix.EPERM) {
		return NSRef{Outside: true}, nil
	}
	if err != nil {
		return NSRef{}, fmt.Errorf("%s of %s: %w", verb, path, err)
	}
	defer unix.Close(got)
	id, err := FstatNSID(got)
	if err != nil {
		return NSRef{}, fmt.Errorf("%s of %s: %w", verb, path, err)
	}
	return NSRef{ID: id}, nil
}
