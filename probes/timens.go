package probes

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// FormatTimensOffsets is what /proc/PID/timens_offsets takes: one line per
// clock, "<clock> <seconds> <nanoseconds>", nanoseconds in [0, 1e9), so a
// negative offset has negative seconds. One write applies all lines
// together, and only to a time namespace no process has entered yet.
func FormatTimensOffsets(monotonic, boottime time.Duration) string {
	line := func(clock string, d time.Duration) string {
		sec, nsec := int64(d/time.Second), int64(d%time.Second)
		if nsec < 0 {
			sec, nsec = sec-1, nsec+int64(time.Second)
		}
		return fmt.Sprintf("%s %d %d\n", clock, sec, nsec)
	}
	return line("monotonic", monotonic) + line("boottime", boottime)
}

// ParseTimensOffsets parses /proc/PID/timens_offsets: one line per clock,
// "<clock> <seconds> <nanoseconds>", with the clock named as the kernel
// prints it ("monotonic", "boottime") or numbered as it may be written
// (1, 7). The kernel normalises a negative offset to negative seconds and
// non-negative nanoseconds ("-2 500000000" is -1.5 s). A clock without a
// line has no offset.
func ParseTimensOffsets(r io.Reader) (monotonic, boottime time.Duration, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return 0, 0, fmt.Errorf("parse timens offsets: want 3 fields (clock seconds nanoseconds), got %q", sc.Text())
		}
		sec, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse timens offsets seconds: %w", err)
		}
		nsec, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse timens offsets nanoseconds: %w", err)
		}
		if nsec < 0 || nsec >= int64(time.Second) {
			return 0, 0, fmt.Errorf("parse timens offsets: nanoseconds %d out of range [0, 999999999] in %q", nsec, sc.Text())
		}
		const maxSec = int64(1<<63-1) / int64(time.Second)
		if sec > maxSec || sec < -maxSec {
			return 0, 0, fmt.Errorf("parse timens offsets: %d seconds do not fit a time.Duration", sec)
		}
		d := time.Duration(sec)*time.Second + time.Duration(nsec)
		switch fields[0] {
		case "monotonic", "1":
			monotonic = d
		case "boottime", "7":
			boottime = d
		default:
			return 0, 0, fmt.Errorf("parse timens offsets: unknown clock %q, want monotonic or boottime", fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read timens offsets: %w", err)
	}
	return monotonic, boottime, nil
}
