package hoststate

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/nsverify/nsverify/probes"
)

// errMalformed is wrapped by every parser's error about its input.
var errMalformed = errors.New("malformed line")

// parseSysvIPC reads /proc/sysvipc/msg, shm or sem with
// probes.ParseSysvIPC, sorted by key and id so equal tables compare equal.
func parseSysvIPC(r io.Reader) ([]probes.IPCObject, error) {
	objs, err := probes.ParseSysvIPC(r)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(objs, func(a, b probes.IPCObject) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.ID, b.ID))
	})
	return objs, nil
}

// mount is one line of /proc/PID/mountinfo, as the probes package parses
// it (paths unescaped).
type mount = probes.Mount

// parseMountinfo reads /proc/PID/mountinfo.
func parseMountinfo(r io.Reader) ([]mount, error) { return probes.ParseMountinfo(r) }

// line is the mount as a Snapshot keeps it: everything that says what is
// mounted where and how, without the mount ids and device numbers, which
// the kernel hands out anew and which would make two equal tables differ.
//
//	/proc proc proc root=/ opts=rw,nosuid super=rw prop=shared:14
func line(m mount) string {
	prop := "private"
	if len(m.Optional) > 0 {
		prop = strings.Join(m.Optional, ",")
	}
	return fmt.Sprintf("%s %s %s root=%s opts=%s super=%s prop=%s",
		m.MountPoint, m.FSType, m.Source, m.Root, m.Options, m.SuperOptions, prop)
}

// mountTable is what a snapshot takes from mountinfo.
type mountTable struct {
	lines           []string
	rootPropagation probes.Propagation
	mqueue          string // where the mqueue file system is mounted, if it is
}

// readMountTable parses mountinfo and keeps the normalised lines (sorted),
// the propagation of / (the last / mount, the one on top) and the mqueue
// mount, /dev/mqueue if it is one of several.
func readMountTable(r io.Reader) (mountTable, error) {
	mounts, err := parseMountinfo(r)
	if err != nil {
		return mountTable{}, err
	}
	var t mountTable
	for _, m := range mounts {
		t.lines = append(t.lines, line(m))
		if m.MountPoint == "/" {
			t.rootPropagation = m.Propagation()
		}
		if m.FSType == "mqueue" && (t.mqueue == "" || m.MountPoint == "/dev/mqueue") {
			t.mqueue = m.MountPoint
		}
	}
	slices.Sort(t.lines)
	return t, nil
}

// parseStat reads /proc/PID/stat: "pid (comm) state ppid …", where comm may
// hold spaces and parentheses, so it ends at the last ')' of the line.
func parseStat(r io.Reader) (Process, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Process{}, fmt.Errorf("read stat: %w", err)
	}
	s := strings.TrimRight(string(b), "\n")
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || end < open {
		return Process{}, fmt.Errorf("parse stat %q: %w", s, errMalformed)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return Process{}, fmt.Errorf("parse stat pid: %w", err)
	}
	// After comm: state (field 3), ppid (4), pgrp (5), … starttime (22).
	f := strings.Fields(s[end+1:])
	if len(f) < 20 {
		return Process{}, fmt.Errorf("parse stat of pid %d: %d fields after comm, want at least 20: %w", pid, len(f), errMalformed)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Process{}, fmt.Errorf("parse stat ppid of pid %d: %w", pid, err)
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return Process{}, fmt.Errorf("parse stat process group of pid %d: %w", pid, err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Process{}, fmt.Errorf("parse stat start time of pid %d: %w", pid, err)
	}
	return Process{PID: pid, PPID: ppid, Pgrp: pgrp, State: f[0], Comm: s[open+1 : end], StartTime: start}, nil
}
