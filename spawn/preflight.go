package spawn

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// ANSI colours of the preflight table.
const (
	ansiGreen = "\x1b[32m"
	ansiRed   = "\x1b[31m"
	ansiBold  = "\x1b[1m"
	ansiReset = "\x1b[0m"
)

// WriteTable writes what Detect found as a table for people to read, in the
// manner of check-config.sh: a header with the machine facts (kernel, who
// runs it and which of the host's namespaces it may change, cgroup layout, propagation of /, the distribution switches for
// user namespaces), then one row per kind saying whether it is supported,
// its limit, and why not and what to do. With color, it uses ANSI colours;
// ask for them only on a terminal (see ColorWanted).
func (f *Features) WriteTable(w io.Writer, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	b.WriteString(paint(ansiBold, "nsverify preflight: which namespaces can this machine create?") + "\n")
	runs, change, create := f.describe()
	fields := [][2]string{
		{"kernel", f.Kernel},
		{"runs as", runs},
		{"can change", change},
		{"can create", create},
		{"cgroup layout", describeCgroups(f.CgroupLayout)},
		{"propagation of /", describePropagation(f.RootPropagation)},
		{"seccomp", orUnknown(f.Seccomp)},
		{"user namespaces", describeSwitches(&f.Machine)},
		{"inside a new one", describeUserNSCapability(f.UserNS)},
		{"setns by pidfd", describePidfdJoin(f.Kernel)},
	}
	for _, kv := range fields {
		fmt.Fprintf(&b, "  %-17s %s\n", kv[0], kv[1])
	}
	if f.Error != "" {
		fmt.Fprintf(&b, "  %-17s %s\n", "error", paint(ansiRed, f.Error))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  %s\n", paint(ansiBold, fmt.Sprintf("%-7s %-10s %-7s %s", "KIND", "SUPPORTED", "LIMIT", "WHY NOT, AND THE REMEDY")))
	supported := 0
	for _, ks := range f.Kinds {
		yes := "no"
		if ks.Supported() {
			yes = "yes"
			supported++
		}
		yesCell := fmt.Sprintf("%-10s", yes)
		if ks.Supported() {
			yesCell = paint(ansiGreen, yesCell)
		} else {
			yesCell = paint(ansiRed, yesCell)
		}
		limit := "-"
		if ks.Limit >= 0 {
			limit = strconv.FormatInt(ks.Limit, 10)
		}
		limitCell := fmt.Sprintf("%-7s", limit)
		if ks.Limit == 0 {
			limitCell = paint(ansiRed, limitCell)
		}
		note := strings.TrimPrefix(ks.Reason, string(ks.Kind)+": ")
		if ks.Supported() && ks.InUserNS {
			note = "inside a new user namespace only (this process lacks CAP_SYS_ADMIN)"
		}
		line := fmt.Sprintf("  %-7s %s %s %s", ks.Kind, yesCell, limitCell, note)
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	fmt.Fprintf(&b, "\n  %d of %d kinds can be created here.\n", supported, len(f.Kinds))
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write preflight table: %w", err)
	}
	return nil
}

func describeCgroups(layout string) string {
	switch layout {
	case "v1":
		return "v1 (cgroup hierarchies only)"
	case "v2":
		return "v2 (unified hierarchy)"
	case "hybrid":
		return "hybrid (v1 hierarchies and a v2 hierarchy)"
	case "none":
		return "none (no cgroup file system is mounted)"
	}
	return orUnknown(layout)
}

func describePropagation(p probes.Propagation) string {
	if p.Shared() {
		return string(p) + " (a mount namespace must make / private before it mounts anything; the probe does)"
	}
	return orUnknown(string(p))
}

// describeSwitches lists the distribution switches for user namespaces
// that this kernel has, with their values.
func describeSwitches(m *Machine) string {
	var parts []string
	if m.UserNamespaceEnable != "" {
		parts = append(parts, "user_namespace.enable="+m.UserNamespaceEnable)
	}
	if m.UnprivilegedUsernsClone >= 0 {
		parts = append(parts, "kernel.unprivileged_userns_clone="+strconv.Itoa(m.UnprivilegedUsernsClone))
	}
	if m.AppArmorRestrictUnprivilegedUserns >= 0 {
		parts = append(parts, "kernel.apparmor_restrict_unprivileged_userns="+strconv.Itoa(m.AppArmorRestrictUnprivilegedUserns))
	}
	if len(parts) == 0 {
		return "no distribution switch (user_namespace.enable, kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns) on this kernel"
	}
	return strings.Join(parts, ", ")
}

// userNSTrial is how the preflight's child fared in a new user namespace:
// whether it was cloned there, and the error of the clone or of its
// sethostname (nil: it set the hostname).
type userNSTrial struct {
	cloned bool
	err    error
}

// judgeUserNSCapability makes the UserNSCapability of a trial. A child
// cloned and refused names the sysctl of Ubuntu's AppArmor restriction
// either way: as the cause where it is 1, and as ruled out where it is
// not, so that the reason always says which it was.
func judgeUserNSCapability(m *Machine, t userNSTrial) UserNSCapability {
	u := UserNSCapability{Tried: t.cloned, Held: t.cloned && t.err == nil}
	if t.err == nil {
		return u
	}
	u.Error = t.err.Error()
	var errno syscall.Errno
	if errors.As(t.err, &errno) {
		u.Errno = unix.ErrnoName(errno)
	}
	if !t.cloned {
		return u
	}
	what := "a new user namespace holds no capability here: a child in one could not set the hostname of a uts namespace that user namespace owns (" + u.Error + ")"
	const sysctl = "kernel.apparmor_restrict_unprivileged_userns"
	switch {
	case m.AppArmorRestrictUnprivilegedUserns == 1 && !m.AdminInInitialUserNS():
		x := explainAppArmor()
		u.Reason = fmt.Sprintf("user: %s, since AppArmor makes the user namespaces of unprivileged processes powerless (%s is 1): they are created, and every kind inside them, but no capability counts there; %s", what, sysctl, x.remedy)
		u.Remedy = x.remedy
	default:
		value := "absent"
		if m.AppArmorRestrictUnprivilegedUserns >= 0 {
			value = strconv.Itoa(m.AppArmorRestrictUnprivilegedUserns)
		}
		by := "a security module"
		if m.Seccomp == "filter" {
			by = "a seccomp filter on this process (Seccomp: 2 in /proc/self/status) or a security module"
		}
		u.Remedy = "check the kernel's audit log (`dmesg`, `ausearch -m avc`) for the denial, or run as root (sudo)"
		u.Reason = fmt.Sprintf("user: %s, and not by AppArmor's restriction (%s is %s): %s takes its capabilities; %s", what, sysctl, value, by, u.Remedy)
	}
	return u
}

// describeUserNSCapability says, for the table, whether a new user
// namespace holds its capabilities.
func describeUserNSCapability(u UserNSCapability) string {
	switch {
	case u.Held:
		return "holds its capabilities (a child set the hostname of a uts namespace it owns)"
	case u.Tried:
		return "holds NO capability: " + strings.TrimPrefix(u.Reason, "user: ")
	case u.Error != "":
		return "not tried: no user namespace could be made (" + u.Error + ")"
	}
	return "not tried: this kernel has no user or uts namespaces"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// ColorWanted reports whether output to f should be coloured: f is a
// terminal, NO_COLOR is unset or empty (https://no-color.org) and TERM is
// not "dumb".
func ColorWanted(f *os.File) bool {
	if f == nil || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(f)
}
