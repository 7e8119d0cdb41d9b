//go:build linux

package nsprobe

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// act runs the actions the flags ask for, in a fixed order. A failed or
// refused action is reported under the observation it affects, and that
// observation still runs (except proc: see observe).
func act(cfg *config, r *probes.Report) {
	if cfg.hostname == "" && cfg.domainname == "" && !cfg.msgq && cfg.mqName == "" && !cfg.mountProc && cfg.createFile == "" && cfg.markerLink == "" {
		return
	}
	g := newGuard(cfg)
	if cfg.hostname != "" {
		if err := setName("set hostname", g.check("uts"), unix.Sethostname, cfg.hostname); err != nil {
			fail(r, "hostname", err)
		} else {
			done(r, "hostname")
		}
	}
	if cfg.domainname != "" {
		if err := setName("set domainname", g.check("uts"), unix.Setdomainname, cfg.domainname); err != nil {
			fail(r, "hostname", err)
		} else {
			done(r, "domainname")
		}
	}
	if cfg.msgq {
		if err := createMsgQueue(cfg.msgqKey, g.check("ipc")); err != nil {
			fail(r, "ipc", err)
		} else {
			done(r, "msgq")
		}
	}
	if cfg.mqName != "" {
		if err := createMqueue(cfg.mqName, g.check("ipc")); err != nil {
			fail(r, "mqueues", err)
		} else {
			done(r, "mq")
		}
	}
	if cfg.mountProc {
		if err := mountProc(g.check("mnt")); err != nil {
			fail(r, "proc", err)
		} else {
			done(r, "mount-proc")
			// The probe's own view of POSIX queues, made where it makes
			// its own /proc.
			if r.Mqueues, err = probes.Mqueues(); err != nil {
				fail(r, "mqueues", err)
			}
		}
	}
	if cfg.createFile != "" {
		if err := createFile(cfg.createFile); err != nil {
			fail(r, "user", err)
		} else {
			done(r, "create-file")
		}
	}
	if cfg.markerLink != "" {
		if err := addMarkerLink(cfg.markerLink, g.check("net")); err != nil {
			fail(r, "links", err)
		} else {
			done(r, "marker-link")
		}
	}
}

// setName sets the host or domain name. Like every action, it takes the
// guard's verdict on its namespace (nil: a new one) and does nothing but
// report a refusal.
func setName(verb string, refused error, set func([]byte) error, name string) error {
	if refused != nil {
		return fmt.Errorf("%s: %w", verb, refused)
	}
	if err := set([]byte(name)); err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	return nil
}

// createMsgQueue creates a SysV message queue with the key given and leaves
// it: the queue dies with the IPC namespace, which is a new one.
func createMsgQueue(key int32, refused error) error {
	verb := fmt.Sprintf("create msg queue %d", key)
	if refused != nil {
		return fmt.Errorf("%s: %w", verb, refused)
	}
	if _, err := probes.MsgGet(key, unix.IPC_CREAT|unix.IPC_EXCL|0o600); err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	return nil
}

// mountProc mounts a fresh /proc, after making / recursively private: on a
// systemd host / is shared, and a /proc mounted without this would
// propagate back and hide the host's. It never unmounts anything.
func mountProc(refused error) error {
	if refused != nil {
		return fmt.Errorf("mount proc: %w", refused)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		// Without a private / the new /proc could reach the host: stop.
		return fmt.Errorf("make / private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	return nil
}

// createMqueue creates a POSIX queue in a new ipc namespace, where it dies
// with the namespace.
func createMqueue(name string, refused error) error {
	if refused != nil {
		return fmt.Errorf("create POSIX queue: %w", refused)
	}
	return probes.MqOpen(name, 0o600)
}

func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	return nil
}

// addMarkerLink adds a bridge named as asked or, where this kernel has no
// bridge type, a veth pair. Never dummy: not every kernel has that module.
func addMarkerLink(name string, refused error) error {
	verb := "add marker link " + name
	if refused != nil {
		return fmt.Errorf("%s: %w", verb, refused)
	}
	err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}})
	if err == nil {
		return nil
	}
	// The kernel answers EOPNOTSUPP for a link kind it does not know.
	if !errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("%s: %w", verb, err)
	}
	if verr := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peerName(name)}); verr != nil {
		return fmt.Errorf("%s: no bridge type (%w), and veth: %w", verb, err, verr)
	}
	return nil
}

// peerName derives the name of a veth peer from name: different from it and
// at most 15 bytes.
func peerName(name string) string {
	base := name
	if len(base) > probes.MaxLinkNameLen-1 {
		base = base[:probes.MaxLinkNameLen-1]
	}
	peer := "p" + base
	// Only a 15-byte name of all p's equals its own "p"-prefixed truncation.
	if peer == name {
		peer = "q" + base
	}
	return peer
}

// procUserInitIno is the fixed inode of the initial user namespace.
const procUserInitIno = probes.InitialUserIno

// guard decides whether an action may change a namespace: only if that
// namespace is provably a new one, neither init's nor one that -parent-ns
// names (the namespace a child shares when its clone flag
// is dropped).
//
// It reads init's namespaces before any action runs, since a /proc mounted
// in a new pid namespace has the probe itself as pid 1.
type guard struct {
	parents map[string][]probes.NSID
	// inits holds init's namespace of each kind, or why it is unknown.
	inits    map[string]probes.NSID
	initErrs map[string]error
}

func newGuard(cfg *config) *guard {
	g := &guard{parents: cfg.parentNS, inits: map[string]probes.NSID{}, initErrs: map[string]error{}}
	// Where the probe is pid 1 of the /proc it sees, "init" is the probe
	// itself and says nothing about the host.
	selfIsInit := false
	if self, err := os.Readlink("/proc/self"); err == nil && self == "1" {
		selfIsInit = true
	}
	for _, kind := range []string{"uts", "ipc", "mnt", "net"} {
		if selfIsInit {
			g.initErrs[kind] = errors.New("pid 1 of this /proc is the probe itself")
			continue
		}
		// In a new pid namespace that still has the host's /proc, pid 1
		// there is the host's init.
		id, err := probes.StatNSID("/proc/1/ns/" + kind)
		if err != nil {
			g.initErrs[kind] = err
			continue
		}
		g.inits[kind] = id
	}
	return g
}

// check returns nil if the probe's namespace of kind is new, and the
// refusal otherwise.
//
// Reading init's namespaces needs ptrace access to init, which a process
// in a new user namespace never has, and which even root may lack (when
// init holds a capability root does not). Then the guard decides by what
// it does know: in a new user namespace, the kernel tells who owns the
// namespace (every namespace of the host belongs to an outer user
// namespace, one cloned with the probe's user namespace to that one); in
// the initial user namespace, the parent's namespace must have been given.
// Without either it refuses.
func (g *guard) check(kind string) error {
	word := kindWord(kind)
	own, err := probes.StatNSID("/proc/self/ns/" + kind)
	if err != nil {
		return fmt.Errorf("refused: cannot tell whether the %s namespace is new: %w", word, err)
	}
	parents := g.parents[kind]
	for _, parent := range parents {
		if own == parent {
			return notNew(kind, "it is the parent's ("+own.String()+")")
		}
	}
	if initID, ok := g.inits[kind]; ok {
		if own == initID {
			return notNew(kind, "it is init's ("+own.String()+")")
		}
		return nil
	}
	userNS, err := probes.StatNSID("/proc/self/ns/user")
	if err != nil {
		return fmt.Errorf("refused: cannot tell whether the %s namespace is new: %w", word, err)
	}
	// Ownership proves a namespace new only where the probe's user
	// namespace is itself new: not the initial one, and not the parent's
	// (a whole run may sit in a user namespace of its own).
	if parentUsers := g.parents["user"]; userNS.Ino != procUserInitIno && len(parentUsers) > 0 && !slices.Contains(parentUsers, userNS) {
		owner, err := probes.OwnerOf("/proc/self/ns/" + kind)
		switch {
		case err != nil:
			return fmt.Errorf("refused: cannot tell whether the %s namespace is new: %w", word, err)
		case owner.Outside:
			return notNew(kind, "it belongs to a user namespace outside the probe's")
		case owner.ID != userNS:
			return notNew(kind, "it belongs to another user namespace than the probe's")
		}
		return nil
	}
	if len(parents) > 0 {
		return nil
	}
	return fmt.Errorf("refused: cannot tell whether the %s namespace is new: init's is unknown (%w) and no parent's was given; pass it with -parent-ns %s=DEV:INO", word, g.initErrs[kind], kind)
}

func notNew(kind, why string) error {
	return fmt.Errorf("refused: not in a new %s namespace; %s", kindWord(kind), why)
}

// kindWord names a namespace kind in prose.
func kindWord(kind string) string {
	if w, ok := map[string]string{"mnt": "mount", "net": "network", "uts": "UTS", "ipc": "IPC"}[kind]; ok {
		return w
	}
	return kind
}
