//go:build linux

package suite

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// Host is what the suite knows of the host: the probe's report with the
// empty set, and the same values read directly by the suite's own process.
type Host struct {
	Report     *probes.Report
	NS         map[string]probes.NSID
	Hostname   string
	Domainname string
	UID, GID   int
	UIDMap     []probes.IDRange
	GIDMap     []probes.IDRange
	// OwnsPIDNamespace says whether the suite's user namespace owns its
	// pid namespace. When it does not (the suite runs inside a user
	// namespace of its own), no child can mount a /proc for that pid
	// namespace, just as a child in a new user namespace cannot.
	OwnsPIDNamespace bool
}

// Compared is what the oracles compare a child's report with, for a spec's
// report entry: a few values, the same size on any host. The host's whole
// report is attached once, as the suite's "host baseline" entry.
func (h *Host) Compared() map[string]any {
	return map[string]any{
		"ns": h.NS, "hostname": h.Hostname, "domainname": h.Domainname,
		"uid": h.UID, "gid": h.GID, "uid_map": h.UIDMap, "gid_map": h.GIDMap,
	}
}

// ReadHost runs the probe with no namespace and reads the host directly.
func ReadHost(probe string) (*Host, error) {
	res, err := spawn.Run(context.Background(), spawn.Options{Probe: probe, Set: spawn.None})
	if err != nil {
		return nil, fmt.Errorf("run probe with the empty set: %w", err)
	}
	h := &Host{Report: res.Report, NS: map[string]probes.NSID{}, UID: os.Getuid(), GID: os.Getgid()}
	entries, err := os.ReadDir("/proc/self/ns")
	if err != nil {
		return nil, fmt.Errorf("read own namespaces: %w", err)
	}
	for _, e := range entries {
		id, err := probes.StatNSID("/proc/self/ns/" + e.Name())
		if err != nil {
			return nil, err
		}
		h.NS[e.Name()] = id
	}
	if h.Hostname, h.Domainname, err = uname(); err != nil {
		return nil, err
	}
	h.OwnsPIDNamespace = ownsPIDNamespace(h.NS["user"])
	if h.UIDMap, err = readIDMap("/proc/self/uid_map"); err != nil {
		return nil, err
	}
	if h.GIDMap, err = readIDMap("/proc/self/gid_map"); err != nil {
		return nil, err
	}
	return h, nil
}

// ownsPIDNamespace asks the kernel which user namespace owns the suite's
// pid namespace (NS_GET_USERNS) and compares it with the suite's own. The
// kernel refuses the question (EPERM) when the owner is outside the
// suite's user namespace, which also means it is not the suite's.
func ownsPIDNamespace(user probes.NSID) bool {
	owner, err := probes.OwnerOf("/proc/self/ns/pid")
	return err == nil && !owner.Outside && owner.ID == user
}

func uname() (hostname, domainname string, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", fmt.Errorf("read uname: %w", err)
	}
	return unix.ByteSliceToString(u.Nodename[:]), unix.ByteSliceToString(u.Domainname[:]), nil
}

func readIDMap(path string) ([]probes.IDRange, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open id map: %w", err)
	}
	defer f.Close()
	return probes.ParseIDMap(f)
}

// hostMsgKeys returns the keys of the host's SysV message queues.
func hostMsgKeys() ([]int32, error) {
	f, err := os.Open("/proc/sysvipc/msg")
	if err != nil {
		return nil, fmt.Errorf("open sysvipc msg: %w", err)
	}
	defer f.Close()
	objs, err := probes.ParseSysvIPC(f)
	if err != nil {
		return nil, err
	}
	return msgKeys(&probes.IPC{Msg: objs}), nil
}

// hostSysvObjects lists the host's SysV message queues, shared memory
// segments and semaphore sets, each as sysvObjects names them.
func hostSysvObjects() ([]string, error) {
	var ipc probes.IPC
	for _, f := range []struct {
		name string
		objs *[]probes.IPCObject
	}{{"msg", &ipc.Msg}, {"shm", &ipc.Shm}, {"sem", &ipc.Sem}} {
		file, err := os.Open("/proc/sysvipc/" + f.name)
		if err != nil {
			return nil, fmt.Errorf("open sysvipc %s: %w", f.name, err)
		}
		*f.objs, err = probes.ParseSysvIPC(file)
		file.Close()
		if err != nil {
			return nil, fmt.Errorf("read sysvipc %s: %w", f.name, err)
		}
	}
	return sysvObjects(&ipc), nil
}

// sysvObjects names every SysV object in ipc by its type, key and id
// ("msg key=42 id=3"): the id tells two objects with one key (IPC_PRIVATE)
// apart, and two namespaces' objects rarely agree on both.
func sysvObjects(ipc *probes.IPC) []string {
	if ipc == nil {
		return nil
	}
	var out []string
	for _, t := range []struct {
		name string
		objs []probes.IPCObject
	}{{"msg", ipc.Msg}, {"shm", ipc.Shm}, {"sem", ipc.Sem}} {
		for _, o := range t.objs {
			out = append(out, fmt.Sprintf("%s key=%d id=%d", t.name, o.Key, o.ID))
		}
	}
	return out
}

func msgKeys(ipc *probes.IPC) []int32 {
	if ipc == nil {
		return nil
	}
	keys := make([]int32, 0, len(ipc.Msg))
	for _, o := range ipc.Msg {
		keys = append(keys, o.Key)
	}
	return keys
}

// hostLinkNames lists the host's links, those of the suite's own network
// namespace, from /proc/self/net/dev: the same links a netlink dump lists,
// for a third of its cost (the dump decodes every attribute of every
// link), and the specs read them twice around every child that shares net.
func hostLinkNames() ([]string, error) {
	f, err := os.Open("/proc/self/net/dev")
	if err != nil {
		return nil, fmt.Errorf("read host links: %w", err)
	}
	defer f.Close()
	names, err := probes.ParseNetDev(f)
	if err != nil {
		return nil, fmt.Errorf("read host links: %w", err)
	}
	return names, nil
}

// hostMountinfo is the host's mount table as text, for before/after checks.
func hostMountinfo() []byte {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []byte("read mountinfo: " + err.Error())
	}
	return bytes.TrimSpace(b)
}

func clockNow(id int32) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}
