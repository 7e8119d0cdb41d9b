package probes

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Outside is what the host reads of a live process from its own /proc,
// without the process's help: the identity of each of its namespaces
// (/proc/PID/ns/KIND), who owns them (NS_GET_USERNS and NS_GET_PARENT on
// the descriptors the host opened), its status (NSpid, ids, capabilities,
// no_new_privs, seccomp), its id maps and its cgroups. Whatever the process
// says of itself in its report must agree with this; where the two differ,
// this is the one that was read by something the process does not control.
type Outside struct {
	// PID is the process's pid in the reader's pid namespace.
	PID int `json:"pid"`
	// NS holds every namespace file of /proc/PID/ns the kernel has,
	// pid_for_children and time_for_children included.
	NS map[string]NSID `json:"ns"`
	// Owners holds, per entry of NS, its owning user namespace and, for
	// pid and user, its parent, as the reader's user namespace names them.
	Owners map[string]Ownership `json:"owners,omitempty"`
	// NSpid is the process's pid in each pid namespace from the reader's
	// down to its own, nil on a kernel that does not print it.
	NSpid []int `json:"nspid,omitempty"`
	// UID and GID are the real ids, as the reader's user namespace maps
	// them.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// Caps are the capability sets, no_new_privs and seccomp of status.
	Caps   *Caps     `json:"caps,omitempty"`
	UIDMap []IDRange `json:"uid_map"`
	GIDMap []IDRange `json:"gid_map"`
	// Cgroup are the lines of /proc/PID/cgroup, with paths as the reader's
	// cgroup namespace sees them.
	Cgroup []string `json:"cgroup,omitempty"`
	// Errors holds what could not be read, by name ("ns", "owners",
	// "status", "maps", "cgroup").
	Errors map[string]string `json:"errors,omitempty"`
}

// fail records a reading that could not be made.
func (o *Outside) fail(name string, err error) {
	if o.Errors == nil {
		o.Errors = map[string]string{}
	}
	if prev, ok := o.Errors[name]; ok {
		o.Errors[name] = prev + "; " + err.Error()
		return
	}
	o.Errors[name] = err.Error()
}

// ParseStatusIDs returns the real uid and gid of the Uid and Gid lines of
// /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs").
func ParseStatusIDs(r io.Reader) (uid, gid int, err error) {
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "Uid" && name != "Gid") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			return 0, 0, fmt.Errorf("parse status: empty %s line", name)
		}
		id, err := strconv.ParseUint(fields[0], 10, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("parse status: %s %q is not an id", name, fields[0])
		}
		if name == "Uid" {
			uid = int(id)
		} else {
			gid = int(id)
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read status: %w", err)
	}
	if seen != 2 {
		return 0, 0, fmt.Errorf("parse status: want a Uid and a Gid line, found %d of them", seen)
	}
	return uid, gid, nil
}
