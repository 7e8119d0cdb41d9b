//go:build linux

package nsprobe

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// What the probe's raw forked children share beyond probes' raw fork
// (probes/rawfork_linux.go): the stage that enters namespaces before the
// observer (stage_linux.go) and the setns and nesting children of the
// confinement actions (confine_raw_linux.go) wait and read the same way.

// rawWaitExit waits for pid and exits with its status, as a shell does:
// the exit code, or 128 plus the signal that killed it.
//
//go:nosplit
//go:norace
func rawWaitExit(pid uintptr, wstatus *int32) {
	var errno syscall.Errno
	for {
		_, _, errno = syscall.RawSyscall6(unix.SYS_WAIT4, pid, uintptr(unsafe.Pointer(wstatus)), 0, 0, 0, 0)
		if errno != syscall.EINTR {
			break
		}
	}
	if errno != 0 {
		probes.RawExitGroup(1)
	}
	if *wstatus&0x7f == 0 {
		probes.RawExitGroup(uintptr(*wstatus >> 8 & 0xff))
	}
	probes.RawExitGroup(uintptr(128 + *wstatus&0x7f))
}

// readFull reads len(buf) bytes, or fails saying how many came.
func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			return n, fmt.Errorf("got %d of %d bytes: %w", n, len(buf), err)
		}
	}
	return n, nil
}
