//go:build linux

package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

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
	// Owners are the owner and parent of each of the suite's own
	// namespaces, as its own ioctls answer (nil where the kernel has none),
	// and NSpid its own NSpid line.
	Owners map[string]probes.Ownership
	NSpid  []int
	// OwnsPIDNamespace says whether the suite's user namespace owns its
	// pid namespace. When it does not (the suite runs inside a user
	// namespace of its own), no child can mount a /proc for that pid
	// namespace, just as a child in a new user namespace cannot.
	OwnsPIDNamespace bool

	comparedOnce sync.Once
	comparedJSON json.RawMessage
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

// compared is Compared as JSON, encoded once: every child's entry holds it.
func (h *Host) compared() json.RawMessage {
	h.comparedOnce.Do(func() {
		data, err := json.Marshal(h.Compared())
		if err != nil {
			data, _ = json.Marshal("encode the host's values: " + err.Error())
		}
		h.comparedJSON = data
	})
	return h.comparedJSON
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
	self := probes.ReadOutside(os.Getpid(), spawn.HasNSIoctls())
	if len(self.Errors) > 0 {
		return nil, fmt.Errorf("read the suite's own process from /proc: %v", self.Errors)
	}
	h.Owners, h.NSpid = self.Owners, self.NSpid
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

// hostHasQueue asks the kernel whether the host's ipc namespace has a SysV
// message queue with key: one msgget, whatever the number of queues.
func hostHasQueue(key int32) (bool, error) {
	_, err := probes.MsgGet(key, 0)
	switch {
	case err == nil, errors.Is(err, unix.EACCES):
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	}
	return false, fmt.Errorf("ask for the host's queue: %w", err)
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

// hostLinks is the host's list of links, read again only when the kernel
// says it changed: a netlink socket in the suite's network namespace,
// subscribed to link notifications, has one queued from the moment a link
// is added, removed or changed. A look costs one receive that finds
// nothing, whatever the number of links. Where no such socket can be had,
// every look reads the list.
var hostLinks struct {
	sync.Mutex
	subscribed bool
	fd         int
	names      []string
}

// hostLinkNames lists the host's links, those of the suite's own network
// namespace, from /proc/self/net/dev: the same links a netlink dump lists,
// for a third of its cost (the dump decodes every attribute of every
// link), and the specs read them twice around every child that shares net.
func hostLinkNames() ([]string, error) {
	hostLinks.Lock()
	defer hostLinks.Unlock()
	if hostLinks.names != nil && hostLinks.fd >= 0 && !linksChanged(hostLinks.fd) {
		return slices.Clone(hostLinks.names), nil
	}
	if !hostLinks.subscribed {
		hostLinks.fd, hostLinks.subscribed = subscribeToLinks(), true
	}
	f, err := os.Open("/proc/self/net/dev")
	if err != nil {
		return nil, fmt.Errorf("read host links: %w", err)
	}
	defer f.Close()
	names, err := probes.ParseNetDev(f)
	if err != nil {
		return nil, fmt.Errorf("read host links: %w", err)
	}
	hostLinks.names = names
	return slices.Clone(names), nil
}

// subscribeToLinks opens a netlink socket that receives the link
// notifications of the suite's network namespace, or returns -1.
func subscribeToLinks() int {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return -1
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return -1
	}
	return fd
}

// linksChanged drains the notifications queued on fd and says whether
// there were any (or more than the socket could hold). Any error but
// "nothing more" counts as a change.
func linksChanged(fd int) bool {
	buf := make([]byte, 8192)
	changed := false
	for {
		_, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		switch {
		case err == nil, errors.Is(err, unix.ENOBUFS):
			changed = true
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			return changed
		default:
			return true
		}
	}
}

// hostMountinfo is the host's mount table as text, for before/after checks.
func hostMountinfo() []byte {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []byte("read mountinfo: " + err.Error())
	}
	return bytes.TrimSpace(b)
}

// watchedMounts is the host's mount table as text, as last read whole,
// with the descriptor it was read through: an open mountinfo polls with
// POLLPRI once a mount is added, removed, moved or remounted in its
// namespace. The descriptor is a raw one: an os.File would join the
// runtime's epoll set, whose waits call the same poll and take the change
// before the look does.
var watchedMounts struct {
	sync.Mutex
	fd   int // 0: not open yet
	text []byte
}

// hostMountinfoWatched is the host's mount table before a matrix child
// that mounts: the table read whole after the last child, unless the poll
// shows a change since, when it is read again. After the child the table
// is read whole (hostMountinfoAfter): a few changes that show in the host's
// mountinfo do not wake its poll (a remount, from another mount
// namespace, of a superblock the host shares; a change of propagation), so
// the watch saves the read before, never the one the oracle judges by.
func hostMountinfoWatched() []byte {
	watchedMounts.Lock()
	defer watchedMounts.Unlock()
	if watchedMounts.fd > 0 && watchedMounts.text != nil && !mountsChanged(watchedMounts.fd) {
		return watchedMounts.text
	}
	return readWatchedMounts()
}

// hostMountinfoAfter reads the host's mount table whole, after a child,
// and keeps it as the next child's table before, the poll's changes so
// far taken.
func hostMountinfoAfter() []byte {
	watchedMounts.Lock()
	defer watchedMounts.Unlock()
	if watchedMounts.fd > 0 {
		mountsChanged(watchedMounts.fd)
	}
	return readWatchedMounts()
}

// readWatchedMounts reads the table through the watched descriptor,
// opening it first; the caller holds the lock and has taken the poll's
// change, so that one after this read shows again. A table that cannot
// be read is nil: the oracle then says it was not read.
func readWatchedMounts() []byte {
	if watchedMounts.fd <= 0 {
		fd, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil
		}
		watchedMounts.fd = fd
	}
	b, err := preadAll(watchedMounts.fd)
	if err != nil {
		unix.Close(watchedMounts.fd)
		watchedMounts.fd, watchedMounts.text = 0, nil
		return nil
	}
	watchedMounts.text = bytes.TrimSpace(b)
	return watchedMounts.text
}

// preadAll reads the file fd from its start to its end.
func preadAll(fd int) ([]byte, error) {
	buf := make([]byte, 0, 16<<10)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		n, err := unix.Pread(fd, buf[len(buf):cap(buf)], int64(len(buf)))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// mountsChanged says whether the mount table fd shows changed since the
// last poll (or since fd was opened); an error counts as a change.
func mountsChanged(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
	n, err := unix.Poll(fds, 0)
	return err != nil || n > 0 && fds[0].Revents&(unix.POLLPRI|unix.POLLERR|unix.POLLNVAL) != 0
}

func clockNow(id int32) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}
