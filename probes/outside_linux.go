package probes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
)

// nsFiles are the entries of /proc/PID/ns the host reads, where the kernel
// has them.
var nsFiles = []string{"uts", "ipc", "pid", "pid_for_children", "mnt", "user", "net", "cgroup", "time", "time_for_children"}

// parentFiles are the entries whose namespaces have a parent.
var parentFiles = map[string]bool{"pid": true, "pid_for_children": true, "user": true}

// ReadOutside reads pid from this process's /proc, as Outside describes.
// The process must be alive and held still by its caller (a child waiting
// for an answer); what cannot be read is under Errors, never guessed.
// withOwners asks for the owner ioctls too, which a kernel before 4.9
// lacks (the caller knows: see ErrNoNSIoctl).
func ReadOutside(pid int, withOwners bool) *Outside {
	o := &Outside{PID: pid, NS: map[string]NSID{}}
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	for _, name := range nsFiles {
		path := dir + "ns/" + name
		id, err := StatNSID(path)
		if os.IsNotExist(err) {
			// A kind this kernel lacks; a process that is gone shows
			// below, when status cannot be read either.
			continue
		}
		if err != nil {
			o.fail("ns", err)
			continue
		}
		o.NS[name] = id
		if !withOwners {
			continue
		}
		if o.Owners == nil {
			o.Owners = map[string]Ownership{}
		}
		var own Ownership
		owner, err := OwnerOf(path)
		if err != nil {
			o.fail("owners", fmt.Errorf("%s: %w", name, err))
			continue
		}
		own.Owner = &owner
		if parentFiles[name] {
			parent, err := ParentOf(path)
			if err != nil {
				o.fail("owners", fmt.Errorf("%s: %w", name, err))
				continue
			}
			own.Parent = &parent
		}
		o.Owners[name] = own
	}
	if status, err := os.ReadFile(dir + "status"); err != nil {
		o.fail("status", err)
	} else {
		if o.NSpid, err = ParseNSpid(bytes.NewReader(status)); err != nil {
			o.fail("status", err)
		}
		if o.UID, o.GID, err = ParseStatusIDs(bytes.NewReader(status)); err != nil {
			o.fail("status", err)
		}
		if o.Caps, err = ParseStatus(bytes.NewReader(status)); err != nil {
			o.fail("status", err)
		}
	}
	// The label, as the probe reads its own; no LSM, or one that gives no
	// label, is an empty label and no error.
	if o.Caps != nil {
		label, err := readParsed(dir+"attr/current", ParseLSMLabel)
		if err != nil && !os.IsNotExist(err) && !errors.Is(err, syscall.EINVAL) {
			o.fail("lsm", err)
		}
		o.Caps.LSM = label
	}
	var err error
	if o.UIDMap, err = readParsed(dir+"uid_map", ParseIDMap); err != nil {
		o.fail("maps", err)
	}
	if o.GIDMap, err = readParsed(dir+"gid_map", ParseIDMap); err != nil {
		o.fail("maps", err)
	}
	if o.Cgroup, err = readParsed(dir+"cgroup", ParseCgroup); err != nil {
		o.fail("cgroup", err)
	}
	return o
}

// readParsed opens path and parses it.
func readParsed[T any](path string, parse func(r io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return parse(f)
}
