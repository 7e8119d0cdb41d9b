package kernelsim

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// auditArch returns the seccomp architecture of this build.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	}
	return 0, fmt.Errorf("simulate a kernel: the seccomp filter is written for amd64 and arm64, not %s", runtime.GOARCH)
}

// Supported reports whether Refuse and Powerless can work on this
// architecture.
func Supported() error {
	_, err := auditArch()
	return err
}

// Offsets in struct seccomp_data; the low half of args[0] on a
// little-endian machine.
const offNr, offArch, offArg0 = 0, 4, 16

// The filter's answers.
const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
)

// Refuse makes clone and unshare fail with EINVAL when their flags (the
// first argument) hold any of flags, as a kernel without that kind does,
// and clone3 fail with ENOSYS (its flags are behind a pointer, which
// seccomp cannot read), as a kernel before clone3 does.
func Refuse(flags uint32) error {
	arch, err := auditArch()
	if err != nil {
		return err
	}
	const (
		einval = unix.SECCOMP_RET_ERRNO | uint32(unix.EINVAL)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	raw, err := bpf.Assemble([]bpf.Instruction{
		/* 0 */ bpf.LoadAbsolute{Off: offArch, Size: 4},
		/* 1 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: arch, SkipFalse: 7}, // → 9 allow
		/* 2 */ bpf.LoadAbsolute{Off: offNr, Size: 4},
		/* 3 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CLONE3, SkipTrue: 7}, // → 11 ENOSYS
		/* 4 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CLONE, SkipTrue: 2}, // → 7
		/* 5 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_UNSHARE, SkipTrue: 1}, // → 7
		/* 6 */ bpf.RetConstant{Val: retAllow},
		/* 7 */ bpf.LoadAbsolute{Off: offArg0, Size: 4},
		/* 8 */ bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: flags, SkipTrue: 1}, // → 10 EINVAL
		/* 9 */ bpf.RetConstant{Val: retAllow},
		/* 10 */ bpf.RetConstant{Val: einval},
		/* 11 */ bpf.RetConstant{Val: enosys},
	})
	if err != nil {
		return fmt.Errorf("assemble seccomp filter: %w", err)
	}
	return install(raw)
}

// newNSFlags are the flags that make a namespace other than user. The
// time flag counts for unshare only: for clone its bit is part of the
// exit signal, and clone refuses it.
const (
	newNSFlagsClone   = unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP
	newNSFlagsUnshare = newNSFlagsClone | unix.CLONE_NEWTIME
)

// capabilityCalls are the system calls the probe and spawn make that need
// a capability over a namespace and that seccomp can tell apart by number:
// setting names, every way of mounting, and joining a namespace.
var capabilityCalls = []uint32{
	unix.SYS_SETHOSTNAME, unix.SYS_SETDOMAINNAME,
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT,
	unix.SYS_OPEN_TREE, unix.SYS_MOVE_MOUNT, unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT, unix.SYS_FSPICK, unix.SYS_MOUNT_SETATTR,
	unix.SYS_SETNS,
}

// Powerless makes this process and every child meet a kernel on which
// they hold no capability in any namespace, as an unprivileged process on
// Ubuntu 23.10 and later does in the user namespaces it creates
// (kernel.apparmor_restrict_unprivileged_userns=1: AppArmor moves it to a
// profile that denies every capability). As there, a user namespace, and
// the other kinds with it in the same call, are still created, and a
// process outside writes its id maps; but every call that needs a
// capability fails with EPERM: the names of the host (sethostname,
// setdomainname), every mount call, setns, and creating a namespace other
// than user in a later call, by clone or unshare without CLONE_NEWUSER.
// Calls seccomp cannot tell apart by their number (a netlink message that
// adds a link) are not covered.
//
// Run it in a process without CAP_SYS_ADMIN in its own user namespace
// (BecomeUser makes one), since AppArmor restricts only those: for a privileged process the
// simulation would refuse what the real restriction lets through.
func Powerless() error {
	arch, err := auditArch()
	if err != nil {
		return err
	}
	var p program
	p.add(bpf.LoadAbsolute{Off: offArch, Size: 4})
	p.jumpIfNot(arch, "allow")
	p.add(bpf.LoadAbsolute{Off: offNr, Size: 4})
	for _, nr := range capabilityCalls {
		p.jumpIf(nr, "eperm")
	}
	p.jumpIf(unix.SYS_UNSHARE, "unshare")
	p.jumpIf(unix.SYS_CLONE, "clone")
	p.label("allow")
	p.add(bpf.RetConstant{Val: retAllow})
	for _, c := range []struct {
		name  string
		flags uint32
	}{{"unshare", newNSFlagsUnshare}, {"clone", newNSFlagsClone}} {
		// A call that makes a user namespace is let through with every
		// kind it asks for, as AppArmor lets it; one without, which
		// would need a capability in the caller's, is refused.
		p.label(c.name)
		p.add(bpf.LoadAbsolute{Off: offArg0, Size: 4})
		p.jumpIfBits(unix.CLONE_NEWUSER, c.name+" allowed")
		p.jumpIfBits(c.flags, "eperm")
		p.label(c.name + " allowed")
		p.add(bpf.RetConstant{Val: retAllow})
	}
	p.label("eperm")
	p.add(bpf.RetConstant{Val: retEPERM})
	raw, err := p.assemble()
	if err != nil {
		return err
	}
	return install(raw)
}

// program is a classic BPF program whose jumps name labels, resolved when
// it is assembled: the filters are easier to read, and to change, than
// with counted skips.
type program struct {
	ins    []bpf.Instruction
	jumps  map[int]string
	labels map[string]int
}

func (p *program) add(i bpf.Instruction) { p.ins = append(p.ins, i) }

func (p *program) label(name string) {
	if p.labels == nil {
		p.labels = map[string]int{}
	}
	p.labels[name] = len(p.ins)
}

func (p *program) jump(cond bpf.JumpTest, val uint32, to string) {
	if p.jumps == nil {
		p.jumps = map[int]string{}
	}
	p.jumps[len(p.ins)] = to
	p.add(bpf.JumpIf{Cond: cond, Val: val})
}

// jumpIf jumps to the label when the accumulator equals val.
func (p *program) jumpIf(val uint32, to string) { p.jump(bpf.JumpEqual, val, to) }

// jumpIfNot jumps to the label when the accumulator differs from val.
func (p *program) jumpIfNot(val uint32, to string) { p.jump(bpf.JumpNotEqual, val, to) }

// jumpIfBits jumps to the label when the accumulator has any bit of val.
func (p *program) jumpIfBits(val uint32, to string) { p.jump(bpf.JumpBitsSet, val, to) }

// assemble resolves the labels (every jump is forward) and assembles.
func (p *program) assemble() ([]bpf.RawInstruction, error) {
	for at, to := range p.jumps {
		target, ok := p.labels[to]
		if !ok || target <= at {
			return nil, fmt.Errorf("assemble seccomp filter: jump at %d to %q, which is not a later label", at, to)
		}
		j := p.ins[at].(bpf.JumpIf)
		if target-at-1 > 255 {
			return nil, fmt.Errorf("assemble seccomp filter: jump at %d to %q is too far", at, to)
		}
		j.SkipTrue = uint8(target - at - 1)
		p.ins[at] = j
	}
	raw, err := bpf.Assemble(p.ins)
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp filter: %w", err)
	}
	return raw, nil
}

// install puts the filter on every thread of this process, with
// no_new_privs, which it needs.
func install(raw []bpf.RawInstruction) error {
	filter := make([]unix.SockFilter, len(raw))
	for i, ins := range raw {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	// TSYNC puts the filter (and no_new_privs) on every thread, so no
	// goroutine can clone around it.
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("install seccomp filter: %w", errno)
	}
	runtime.KeepAlive(filter)
	return nil
}

// BecomeUser makes this process, started as root, the process of an
// unprivileged user uid:gid as a login would make it: no supplementary
// group, every uid and gid set (so no capability is left), and dumpable.
// The last is what a bare setuid misses: changing ids makes a process
// undumpable where fs.suid_dumpable is 0, as on most machines, and the
// /proc files of an undumpable process, and of the children it forks
// before they exec, belong to root. Such a process cannot write the
// uid_map of a child it cloned into a new user namespace, so that every
// clone with user fails with EACCES, which no unprivileged user who logged
// in meets.
func BecomeUser(uid, gid int) error {
	// The kernel keeps credentials per thread; these calls of package
	// syscall change them on every thread of the process (x/sys/unix's
	// Setgroups changes one).
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("become %d:%d: drop supplementary groups: %w", uid, gid, err)
	}
	if err := syscall.Setresgid(gid, gid, gid); err != nil {
		return fmt.Errorf("become %d:%d: set gid: %w", uid, gid, err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		return fmt.Errorf("become %d:%d: set uid: %w", uid, gid, err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become %d:%d: make the process dumpable: %w", uid, gid, err)
	}
	return nil
}

// Sysctl makes the sysctl name (dotted, as sysctl(8) spells it:
// "kernel.apparmor_restrict_unprivileged_userns") read value, with a
// newline, in the mount namespace this process runs in, for it and its
// children: a sysctl that this kernel lacks, or one with another value.
// It mounts a read-only tmpfs over the sysctl's directory in /proc/sys
// holding the value and, bound back over entries of the same names, every
// other entry the kernel has there, so that the rest reads and writes as
// before. A sysctl the kernel has is bound over instead.
//
// Only for a process made for the purpose, in a mount namespace of its
// own, which it makes recursively private before anything else so that no
// mount propagates out; the mounts end with that namespace. It refuses to
// run in the mount namespace of its parent or of pid 1. It needs
// CAP_SYS_ADMIN over its mount namespace.
func Sysctl(name, value string) error {
	if name == "" || strings.Contains(name, "/") || strings.Contains(name, "..") {
		return fmt.Errorf("simulate sysctl %q: not a sysctl name", name)
	}
	own, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("simulate sysctl %s: read own mount namespace: %w", name, err)
	}
	for _, pid := range []int{os.Getppid(), 1} {
		other, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
		if err == nil && other == own {
			return fmt.Errorf("simulate sysctl %s: refusing to mount in the mount namespace of pid %d; clone this process with CLONE_NEWNS", name, pid)
		}
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("simulate sysctl %s: make / private: %w", name, err)
	}
	path := filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
	content := []byte(value + "\n")
	if _, err := os.Stat(path); err == nil {
		return overFile(path, content)
	}
	dir, base := filepath.Split(path)
	dir = filepath.Clean(dir)
	// The directory as the kernel has it, reached below the tmpfs through
	// this descriptor once the tmpfs covers its path.
	orig, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("simulate sysctl %s: %w", name, err)
	}
	defer orig.Close()
	entries, err := orig.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("simulate sysctl %s: list %s: %w", name, dir, err)
	}
	if err := unix.Mount("nsverify-sysctl", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0555"); err != nil {
		return fmt.Errorf("simulate sysctl %s: mount tmpfs on %s: %w", name, dir, err)
	}
	below := "/proc/self/fd/" + strconv.Itoa(int(orig.Fd()))
	for _, e := range entries {
		at := filepath.Join(dir, e.Name())
		if e.IsDir() {
			err = os.Mkdir(at, 0o555)
		} else {
			err = os.WriteFile(at, nil, 0o444)
		}
		if err == nil {
			err = unix.Mount(filepath.Join(below, e.Name()), at, "", unix.MS_BIND|unix.MS_REC, "")
		}
		if err != nil {
			return fmt.Errorf("simulate sysctl %s: put %s back: %w", name, at, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, base), content, 0o444); err != nil {
		return fmt.Errorf("simulate sysctl %s: %w", name, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("simulate sysctl %s: make the tmpfs on %s read-only: %w", name, dir, err)
	}
	return nil
}

// overFile binds a file holding content over path, an existing sysctl.
func overFile(path string, content []byte) error {
	f, err := os.CreateTemp("", "nsverify-sysctl-")
	if err != nil {
		return fmt.Errorf("simulate sysctl at %s: %w", path, err)
	}
	// The bind holds the file; its name goes at once.
	defer func() { _ = os.Remove(f.Name()) }()
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Mount(f.Name(), path, "", unix.MS_BIND, "")
	}
	if err == nil {
		err = unix.Mount("", path, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, "")
	}
	if err != nil {
		return fmt.Errorf("simulate sysctl at %s: %w", path, err)
	}
	return nil
}
