package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// act runs the actions the flags ask for. A failed action is reported under
// the observation it affects, and that observation still runs.
func act(cfg *config, r *probes.Report) {
	// Each action changes one namespace; in the parent's (or init's) it
	// would change the host, so it is refused there.
	if (cfg.hostname != "" || cfg.domainname != "") && !inNewNamespace("uts", cfg.parentNS, r, "hostname") {
		cfg.hostname, cfg.domainname = "", ""
	}
	if cfg.msgqKey != 0 && !inNewNamespace("ipc", cfg.parentNS, r, "ipc") {
		cfg.msgqKey = 0
	}
	if cfg.markerLink != "" && !inNewNamespace("net", cfg.parentNS, r, "links") {
		cfg.markerLink = ""
	}
	if cfg.mountProc && !inNewNamespace("mnt", cfg.parentNS, r, "proc") {
		cfg.mountProc = false
	}
	if cfg.hostname != "" {
		if err := unix.Sethostname([]byte(cfg.hostname)); err != nil {
			fail(r, "hostname", fmt.Errorf("set hostname: %w", err))
		} else {
			done(r, "hostname")
		}
	}
	if cfg.domainname != "" {
		if err := unix.Setdomainname([]byte(cfg.domainname)); err != nil {
			fail(r, "hostname", fmt.Errorf("set domainname: %w", err))
		} else {
			done(r, "domainname")
		}
	}
	if cfg.msgqKey != 0 {
		// Not removed: it dies with the IPC namespace, which spawn insists
		// is a new one.
		_, _, errno := unix.Syscall(unix.SYS_MSGGET, uintptr(int32(cfg.msgqKey)), unix.IPC_CREAT|unix.IPC_EXCL|0o600, 0)
		if errno != 0 {
			fail(r, "ipc", fmt.Errorf("create msg queue %d: %w", cfg.msgqKey, errno))
		} else {
			done(r, "msgq")
		}
	}
	if cfg.mountProc {
		if err := mountProc(); err != nil {
			fail(r, "proc", err)
		} else {
			done(r, "mount-proc")
		}
	}
	if cfg.createFile != "" {
		f, err := os.OpenFile(cfg.createFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			fail(r, "user", fmt.Errorf("create file: %w", err))
		} else {
			f.Close()
			done(r, "create-file")
		}
	}
	if cfg.markerLink != "" {
		if err := addMarkerLink(cfg.markerLink); err != nil {
			fail(r, "links", err)
		} else {
			done(r, "marker-link")
		}
	}
}

// inNewNamespace reports whether the probe's namespace of kind is neither
// init's nor the parent's; when it is, it records the refusal under name.
func inNewNamespace(kind string, parent map[string]probes.NSID, r *probes.Report, name string) bool {
	own, err := nsID("/proc/self/ns/" + kind)
	if err != nil {
		fail(r, name, fmt.Errorf("refused: cannot tell whether the %s namespace is new: %w", kind, err))
		return false
	}
	forbidden := []probes.NSID{}
	// In a new pid namespace with the host's /proc, pid 1 is still the
	// host's init, so this holds there too.
	if initNS, err := nsID("/proc/1/ns/" + kind); err == nil {
		forbidden = append(forbidden, initNS)
	}
	if id, ok := parent[kind]; ok {
		forbidden = append(forbidden, id)
	}
	for _, f := range forbidden {
		if own == f {
			fail(r, name, fmt.Errorf("refused: not in a new %s namespace", kind))
			return false
		}
	}
	return true
}

// mountProc mounts a fresh /proc after making / recursively private: on a
// systemd host / is shared, and a /proc mounted without this would
// propagate back and break the host's. The caller has made sure the mount
// namespace is a new one.
func mountProc() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	return nil
}

// parseParentNS parses "mnt=DEV:INO,uts=DEV:INO".
func parseParentNS(v string) (map[string]probes.NSID, error) {
	ids := map[string]probes.NSID{}
	for _, part := range strings.Split(v, ",") {
		kind, id, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("parse -parent-ns %q: want KIND=DEV:INO", part)
		}
		nsid, err := parseNSID(id)
		if err != nil {
			return nil, err
		}
		ids[kind] = nsid
	}
	return ids, nil
}

func parseNSID(s string) (probes.NSID, error) {
	dev, ino, ok := strings.Cut(s, ":")
	d, err1 := strconv.ParseUint(dev, 10, 64)
	i, err2 := strconv.ParseUint(ino, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return probes.NSID{}, fmt.Errorf("parse namespace id %q: want DEV:INO", s)
	}
	return probes.NSID{Dev: d, Ino: i}, nil
}

// addMarkerLink adds a bridge named name, or a veth pair if this kernel has
// no bridge. Never dummy: not every kernel has that module.
func addMarkerLink(name string) error {
	err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}})
	if err == nil {
		return nil
	}
	peer := "p" + name
	if len(peer) > 15 {
		peer = peer[:15]
	}
	if verr := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}); verr != nil {
		return fmt.Errorf("add marker link %s: bridge: %v; veth: %w", name, err, verr)
	}
	return nil
}
