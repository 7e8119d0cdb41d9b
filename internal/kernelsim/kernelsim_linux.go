package kernelsim

import (
	"fmt"
	"runtime"
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
	return 0, fmt.Errorf("simulate a missing kind: the seccomp filter is written for amd64 and arm64, not %s", runtime.GOARCH)
}

// Supported reports whether Refuse can work on this architecture.
func Supported() error {
	_, err := auditArch()
	return err
}

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
		allow  = unix.SECCOMP_RET_ALLOW
		einval = unix.SECCOMP_RET_ERRNO | uint32(unix.EINVAL)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		// Offsets in struct seccomp_data; the low half of args[0] on a
		// little-endian machine.
		offNr, offArch, offArg0 = 0, 4, 16
	)
	raw, err := bpf.Assemble([]bpf.Instruction{
		/* 0 */ bpf.LoadAbsolute{Off: offArch, Size: 4},
		/* 1 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: arch, SkipFalse: 7}, // → 9 allow
		/* 2 */ bpf.LoadAbsolute{Off: offNr, Size: 4},
		/* 3 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CLONE3, SkipTrue: 7}, // → 11 ENOSYS
		/* 4 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_CLONE, SkipTrue: 2}, // → 7
		/* 5 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_UNSHARE, SkipTrue: 1}, // → 7
		/* 6 */ bpf.RetConstant{Val: allow},
		/* 7 */ bpf.LoadAbsolute{Off: offArg0, Size: 4},
		/* 8 */ bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: flags, SkipTrue: 1}, // → 10 EINVAL
		/* 9 */ bpf.RetConstant{Val: allow},
		/* 10 */ bpf.RetConstant{Val: einval},
		/* 11 */ bpf.RetConstant{Val: enosys},
	})
	if err != nil {
		return fmt.Errorf("assemble seccomp filter: %w", err)
	}
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
