//go:build linux

package nsprobe

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// observeCaps reads the capability sets, no_new_privs and seccomp from
// /proc/self/status, and the LSM label where an LSM gives one: without
// one the kernel answers EINVAL (or ENOENT), which is no error.
func observeCaps(r *probes.Report) error {
	caps, err := parseFile("/proc/self/status", probes.ParseStatus)
	if err != nil {
		return err
	}
	label, err := parseFile("/proc/self/attr/current", probes.ParseLSMLabel)
	switch {
	case errors.Is(err, unix.EINVAL), errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		caps.LSM = label
	}
	r.Caps = caps
	return nil
}

// parentKinds are the namespace files whose namespaces have a parent.
var parentKinds = map[string]bool{"pid": true, "pid_for_children": true, "user": true}

// observeOwners asks, for every entry of /proc/self/ns, which user
// namespace owns it and, for pid and user, which is its parent. A kernel
// without the ioctls (before 4.9) gets one error naming the version, not
// one per kind.
func observeOwners(r *probes.Report) error {
	entries, err := os.ReadDir("/proc/self/ns")
	if err != nil {
		return fmt.Errorf("read namespaces: %w", err)
	}
	owners := map[string]probes.Ownership{}
	var errs []string
	for _, e := range entries {
		path := "/proc/self/ns/" + e.Name()
		owner, err := probes.OwnerOf(path)
		if probes.ErrNoNSIoctl(err) {
			return fmt.Errorf("ask who owns a namespace: %w; this kernel predates NS_GET_USERNS and NS_GET_PARENT (Linux 4.9)", err)
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		o := probes.Ownership{Owner: &owner}
		if parentKinds[e.Name()] {
			parent, err := probes.ParentOf(path)
			if err != nil {
				errs = append(errs, err.Error())
			} else {
				o.Parent = &parent
			}
		}
		owners[e.Name()] = o
	}
	r.Owners = owners
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
