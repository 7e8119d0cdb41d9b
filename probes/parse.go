package probes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ParseSysvIPC parses /proc/sysvipc/msg, shm or sem: a header line, then
// one row per object whose first two columns are the key and the id.
func ParseSysvIPC(r io.Reader) ([]IPCObject, error) {
	sc := bufio.NewScanner(r)
	objs := []IPCObject{}
	header := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if header {
			header = false
			if strings.HasPrefix(line, "key") {
				continue
			}
		}
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return nil, fmt.Errorf("parse sysvipc: short row %q", line)
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

// ParseIDMap parses /proc/PID/uid_map or gid_map: "inside outside count"
// per line.
func ParseIDMap(r io.Reader) ([]IDRange, error) {
	sc := bufio.NewScanner(r)
	ranges := []IDRange{}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return nil, fmt.Errorf("parse id map: want 3 fields, got %q", sc.Text())
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

// ParseCgroup parses /proc/PID/cgroup into its trimmed lines
// ("hierarchy-id:controllers:path").
func ParseCgroup(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	lines := []string{}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.Count(line, ":") < 2 {
			return nil, fmt.Errorf("parse cgroup: malformed line %q", line)
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read cgroup: %w", err)
	}
	return lines, nil
}

// CgroupPath returns the path of the cgroup lines' hierarchy whose
// controller list holds controller; "" means the v2 line ("0::/path").
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

// ParseCapEff returns the hex of the CapEff line of /proc/PID/status.
func ParseCapEff(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read status: %w", err)
	}
	return "", errors.New("parse status: no CapEff line")
}

// ParseTimensOffsets parses /proc/PID/timens_offsets: one line per clock,
// "<clock> <seconds> <nanoseconds>", the clock named or numbered.
func ParseTimensOffsets(r io.Reader) (monotonic, boottime time.Duration, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return 0, 0, fmt.Errorf("parse timens offsets: want 3 fields, got %q", sc.Text())
		}
		sec, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse timens offsets: %w", err)
		}
		nsec, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse timens offsets: %w", err)
		}
		d := time.Duration(sec)*time.Second + time.Duration(nsec)
		switch fields[0] {
		case "monotonic", "1":
			monotonic = d
		case "boottime", "7":
			boottime = d
		default:
			return 0, 0, fmt.Errorf("parse timens offsets: unknown clock %q", fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read timens offsets: %w", err)
	}
	return monotonic, boottime, nil
}

// Mount is one line of /proc/PID/mountinfo.
type Mount struct {
	ID, Parent int
	MountPoint string
	Options    string
	// Optional holds the optional fields, such as "shared:1" or "master:2".
	Optional []string
	FSType   string
	Source   string
}

// ParseMountinfo parses /proc/PID/mountinfo (see proc(5)).
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	mounts := []Mount{}
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			return nil, fmt.Errorf("parse mountinfo: no separator in %q", line)
		}
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if len(f) < 6 || len(g) < 2 {
			return nil, fmt.Errorf("parse mountinfo: short line %q", line)
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("parse mountinfo id: %w", err)
		}
		parent, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("parse mountinfo parent: %w", err)
		}
		mounts = append(mounts, Mount{
			ID: id, Parent: parent,
			MountPoint: unescapeOctal(f[4]),
			Options:    f[5],
			Optional:   f[6:],
			FSType:     g[0],
			Source:     unescapeOctal(g[1]),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return mounts, nil
}

// unescapeOctal undoes the kernel's \040-style escapes of spaces and such.
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

// DecodeReport decodes the one JSON report a probe prints. Anything else
// (nothing, invalid JSON, two objects, another schema) is an error that
// says so.
func DecodeReport(r io.Reader) (*Report, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decode report: read: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("decode report: the probe printed nothing")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("decode report: the probe printed invalid JSON: %w", err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, errors.New("decode report: the probe printed more than one JSON object")
	}
	if rep.Schema != Schema {
		return nil, fmt.Errorf("decode report: schema %d, this reader knows %d; rebuild the probe", rep.Schema, Schema)
	}
	return &rep, nil
}
