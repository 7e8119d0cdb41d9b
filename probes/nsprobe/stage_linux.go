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

// A stage is a single-threaded child forked from the probe that enters
// namespaces and then forks the observer inside them. The kernel refuses
// setns into a user, mnt or time namespace and unshare of a user namespace
// to a process with more than one thread, and a Go process always has
// several; setns and unshare of pid and time move only the caller's
// future children. So the stage makes its steps (setns, unshare, setresuid,
// a write to a file) with raw system calls in the order they were added, forks the
// observer, which every kernel puts inside, reports, waits for it and
// exits with its status. The -timens and -join launchers both build one.

// stageStep is one step of the stage: a system call with up to three
// arguments, or, where path is set, a write of data to the file at path.
type stageStep struct {
	trap, a1, a2, a3 uintptr
	path             *byte
	data             []byte
}

// stagePlan is everything the stage needs, prepared before the fork: after
// it, the stage may only make raw system calls (see raw_linux.go).
type stagePlan struct {
	steps []stageStep
	// what names each step for errors, and one more: the observer's fork.
	// Only the launcher reads it.
	what []string
	// proc is the caller's /proc, opened before the fork: the stage reads
	// its own self/stat there, whatever mnt namespace it has joined.
	proc     *os.File
	statPath *byte
	// exe is the probe's own binary, opened before the fork and executed
	// by descriptor: after a mnt namespace is joined, no path of this
	// process's means the same file any more.
	exe   *os.File
	empty *byte
	argv  []*byte
	envv  []*byte

	stdoutR, stdoutW *os.File
	statusR, statusW *os.File

	procFD uintptr
	sig    probes.SigState
	// Written by the stage in its own copy.
	rec     stageRecord
	stat    [1024]byte
	wstatus int32
}

// newStagePlan prepares a stage whose observer execs this binary again
// with argv and envv, once its steps are added.
func newStagePlan(argv, envv []string) (*stagePlan, error) {
	p := &stagePlan{sig: probes.NewSigState()}
	var err error
	if p.statPath, err = syscall.BytePtrFromString("self/stat"); err != nil {
		return nil, fmt.Errorf("prepare stage: %w", err)
	}
	if p.empty, err = syscall.BytePtrFromString(""); err != nil {
		return nil, fmt.Errorf("prepare stage: %w", err)
	}
	if p.exe, err = os.Open("/proc/self/exe"); err != nil {
		return nil, fmt.Errorf("prepare stage: open own binary: %w", err)
	}
	if p.proc, err = os.Open("/proc"); err != nil {
		p.close()
		return nil, fmt.Errorf("prepare stage: open /proc: %w", err)
	}
	if p.argv, err = syscall.SlicePtrFromStrings(argv); err != nil {
		return nil, fmt.Errorf("prepare stage arguments: %w", err)
	}
	if p.envv, err = syscall.SlicePtrFromStrings(envv); err != nil {
		return nil, fmt.Errorf("prepare stage environment: %w", err)
	}
	if p.stdoutR, p.stdoutW, err = os.Pipe(); err != nil {
		p.close()
		return nil, fmt.Errorf("prepare observer output: %w", err)
	}
	if p.statusR, p.statusW, err = os.Pipe(); err != nil {
		p.close()
		return nil, fmt.Errorf("prepare stage status: %w", err)
	}
	return p, nil
}

// syscall adds the system call trap(a1, a2, a3); what names it in errors.
// Descriptors it takes stay open in the caller until the stage started.
func (p *stagePlan) syscall(what string, trap, a1, a2, a3 uintptr) {
	p.steps = append(p.steps, stageStep{trap: trap, a1: a1, a2: a2, a3: a3})
	p.what = append(p.what, what)
}

// write adds a write of data to path.
func (p *stagePlan) write(path string, data []byte, what string) error {
	b, err := syscall.BytePtrFromString(path)
	if err != nil {
		return fmt.Errorf("prepare stage write: %w", err)
	}
	if len(data) == 0 {
		return fmt.Errorf("prepare stage write of %s: no data", path)
	}
	p.steps = append(p.steps, stageStep{path: b, data: data})
	p.what = append(p.what, what)
	return nil
}

// close closes the binary and every pipe end still open.
func (p *stagePlan) close() {
	for _, f := range []*os.File{p.exe, p.proc, p.stdoutR, p.stdoutW, p.statusR, p.statusW} {
		if f != nil {
			f.Close()
		}
	}
}

// closeChildEnds closes this process's copies of the write ends, so that
// reading sees the end once the stage and the observer are gone.
func (p *stagePlan) closeChildEnds() {
	p.stdoutW.Close()
	p.statusW.Close()
	p.stdoutW, p.statusW = nil, nil
}

// start forks the stage and returns its pid. The caller has locked its
// OS thread: the stage's Pdeathsig follows the thread that forked it.
func (p *stagePlan) start() (int, error) {
	p.what = append(p.what, "fork the observer")
	p.procFD = p.proc.Fd()
	pid, errno := forkStage(p, p.stdoutW.Fd(), p.statusW.Fd(), p.exe.Fd())
	if errno != 0 {
		return 0, fmt.Errorf("fork the stage: %w", errno)
	}
	return int(pid), nil
}

// forkStage forks; the child runs the stage and never returns.
//
//go:nosplit
//go:norace
func forkStage(p *stagePlan, stdoutFD, statusFD, exeFD uintptr) (uintptr, syscall.Errno) {
	probes.BlockSignals(&p.sig)
	pid, errno := probes.RawFork(0)
	if errno == 0 && pid == 0 {
		stage(p, stdoutFD, statusFD, exeFD)
	}
	probes.RestoreSignals(&p.sig)
	return pid, errno
}

// stage is the forked, single-threaded stage: its steps, then the
// observer's fork, the report, the wait and the exit with its status.
//
//go:nosplit
//go:norace
func stage(p *stagePlan, stdoutFD, statusFD, exeFD uintptr) {
	syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
	syscall.RawSyscall(unix.SYS_DUP3, stdoutFD, 1, 0)
	var errno syscall.Errno
	for i := 0; i < len(p.steps); i++ {
		s := &p.steps[i]
		if s.path != nil {
			errno = probes.RawWriteFile(s.path, s.data)
		} else {
			_, _, errno = syscall.RawSyscall(s.trap, s.a1, s.a2, s.a3)
		}
		if errno != 0 {
			stageFailed(p, statusFD, i, errno)
		}
	}
	// The stage's own thread count, read where it matters: old kernels
	// refuse any new thread from here on.
	var n uintptr
	fd, _, errno := syscall.RawSyscall6(unix.SYS_OPENAT, p.procFD, uintptr(unsafe.Pointer(p.statPath)), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
	if errno == 0 {
		n, _, _ = syscall.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&p.stat[0])), uintptr(len(p.stat)))
		syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	}
	pid, errno := probes.RawFork(0)
	if errno != 0 {
		stageFailed(p, statusFD, len(p.steps), errno)
	}
	if pid == 0 {
		observerExec(p, exeFD)
	}
	p.rec.PID = uint32(pid)
	syscall.RawSyscall(unix.SYS_WRITE, statusFD, uintptr(unsafe.Pointer(&p.rec)), unsafe.Sizeof(p.rec))
	if n > 0 && n <= uintptr(len(p.stat)) {
		syscall.RawSyscall(unix.SYS_WRITE, statusFD, uintptr(unsafe.Pointer(&p.stat[0])), n)
	}
	syscall.RawSyscall(unix.SYS_CLOSE, statusFD, 0, 0)
	rawWaitExit(pid, &p.wstatus)
}

// stageFailed reports that step i failed with errno and exits: no
// observer started.
//
//go:nosplit
//go:norace
func stageFailed(p *stagePlan, statusFD uintptr, i int, errno syscall.Errno) {
	p.rec.Failed, p.rec.Errno = uint32(i+1), uint32(errno)
	syscall.RawSyscall(unix.SYS_WRITE, statusFD, uintptr(unsafe.Pointer(&p.rec)), unsafe.Sizeof(p.rec))
	probes.RawExitGroup(1)
}

// observerExec runs in the observer, born inside the stage's namespaces:
// default signal handlers and the old mask back, then exec.
//
//go:nosplit
//go:norace
func observerExec(p *stagePlan, exeFD uintptr) {
	syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
	probes.DefaultSignals(&p.sig)
	probes.RestoreSignals(&p.sig)
	syscall.RawSyscall6(unix.SYS_EXECVEAT, exeFD, uintptr(unsafe.Pointer(p.empty)), uintptr(unsafe.Pointer(&p.argv[0])), uintptr(unsafe.Pointer(&p.envv[0])), unix.AT_EMPTY_PATH, 0)
	probes.RawExitGroup(127)
}
