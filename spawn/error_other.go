//go:build !linux

package spawn

import "errors"

// errNotLinux is what Run and Detect report on systems other than Linux,
// which have no namespaces. It wraps errors.ErrUnsupported.
var errNotLinux error = notLinuxError{}

type notLinuxError struct{}

func (notLinuxError) Error() string {
	return "spawn: namespaces are Linux-only; run nsverify on Linux"
}

func (notLinuxError) Unwrap() error { return errors.ErrUnsupported }
