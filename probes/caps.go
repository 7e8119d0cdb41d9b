package probes

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"strings"
)

// Caps is what /proc/PID/status says a process may do beyond its ids: its
// five capability sets, decoded to names, and the two switches that shrink
// what it may gain (no_new_privs) or call (seccomp). Capabilities count in
// the user namespace the process is in: a full set there grants nothing
// over what an outer user namespace owns.
type Caps struct {
	Inh []string `json:"inh"`
	Prm []string `json:"prm"`
	Eff []string `json:"eff"`
	Bnd []string `json:"bnd"`
	Amb []string `json:"amb"`
	// NoNewPrivs is the NoNewPrivs line; nil on a kernel that does not
	// print it (before 4.10).
	NoNewPrivs *bool `json:"no_new_privs,omitempty"`
	// Seccomp is the mode: "disabled", "strict" or "filter"; empty on a
	// kernel built without seccomp.
	Seccomp string `json:"seccomp,omitempty"`
	// SeccompFilters is the number of filters attached; nil on a kernel
	// that does not print it (before 5.9).
	SeccompFilters *int `json:"seccomp_filters,omitempty"`
	// LSM is the security label of /proc/self/attr/current ("unconfined",
	// "system_u:system_r:unconfined_t:s0"); empty where no LSM gives one.
	LSM string `json:"lsm,omitempty"`
}

// capNames are the capabilities by bit number, as capability.h names them.
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// KnownCaps is how many capabilities this package can name (bits 0 to
// KnownCaps-1); a newer kernel's are named cap_N.
var KnownCaps = len(capNames)

// CapName names capability bit n: "CAP_SYS_ADMIN" for 21, "cap_45" for a
// bit this package does not know.
func CapName(n int) string {
	if n >= 0 && n < len(capNames) {
		return capNames[n]
	}
	return "cap_" + strconv.Itoa(n)
}

// DecodeCaps names the bits set in mask, lowest bit first.
func DecodeCaps(mask uint64) []string {
	names := []string{}
	for mask != 0 {
		n := bits.TrailingZeros64(mask)
		names = append(names, CapName(n))
		mask &^= 1 << n
	}
	return names
}

// seccompModes names the Seccomp line's values (SECCOMP_MODE_*).
var seccompModes = map[string]string{"0": "disabled", "1": "strict", "2": "filter"}

// ParseStatus parses the capability and seccomp lines of /proc/PID/status.
// The five Cap lines are required; NoNewPrivs, Seccomp and Seccomp_filters
// are read where the kernel prints them. The LSM label is not in status
// and is left empty.
func ParseStatus(r io.Reader) (*Caps, error) {
	c := &Caps{}
	sets := map[string]*[]string{"CapInh": &c.Inh, "CapPrm": &c.Prm, "CapEff": &c.Eff, "CapBnd": &c.Bnd, "CapAmb": &c.Amb}
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch name {
		case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb":
			mask, err := strconv.ParseUint(value, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("parse status: %s %q is not a 64-bit hex mask", name, value)
			}
			*sets[name] = DecodeCaps(mask)
			seen[name] = true
		case "NoNewPrivs":
			v, err := strconv.ParseBool(value)
			if err != nil {
				return nil, fmt.Errorf("parse status: NoNewPrivs %q is not 0 or 1", value)
			}
			c.NoNewPrivs = &v
		case "Seccomp":
			mode, ok := seccompModes[value]
			if !ok {
				return nil, fmt.Errorf("parse status: Seccomp %q is not a mode (0, 1 or 2)", value)
			}
			c.Seccomp = mode
		case "Seccomp_filters":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("parse status: Seccomp_filters %q is not a count", value)
			}
			c.SeccompFilters = &n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read status: %w", err)
	}
	for _, name := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if !seen[name] {
			// CapAmb arrived in 4.3, the others long before.
			return nil, fmt.Errorf("parse status: no %s line (ambient capabilities need Linux 4.3)", name)
		}
	}
	return c, nil
}

// ParseLSMLabel reads /proc/PID/attr/current: the label, without the
// trailing newline or NUL some LSMs add.
func ParseLSMLabel(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("read lsm label: %w", err)
	}
	return strings.TrimRight(string(b), "\x00\n"), nil
}

// ParseNSpid returns the pids of the NSpid line of /proc/PID/status,
// outermost first, or nil when the kernel does not print one.
func ParseNSpid(r io.Reader) ([]int, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "NSpid:")
		if !ok {
			continue
		}
		var pids []int
		for _, f := range strings.Fields(v) {
			pid, err := strconv.Atoi(f)
			if err != nil || pid <= 0 {
				return nil, fmt.Errorf("parse status: NSpid %q is not a list of pids", strings.TrimSpace(v))
			}
			pids = append(pids, pid)
		}
		if len(pids) == 0 {
			return nil, errors.New("parse status: empty NSpid line")
		}
		return pids, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read status: %w", err)
	}
	return nil, nil
}

// CapsSummary says in a few words what root inside holds, for a table:
// "none" without effective capabilities, "host root (40/41)" with some in
// the initial user namespace, "full in own userns" with every known one
// in another, else "N/41 in own userns". Empty when r has no caps.
func CapsSummary(r *Report) string {
	if r == nil || r.Caps == nil {
		return ""
	}
	eff := len(r.Caps.Eff)
	switch {
	case eff == 0:
		return "none"
	case r.NS["user"].Ino == InitialUserIno:
		return fmt.Sprintf("host root (%d/%d)", eff, KnownCaps)
	case eff >= KnownCaps:
		return "full in own userns"
	}
	return fmt.Sprintf("%d/%d in own userns", eff, KnownCaps)
}
