package probes

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// FlagCanaries names the probe's flag that lists the canaries to reach.
const FlagCanaries = "canaries"

// The canaries a host plants for one child, each reached or not from
// inside as the child's namespaces say. Each is named by the kind whose
// isolation keeps the child from it.
const (
	// CanaryAbstract is an abstract unix socket the host listens on in its
	// network namespace (net).
	CanaryAbstract = "net-abstract"
	// CanaryTCP is a TCP listener on the host's loopback (net).
	CanaryTCP = "net-tcp"
	// CanarySysV is a SysV shared memory segment of the host's (ipc).
	CanarySysV = "ipc-shm"
	// CanaryMqueue is a POSIX message queue of the host's (ipc).
	CanaryMqueue = "ipc-mq"
	// CanaryMount is a file on a mount made in the host's mount
	// namespace once the child's existed (mnt).
	CanaryMount = "mnt-file"
	// CanaryProcess is a process of the host's, signalled with signal 0
	// (pid).
	CanaryProcess = "pid-process"
)

// CanaryKinds maps each canary to the namespace kind that must keep a
// child from it.
var CanaryKinds = map[string]string{
	CanaryAbstract: "net", CanaryTCP: "net", CanarySysV: "ipc", CanaryMqueue: "ipc", CanaryMount: "mnt", CanaryProcess: "pid",
}

// Canaries says where the planted canaries are, as the probe's -canaries
// flag carries it, and the token the child leaves where it reaches one,
// so that the host sees who came.
type Canaries struct {
	Token    string
	Abstract string // the socket's name, without the leading NUL
	TCP      string // host:port on the loopback
	SysVKey  int32
	Mqueue   string // the queue's name, without the slash
	File     string
	PID      int
}

// String formats c as -canaries takes it: "name=value,…", with the token
// first. Values never hold a comma: the host makes them.
func (c Canaries) String() string {
	parts := []string{"token=" + c.Token}
	add := func(name, value string) {
		if value != "" {
			parts = append(parts, name+"="+value)
		}
	}
	add(CanaryAbstract, c.Abstract)
	add(CanaryTCP, c.TCP)
	if c.SysVKey != 0 {
		add(CanarySysV, strconv.FormatInt(int64(c.SysVKey), 10))
	}
	add(CanaryMqueue, c.Mqueue)
	add(CanaryMount, c.File)
	if c.PID != 0 {
		add(CanaryProcess, strconv.Itoa(c.PID))
	}
	return strings.Join(parts, ",")
}

// ParseCanaries parses what String formats.
func ParseCanaries(s string) (Canaries, error) {
	var c Canaries
	for _, part := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(part, "=")
		if !ok || value == "" {
			return c, fmt.Errorf("parse canaries: %q is not name=value", part)
		}
		switch name {
		case "token":
			c.Token = value
		case CanaryAbstract:
			c.Abstract = value
		case CanaryTCP:
			c.TCP = value
		case CanarySysV:
			k, err := strconv.ParseInt(value, 10, 32)
			if err != nil || k == 0 {
				return c, fmt.Errorf("parse canaries: %s key %q is not a non-zero 32-bit integer", name, value)
			}
			c.SysVKey = int32(k)
		case CanaryMqueue:
			c.Mqueue = value
		case CanaryMount:
			c.File = value
		case CanaryProcess:
			pid, err := strconv.Atoi(value)
			if err != nil || pid <= 0 {
				return c, fmt.Errorf("parse canaries: %s %q is not a pid", name, value)
			}
			c.PID = pid
		default:
			names := slices.Sorted(maps.Keys(CanaryKinds))
			return c, fmt.Errorf("parse canaries: unknown canary %q; use token or one of %s", name, strings.Join(names, " "))
		}
	}
	if c.Token == "" {
		return c, fmt.Errorf("parse canaries: no token in %q", s)
	}
	return c, nil
}

// CanaryAttempt is what the probe's attempt on one canary gave: whether it
// reached it, by its own account, and the call's answer.
type CanaryAttempt struct {
	Reached bool   `json:"reached"`
	Detail  string `json:"detail"`
}
