package probes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ParseSysvIPC parses /proc/sysvipc/msg, shm or sem: a header line (whose
// first column is "key"), then one row per object whose first two columns
// are the key (a signed decimal key_t) and the id.
func ParseSysvIPC(r io.Reader) ([]IPCObject, error) {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read sysvipc: %w", err)
		}
		return nil, errors.New("parse sysvipc: empty input, want a header line starting with key")
	}
	// The header tells a sysvipc file from some other file read by mistake.
	if fields := strings.Fields(sc.Text()); len(fields) < 2 || fields[0] != "key" {
		return nil, fmt.Errorf("parse sysvipc: first line %q is not the header (key id perms …)", sc.Text())
	}
	objs := []IPCObject{}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("parse sysvipc: short row %q", sc.Text())
		}
		key, err := strconv.ParseInt(fields[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse sysvipc key: %w", err)
		}
		id, err := strconv.Atoi(fields[1])
		if err != nil {
			return nil, fmt.Errorf("parse sysvipc id: %w", err)
		}
		objs = append(objs, IPCObject{Key: int32(key), ID: id})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read sysvipc: %w", err)
	}
	return objs, nil
}

// ParseNetDev returns the names of the links /proc/PID/net/dev lists,
// sorted: two header lines, then one row per link of the reader's network
// namespace, its name up to a colon (which no link name may hold).
func ParseNetDev(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	for i := range 2 {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return nil, fmt.Errorf("read net dev: %w", err)
			}
			return nil, fmt.Errorf("parse net dev: %d lines, want two header lines and a row per link", i)
		}
		// The header tells net/dev from some other file read by mistake.
		if !strings.Contains(sc.Text(), "|") {
			return nil, fmt.Errorf("parse net dev: line %d %q is not a header", i+1, sc.Text())
		}
	}
	names := []string{}
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if name = strings.TrimSpace(name); !ok || name == "" {
			return nil, fmt.Errorf("parse net dev: row %q has no link name", line)
		}
		names = append(names, name)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read net dev: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// ParseIDMap parses /proc/PID/uid_map or gid_map: "inside outside count"
// per line. A map that was never written is empty, and so is the result.
func ParseIDMap(r io.Reader) ([]IDRange, error) {
	sc := bufio.NewScanner(r)
	ranges := []IDRange{}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return nil, fmt.Errorf("parse id map: want 3 fields (inside outside count), got %q", sc.Text())
		}
		var rg IDRange
		for i, f := range fields {
			v, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("parse id map: %w", err)
			}
			rg[i] = uint32(v)
		}
		ranges = append(ranges, rg)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read id map: %w", err)
	}
	return ranges, nil
}

// ParseCgroup parses /proc/PID/cgroup into its trimmed lines, each
// "hierarchy-id:controllers:path". Blank lines are dropped.
func ParseCgroup(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	lines := []string{}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		// The path may itself hold colons, so only the first two count.
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			return nil, fmt.Errorf("parse cgroup: line %q is not hierarchy-id:controllers:/path", line)
		}
		if _, err := strconv.Atoi(parts[0]); err != nil {
			return nil, fmt.Errorf("parse cgroup: line %q: hierarchy id: %w", line, err)
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read cgroup: %w", err)
	}
	return lines, nil
}

// CgroupPath returns the path in lines (as ParseCgroup returns them) of the
// hierarchy that controller belongs to. The empty controller means the
// cgroup v2 hierarchy, the line "0::/path"; any other is looked up in the
// comma-separated controller lists of cgroup v1 lines ("memory",
// "cpuacct" in "3:cpu,cpuacct:/", "name=systemd").
func CgroupPath(lines []string, controller string) (string, bool) {
	for _, line := range lines {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" {
			if parts[0] == "0" && parts[1] == "" {
				return parts[2], true
			}
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return parts[2], true
			}
		}
	}
	return "", false
}

// ParseCapEff returns the hex of the CapEff line of /proc/PID/status, as
// the kernel prints it (16 digits, "000001ffffffffff" for full root).
func ParseCapEff(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if _, err := strconv.ParseUint(v, 16, 64); err != nil {
			return "", fmt.Errorf("parse status: CapEff %q is not a 64-bit hex mask", v)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read status: %w", err)
	}
	return "", errors.New("parse status: no CapEff line")
}

// Mount is one line of /proc/PID/mountinfo (see proc(5)). Paths are
// unescaped: the kernel writes a space in a mount point as \040.
type Mount struct {
	ID, Parent int
	// MajorMinor is the st_dev of files on the mount, "0:21".
	MajorMinor string
	// Root is the path of the mounted directory within its filesystem.
	Root       string
	MountPoint string
	// Options are the per-mount options ("rw,nosuid,relatime").
	Options string
	// Optional holds the optional fields, such as "shared:1" or "master:2",
	// nil when there are none (a private mount).
	Optional []string
	FSType   string
	Source   string
	// SuperOptions are the per-superblock options.
	SuperOptions string
}

// Propagation is a mount's propagation type, as mount(8) names it.
type Propagation string

// The propagation types. A slave that is also shared is "shared+slave".
const (
	PropShared      Propagation = "shared"
	PropSlave       Propagation = "slave"
	PropSharedSlave Propagation = "shared+slave"
	PropUnbindable  Propagation = "unbindable"
	PropPrivate     Propagation = "private"
)

// Shared reports whether a mount of type p passes its mount events on to
// its peers: a mount made below it inside a new mount namespace would
// show outside.
func (p Propagation) Shared() bool { return p == PropShared || p == PropSharedSlave }

// Propagation names m's propagation type from its optional fields.
func (m Mount) Propagation() Propagation {
	var shared, slave, unbindable bool
	for _, f := range m.Optional {
		switch {
		case strings.HasPrefix(f, "shared:"):
			shared = true
		case strings.HasPrefix(f, "master:"):
			slave = true
		case f == "unbindable":
			unbindable = true
		}
	}
	switch {
	case shared && slave:
		return PropSharedSlave
	case shared:
		return PropShared
	case slave:
		return PropSlave
	case unbindable:
		return PropUnbindable
	}
	return PropPrivate
}

// RootPropagation returns the propagation of the mount at / in mounts
// (the last one there, the one on top, which is the one seen), and false
// when no mount is at /.
func RootPropagation(mounts []Mount) (Propagation, bool) {
	var p Propagation
	found := false
	for _, m := range mounts {
		if m.MountPoint == "/" {
			p, found = m.Propagation(), true
		}
	}
	return p, found
}

// ParseMountinfo parses /proc/PID/mountinfo (see proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// The optional fields run up to the lone "-", after which come the
// filesystem type, the source and the superblock options.
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	sc := bufio.NewScanner(r)
	// A line may be long: overlay mounts carry every lower directory.
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	mounts := []Mount{}
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		sep := -1
		// The first six fields are fixed; the separator comes after them.
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 6 || sep < 0 {
			return nil, fmt.Errorf("parse mountinfo: line %q has no \" - \" separator after six fields", line)
		}
		post := fields[sep+1:]
		if len(post) < 2 {
			return nil, fmt.Errorf("parse mountinfo: line %q lacks the filesystem type or source", line)
		}
		id, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("parse mountinfo mount id: %w", err)
		}
		parent, err := strconv.Atoi(fields[1])
		if err != nil {
			return nil, fmt.Errorf("parse mountinfo parent id: %w", err)
		}
		m := Mount{
			ID: id, Parent: parent,
			MajorMinor: fields[2],
			Root:       unescapeOctal(fields[3]),
			MountPoint: unescapeOctal(fields[4]),
			Options:    fields[5],
			FSType:     unescapeOctal(post[0]),
			Source:     unescapeOctal(post[1]),
		}
		if sep > 6 {
			m.Optional = append([]string(nil), fields[6:sep]...)
		}
		if len(post) > 2 {
			m.SuperOptions = post[2]
		}
		mounts = append(mounts, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return mounts, nil
}

// ReadMountinfo opens and parses the mountinfo file at path, such as
// /proc/self/mountinfo.
func ReadMountinfo(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open mountinfo: %w", err)
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// unescapeOctal undoes the kernel's escapes of space, tab, newline and
// backslash in mountinfo (\040, \011, \012, \134).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// DecodeReport decodes the one JSON report a probe prints. Anything else is
// an error that says what the probe printed instead: nothing, invalid JSON,
// something other than an object, more than one object, or a report of
// another schema (checked before the fields, whose meaning the schema
// number decides). A *bytes.Buffer is read in place and left unread.
func DecodeReport(r io.Reader) (*Report, error) {
	var data []byte
	if b, ok := r.(*bytes.Buffer); ok {
		// The caller's buffer, read in place rather than copied.
		data = b.Bytes()
	} else {
		var err error
		if data, err = io.ReadAll(r); err != nil {
			return nil, fmt.Errorf("decode report: read: %w", err)
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("decode report: the probe printed nothing")
	}
	// A report of this schema, alone, is decoded in one pass: the suite
	// decodes one per child. Anything else takes the passes below, which
	// say what is wrong.
	var rep Report
	if err := json.Unmarshal(data, &rep); err == nil && rep.Schema == Schema {
		return &rep, nil
	}
	rep = Report{}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode report: the probe printed invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode report: the probe printed more than one JSON object")
	}
	if raw[0] != '{' {
		return nil, fmt.Errorf("decode report: the probe printed %s, not a JSON object", abbreviate(raw))
	}
	var version struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal(raw, &version); err != nil {
		return nil, fmt.Errorf("decode report: read schema: %w", err)
	}
	if version.Schema != Schema {
		return nil, fmt.Errorf("decode report: schema %d, this reader knows %d; rebuild the probe", version.Schema, Schema)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("decode report: schema %d report does not fit this reader: %w", Schema, err)
	}
	return &rep, nil
}

// abbreviate shortens b for an error message.
func abbreviate(b []byte) string {
	const max = 40
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max]) + "…"
}
