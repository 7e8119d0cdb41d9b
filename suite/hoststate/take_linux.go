package hoststate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// Take reads every area of the host that a Snapshot holds, in the
// namespaces of the calling process. It only reads: see the package
// comment. An area that this host lacks (no mqueue mount, no /run/netns, a
// missing cgroup root or sysctl) is left empty and, where that could
// surprise, noted in Snapshot.Notes; any other failure to read is an error.
func Take(opts Options) (*Snapshot, error) {
	s := &Snapshot{Sysctls: map[string]string{}}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return nil, fmt.Errorf("read uname: %w", err)
	}
	s.Hostname = unix.ByteSliceToString(u.Nodename[:])
	s.Domainname = unix.ByteSliceToString(u.Domainname[:])

	var err error
	for _, ipc := range []struct {
		name string
		dst  *[]probes.IPCObject
	}{{"msg", &s.SysvMsg}, {"shm", &s.SysvShm}, {"sem", &s.SysvSem}} {
		if *ipc.dst, err = readSysvIPC(s, "/proc/sysvipc/"+ipc.name); err != nil {
			return nil, err
		}
	}

	mt, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	s.Mountinfo, s.RootPropagation = mt.lines, mt.rootPropagation
	if mt.mqueue == "" {
		s.note("no mqueue file system is mounted (at /dev/mqueue or elsewhere): POSIX message queues were not listed")
	} else if s.PosixMqueues, err = dirNames(mt.mqueue); err != nil {
		return nil, fmt.Errorf("list POSIX message queues: %w", err)
	}

	if s.Links, err = linkNames(); err != nil {
		return nil, err
	}
	if s.NetnsFiles, err = dirNames("/run/netns"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list named network namespaces: %w", err)
	}
	if s.Cgroups, err = cgroups(s, opts); err != nil {
		return nil, err
	}
	for _, name := range opts.Sysctls {
		if err := readSysctl(s, name); err != nil {
			return nil, err
		}
	}
	if s.Children, err = descendants(opts); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Snapshot) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

func readSysvIPC(s *Snapshot, path string) ([]probes.IPCObject, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.note("%s is missing (a kernel without System V IPC): not listed", path)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open sysvipc table: %w", err)
	}
	defer f.Close()
	entries, err := parseSysvIPC(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return entries, nil
}

func readMountinfo(path string) (mountTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return mountTable{}, fmt.Errorf("open mountinfo: %w", err)
	}
	defer f.Close()
	return readMountTable(f)
}

// dirNames lists a directory, sorted; a missing directory gives an error
// that errors.Is fs.ErrNotExist.
func dirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// linkNames lists the links of the calling thread's network namespace. A
// dump that the kernel interrupted (a link came or went meanwhile) is asked
// again.
func linkNames() ([]string, error) { return probes.LinkNames(netlink.LinkList) }

// cgroups walks each root for directories named with the prefix. A cgroup
// that goes away during the walk is not an error: other software makes and
// removes cgroups all the time.
func cgroups(s *Snapshot, opts Options) ([]string, error) {
	if opts.CgroupPrefix == "" {
		s.note("no cgroup prefix was given: cgroups were not listed")
		return nil, nil
	}
	roots := opts.CgroupRoots
	if roots == nil {
		roots = []string{"/sys/fs/cgroup"}
	}
	var found []string
	for _, root := range roots {
		if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
			s.note("cgroup root %s is missing: not walked", root)
			continue
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() && path != root && strings.HasPrefix(d.Name(), opts.CgroupPrefix) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk cgroups under %s: %w", root, err)
		}
	}
	slices.Sort(found)
	return found, nil
}

func readSysctl(s *Snapshot, name string) error {
	path := name
	if !strings.HasPrefix(name, "/") {
		path = "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.note("sysctl %s is missing on this kernel: not read", name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read sysctl %s: %w", name, err)
	}
	s.Sysctls[name] = strings.TrimRight(string(b), "\n")
	return nil
}

// descendants reads /proc/*/stat and keeps the processes below the parent.
// A process that exits while /proc is read is simply not listed.
func descendants(opts Options) ([]Process, error) {
	parent := opts.ParentPID
	if parent == 0 {
		parent = os.Getpid()
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	byParent := map[int][]Process{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		p, err := ReadStat(pid)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			continue
		}
		if err != nil {
			return nil, err
		}
		byParent[p.PPID] = append(byParent[p.PPID], p)
	}
	var found []Process
	seen := map[int]bool{parent: true}
	queue := []int{parent}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, p := range byParent[pid] {
			if seen[p.PID] {
				continue
			}
			seen[p.PID] = true
			queue = append(queue, p.PID)
			if opts.IgnoreChildren == nil || !opts.IgnoreChildren(p) {
				found = append(found, p)
			}
		}
	}
	slices.SortFunc(found, func(a, b Process) int { return a.PID - b.PID })
	return found, nil
}

// ReadStat reads /proc/PID/stat of pid.
func ReadStat(pid int) (Process, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Process{}, fmt.Errorf("open stat of pid %d: %w", pid, err)
	}
	defer f.Close()
	p, err := parseStat(f)
	if err != nil {
		return Process{}, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	return p, nil
}
