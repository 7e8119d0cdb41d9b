//go:build linux

package nsprobe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// observers maps each observation to the function that fills its part of
// the report.
var observers = map[string]func(*probes.Report) error{
	"ns":       observeNS,
	"pid":      observePID,
	"hostname": observeHostname,
	"ipc":      observeIPC,
	"proc":     observeProc,
	"links":    observeLinks,
	"user":     observeUser,
	"cgroup":   observeCgroup,
	"clock":    observeClock,
	"caps":     observeCaps,
	"owners":   observeOwners,
}

// observe runs one observation, or all when name is empty. Each records its
// own failure under its name and leaves the others alone.
func observe(name string, r *probes.Report) {
	for _, obs := range observations {
		if name != "" && obs != name {
			continue
		}
		// After a failed or refused /proc mount, a listing would show the
		// old /proc as if it were the new one: the error says why it is
		// missing.
		if obs == "proc" && r.Errors["proc"] != "" {
			continue
		}
		if err := observers[obs](r); err != nil {
			fail(r, obs, err)
		}
	}
}

// observeNS records every entry of /proc/self/ns (pid_for_children and
// time_for_children included); a kind the kernel lacks is absent there and
// so from the report. One entry that cannot be read does not hide the
// others.
func observeNS(r *probes.Report) error {
	entries, err := os.ReadDir("/proc/self/ns")
	if err != nil {
		return fmt.Errorf("read namespaces: %w", err)
	}
	var errs []error
	for _, e := range entries {
		id, err := probes.StatNSID("/proc/self/ns/" + e.Name())
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s namespace: %w", e.Name(), err))
			continue
		}
		r.NS[e.Name()] = id
	}
	return errors.Join(errs...)
}

// observePID reads the pids from the raw syscalls: getppid is 0 for the
// first process of a pid namespace, whose parent is outside it. NSpid
// adds the probe's pid in every pid namespace its /proc can see.
func observePID(r *probes.Report) error {
	r.PID, r.PPID = unix.Getpid(), unix.Getppid()
	nspid, err := parseFile("/proc/self/status", probes.ParseNSpid)
	r.NSpid = nspid
	return err
}

func observeHostname(r *probes.Report) error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return fmt.Errorf("read uname: %w", err)
	}
	r.Hostname = unix.ByteSliceToString(u.Nodename[:])
	r.Domainname = unix.ByteSliceToString(u.Domainname[:])
	return nil
}

func observeIPC(r *probes.Report) error {
	ipc := &probes.IPC{}
	for _, t := range []struct {
		file string
		dst  *[]probes.IPCObject
	}{{"msg", &ipc.Msg}, {"shm", &ipc.Shm}, {"sem", &ipc.Sem}} {
		objs, err := parseFile("/proc/sysvipc/"+t.file, probes.ParseSysvIPC)
		if err != nil {
			return err
		}
		*t.dst = objs
	}
	r.IPC = ipc
	return nil
}

// observeProc lists the pids in /proc, which are those of the pid
// namespace /proc was mounted for, not necessarily the probe's.
//
// It reads the directory in chunks and stops past probes.ProcListMax pids,
// so its cost does not grow with the host's process count.
func observeProc(r *probes.Report) error {
	dir, err := os.Open("/proc")
	if err != nil {
		return fmt.Errorf("list proc: %w", err)
	}
	defer dir.Close()
	pids, complete := []int{}, true
read:
	for {
		entries, err := dir.ReadDir(128)
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if len(pids) == probes.ProcListMax {
				complete = false
				break read
			}
			pids = append(pids, pid)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("list proc: %w", err)
		}
	}
	sort.Ints(pids)
	// Where /proc/self points is the probe's pid in the pid namespace
	// /proc belongs to: "1" in a /proc of its own as pid 1.
	self, _ := os.Readlink("/proc/self")
	r.Proc = &probes.Proc{PIDs: pids, Complete: complete, Self: self}
	return nil
}

func observeLinks(r *probes.Report) error {
	links, err := probes.ListLinks(netlink.LinkList)
	if err != nil {
		return err
	}
	l := &probes.Links{Count: len(links), Names: []string{}, Flags: map[string]string{}}
	for _, link := range links {
		a := link.Attrs()
		l.Names = append(l.Names, a.Name)
		l.Flags[a.Name] = a.Flags.String()
	}
	sort.Strings(l.Names)
	r.Links = l
	return nil
}

func observeUser(r *probes.Report) error {
	u := &probes.User{UID: unix.Getuid(), GID: unix.Getgid()}
	var err error
	if u.UIDMap, err = parseFile("/proc/self/uid_map", probes.ParseIDMap); err != nil {
		return err
	}
	if u.GIDMap, err = parseFile("/proc/self/gid_map", probes.ParseIDMap); err != nil {
		return err
	}
	setgroups, err := os.ReadFile("/proc/self/setgroups")
	if err != nil {
		return fmt.Errorf("read setgroups: %w", err)
	}
	u.Setgroups = strings.TrimSpace(string(setgroups))
	if u.CapEff, err = parseFile("/proc/self/status", probes.ParseCapEff); err != nil {
		return err
	}
	r.User = u
	return nil
}

func observeCgroup(r *probes.Report) error {
	lines, err := parseFile("/proc/self/cgroup", probes.ParseCgroup)
	if err != nil {
		return err
	}
	r.Cgroup = lines
	return nil
}

// observeClock reads the two clocks a time namespace offsets.
func observeClock(r *probes.Report) error {
	var mono, boot unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		return fmt.Errorf("read monotonic clock: %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
		return fmt.Errorf("read boottime clock: %w", err)
	}
	r.Clock = &probes.Clock{MonotonicNS: mono.Nano(), BoottimeNS: boot.Nano()}
	return nil
}

// parseFile opens path and hands it to parse.
func parseFile[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	v, err := parse(f)
	if err != nil {
		return zero, fmt.Errorf("read %s: %w", path, err)
	}
	return v, nil
}
