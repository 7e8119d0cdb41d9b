package hoststate

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// errMalformed is wrapped by every parser's error about its input.
var errMalformed = errors.New("malformed line")

// parseSysvIPC reads /proc/sysvipc/msg, shm or sem: a header line, then one
// row per object whose first two columns are the key (signed decimal) and
// the id.
func parseSysvIPC(r io.Reader) ([]IPCEntry, error) {
	var entries []IPCEntry
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] == "key" {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("parse sysvipc line %d %q: %w", n, sc.Text(), errMalformed)
		}
		key, err := strconv.ParseInt(f[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse sysvipc key on line %d: %w", n, err)
		}
		id, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("parse sysvipc id on line %d: %w", n, err)
		}
		entries = append(entries, IPCEntry{Key: int32(key), ID: id})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read sysvipc: %w", err)
	}
	slices.SortFunc(entries, func(a, b IPCEntry) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.ID, b.ID))
	})
	return entries, nil
}

// mount is one line of /proc/PID/mountinfo (see proc(5)). Paths keep the
// kernel's octal escapes (\040 for a space), so that a line never gains a
// field.
type mount struct {
	ID, Parent   int
	MajorMinor   string
	Root         string
	MountPoint   string
	Options      string
	Optional     []string // shared:N, master:N, propagate_from:N, unbindable
	FSType       string
	Source       string
	SuperOptions string
}

// parseMountinfo reads /proc/PID/mountinfo.
func parseMountinfo(r io.Reader) ([]mount, error) {
	var mounts []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		// Six fields before the optional ones, three after the separator.
		if sep < 6 || len(f) < sep+3 {
			return nil, fmt.Errorf("parse mountinfo line %d %q: %w", n, line, errMalformed)
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("parse mount id on line %d: %w", n, err)
		}
		parent, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("parse parent mount id on line %d: %w", n, err)
		}
		m := mount{
			ID: id, Parent: parent, MajorMinor: f[2], Root: f[3], MountPoint: f[4], Options: f[5],
			Optional: slices.Clone(f[6:sep]),
			FSType:   f[sep+1], Source: f[sep+2],
		}
		if len(f) > sep+3 {
			m.SuperOptions = f[sep+3]
		}
		mounts = append(mounts, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return mounts, nil
}

// propagation names the propagation type that a mount's optional fields
// give it.
func (m mount) propagation() string {
	var shared, slave, unbindable bool
	for _, o := range m.Optional {
		switch {
		case strings.HasPrefix(o, "shared:"):
			shared = true
		case strings.HasPrefix(o, "master:"):
			slave = true
		case o == "unbindable":
			unbindable = true
		}
	}
	switch {
	case shared && slave:
		return "shared+slave"
	case shared:
		return "shared"
	case slave:
		return "slave"
	case unbindable:
		return "unbindable"
	}
	return "private"
}

// line is the mount as a Snapshot keeps it: everything that says what is
// mounted where and how, without the mount ids and device numbers, which
// the kernel hands out anew and which would make two equal tables differ.
//
//	/proc proc proc root=/ opts=rw,nosuid super=rw prop=shared:14
func (m mount) line() string {
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
	rootPropagation string
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
		t.lines = append(t.lines, m.line())
		if m.MountPoint == "/" {
			t.rootPropagation = m.propagation()
		}
		if m.FSType == "mqueue" && (t.mqueue == "" || m.MountPoint == "/dev/mqueue") {
			t.mqueue = unescapeOctal(m.MountPoint)
		}
	}
	slices.Sort(t.lines)
	return t, nil
}

// unescapeOctal undoes the kernel's \ooo escapes of space, tab, newline and
// backslash in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

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
	// After comm: state (field 3), ppid (4), … starttime (22).
	f := strings.Fields(s[end+1:])
	if len(f) < 20 {
		return Process{}, fmt.Errorf("parse stat of pid %d: %d fields after comm, want at least 20: %w", pid, len(f), errMalformed)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Process{}, fmt.Errorf("parse stat ppid of pid %d: %w", pid, err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Process{}, fmt.Errorf("parse stat start time of pid %d: %w", pid, err)
	}
	return Process{PID: pid, PPID: ppid, State: f[0], Comm: s[open+1 : end], StartTime: start}, nil
}
