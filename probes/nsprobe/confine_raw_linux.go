//go:build linux

package nsprobe

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// The setns and nesting attempts run in a child forked from the probe
// that makes raw system calls only, as the time namespace stage does:
// the kernel refuses setns into a user or time namespace, and unshare of
// a user namespace, to a process with more than one thread (EINVAL,
// EUSERS) before it asks about capabilities, and a Go process always has
// several. The child reports through a pipe, as fixed-size records.

// setnsKinds are the kinds -setns-host tries, with their clone flags.
var setnsKinds = []struct {
	name string
	flag uintptr
	// control is whether the child, in its new user namespace, also
	// re-joins a namespace of this kind that the new one owns: the same
	// call, where the kernel must allow it. A process can never re-join
	// a user namespace it left, nor a pid or time namespace it is not in.
	control bool
}{
	{"uts", unix.CLONE_NEWUTS, true},
	{"ipc", unix.CLONE_NEWIPC, true},
	{"net", unix.CLONE_NEWNET, true},
	{"mnt", unix.CLONE_NEWNS, true},
	{"cgroup", unix.CLONE_NEWCGROUP, true},
	{"pid", unix.CLONE_NEWPID, false},
	{"time", unix.CLONE_NEWTIME, false},
	{"user", unix.CLONE_NEWUSER, false},
}

// setnsRecord is what the child reports for one kind; errno 0 is success
// and notTried marks a step skipped.
type setnsRecord struct {
	Owner, Join, Control uint32
}

const notTried = ^uint32(0)

// setnsResult is the child's whole report: one record per kind, and the
// errno of its unshare (0: the records are valid).
type setnsResult struct {
	Rec        [8]setnsRecord
	UnshareErr uint32
}

// setnsPlan is prepared before the fork, from setnsKinds; the child reads
// only this, and writes only into its own copy of res and the pipe.
type setnsPlan struct {
	unshare uintptr
	fds     [8]int32
	flags   [8]uintptr
	control [8]bool
	self    [8]*byte
	res     setnsResult
	pipeW   uintptr
	sig     probes.SigState
}

// setnsHost opens the probe's own namespaces (the host's, when the probe
// shares them all), and has a single-threaded child make a new user
// namespace (with new uts, ipc, net, mnt and cgroup namespaces of its own)
// and try to join each of them back. It tries only where NS_GET_USERNS,
// asked from the new user namespace, answers EPERM: the namespace is
// outside, so the kernel must refuse.
func setnsHost(res *probes.Confine) {
	p := &setnsPlan{unshare: unix.CLONE_NEWUSER | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP, sig: probes.NewSigState()}
	for i, k := range setnsKinds {
		p.fds[i] = -1
		fd, err := unix.Open("/proc/self/ns/"+k.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			res.Attempts["setns "+k.name] = probes.Attempt{Result: probes.NotTried, Detail: fmt.Sprintf("open own %s namespace: %v", k.name, err)}
			continue
		}
		defer unix.Close(fd)
		p.fds[i], p.flags[i], p.control[i] = int32(fd), k.flag, k.control
		p.self[i], _ = syscall.BytePtrFromString("/proc/self/ns/" + k.name)
	}
	r, w, err := os.Pipe()
	if err != nil {
		res.Attempts["setns"] = probes.Attempt{Result: "error", Detail: fmt.Sprintf("make pipe: %v", err)}
		return
	}
	defer r.Close()
	p.pipeW = w.Fd()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, errno := forkSetns(p)
	w.Close()
	if errno != 0 {
		res.Attempts["setns"] = probes.Attempt{Result: "error", Detail: fmt.Sprintf("fork setns child: %v", errno)}
		return
	}
	var ws unix.WaitStatus
	defer unix.Wait4(int(pid), &ws, 0, nil)
	buf := make([]byte, unsafe.Sizeof(p.res))
	if _, err := readFull(r, buf); err != nil {
		res.Attempts["setns"] = probes.Attempt{Result: "error", Detail: fmt.Sprintf("read setns child's record: %v", err)}
		return
	}
	got := *(*setnsResult)(unsafe.Pointer(&buf[0]))
	if got.UnshareErr != 0 {
		res.Attempts["setns"] = probes.Attempt{Result: "error", Detail: fmt.Sprintf("unshare a new user namespace: %v", syscall.Errno(got.UnshareErr))}
		return
	}
	recs := got.Rec
	for i, k := range setnsKinds {
		if p.fds[i] < 0 {
			continue
		}
		rec := recs[i]
		switch {
		case rec.Owner == 0:
			res.Attempts["setns "+k.name] = probes.Attempt{Result: probes.NotTried, Detail: "NS_GET_USERNS named the owner from the new user namespace: the kernel might allow the join"}
		case rec.Owner != uint32(unix.EPERM):
			res.Attempts["setns "+k.name] = probes.Attempt{Result: probes.NotTried, Detail: fmt.Sprintf("ask who owns the %s namespace: %v", k.name, syscall.Errno(rec.Owner))}
		default:
			res.Attempts["setns "+k.name] = errnoAttempt(rec.Join, "setns into the probe's "+k.name+" namespace")
		}
		if k.control {
			res.Attempts["setns own "+k.name] = errnoAttempt(rec.Control, "setns into a "+k.name+" namespace the new user namespace owns")
		}
	}
}

// errnoAttempt turns a child's errno into an Attempt.
func errnoAttempt(errno uint32, what string) probes.Attempt {
	switch errno {
	case 0:
		return probes.Attempt{Result: probes.Allowed}
	case notTried:
		return probes.Attempt{Result: probes.NotTried, Detail: what + ": an earlier step failed"}
	}
	e := syscall.Errno(errno)
	return probes.Attempt{Result: unix.ErrnoName(e), Detail: fmt.Sprintf("%s: %v", what, e)}
}

// forkSetns forks the setns child with every signal blocked.
//
//go:nosplit
//go:norace
func forkSetns(p *setnsPlan) (uintptr, syscall.Errno) {
	probes.BlockSignals(&p.sig)
	pid, errno := probes.RawFork(0)
	if errno == 0 && pid == 0 {
		setnsChild(p)
	}
	probes.RestoreSignals(&p.sig)
	return pid, errno
}

// setnsChild: unshare, then per kind the control (unshare the kind again
// and join back the one the new user namespace owns), then the owner
// question and the join of the probe's namespace. Controls come first, so
// that a join the kernel wrongly allowed cannot move them.
//
//go:nosplit
//go:norace
func setnsChild(p *setnsPlan) {
	syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
	var errno syscall.Errno
	var fd, owner uintptr
	for i := 0; i < 8; i++ {
		p.res.Rec[i] = setnsRecord{notTried, notTried, notTried}
	}
	if _, _, errno = syscall.RawSyscall(unix.SYS_UNSHARE, p.unshare, 0, 0); errno != 0 {
		p.res.UnshareErr = uint32(errno)
		goto report
	}
	for i := 0; i < 8; i++ {
		if p.fds[i] < 0 || !p.control[i] {
			continue
		}
		fd, _, errno = syscall.RawSyscall6(unix.SYS_OPENAT, uintptr(probes.AtFDCWD), uintptr(unsafe.Pointer(p.self[i])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
		if errno != 0 {
			p.res.Rec[i].Control = uint32(errno)
			continue
		}
		if _, _, errno = syscall.RawSyscall(unix.SYS_UNSHARE, p.flags[i], 0, 0); errno == 0 {
			_, _, errno = syscall.RawSyscall(unix.SYS_SETNS, fd, p.flags[i], 0)
		}
		p.res.Rec[i].Control = uint32(errno)
		syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
	}
	for i := 0; i < 8; i++ {
		if p.fds[i] < 0 {
			continue
		}
		owner, _, errno = syscall.RawSyscall(unix.SYS_IOCTL, uintptr(p.fds[i]), uintptr(unix.NS_GET_USERNS), 0)
		p.res.Rec[i].Owner = uint32(errno)
		if errno == 0 {
			syscall.RawSyscall(unix.SYS_CLOSE, owner, 0, 0)
			continue
		}
		if errno != unix.EPERM {
			continue
		}
		_, _, errno = syscall.RawSyscall(unix.SYS_SETNS, uintptr(p.fds[i]), p.flags[i], 0)
		p.res.Rec[i].Join = uint32(errno)
	}
report:
	syscall.RawSyscall(unix.SYS_WRITE, p.pipeW, uintptr(unsafe.Pointer(&p.res)), unsafe.Sizeof(p.res))
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
}

// nestPlan is prepared before the fork for -nest.
type nestPlan struct {
	user  bool
	depth int
	// For user: the files each level writes, and what.
	setgroupsPath, uidMapPath, gidMapPath *byte
	deny, firstUID, firstGID, rest        []byte
	// Written by the deepest child: how many it made, and the errno of
	// the one after (0 if none failed), then the step that failed.
	rec   nestRecord
	pipeW uintptr

	wstatus int32
	sig     probes.SigState
}

type nestRecord struct {
	Created, Errno, MapErrno uint32
}

// nestNamespaces makes depth nested namespaces of kind below the probe's,
// then tries one more. User namespaces are made by unshare in one
// single-threaded child, which maps its ids at each level (a level
// without maps cannot make the next); pid namespaces by a chain of
// children, each pid 1 of the next level.
func nestNamespaces(kind string, depth int) (*probes.Nest, error) {
	n := &probes.Nest{Kind: kind, Asked: depth}
	if kind == "pid" {
		n.StartLevel = pidLevel()
	}
	p := &nestPlan{user: kind == "user", depth: depth, sig: probes.NewSigState()}
	var err error
	for _, f := range []struct {
		dst  **byte
		path string
	}{{&p.setgroupsPath, "/proc/self/setgroups"}, {&p.uidMapPath, "/proc/self/uid_map"}, {&p.gidMapPath, "/proc/self/gid_map"}} {
		if *f.dst, err = syscall.BytePtrFromString(f.path); err != nil {
			return n, fmt.Errorf("prepare nesting: %w", err)
		}
	}
	p.deny = []byte("deny")
	p.firstUID = []byte(fmt.Sprintf("0 %d 1", os.Getuid()))
	p.firstGID = []byte(fmt.Sprintf("0 %d 1", os.Getgid()))
	p.rest = []byte("0 0 1")
	r, w, err := os.Pipe()
	if err != nil {
		return n, fmt.Errorf("prepare nesting: %w", err)
	}
	defer r.Close()
	p.pipeW = w.Fd()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, errno := forkNest(p)
	w.Close()
	if errno != 0 {
		return n, fmt.Errorf("fork nesting child: %w", errno)
	}
	var ws unix.WaitStatus
	defer unix.Wait4(int(pid), &ws, 0, nil)
	buf := make([]byte, unsafe.Sizeof(p.rec))
	if _, err := readFull(r, buf); err != nil {
		return n, fmt.Errorf("read nesting record: %w", err)
	}
	rec := *(*nestRecord)(unsafe.Pointer(&buf[0]))
	n.Created = int(rec.Created)
	if rec.MapErrno != 0 {
		return n, fmt.Errorf("nest user namespaces: write the maps of level %d below the probe's: %w", rec.Created, syscall.Errno(rec.MapErrno))
	}
	if rec.Errno != 0 {
		n.Next = unix.ErrnoName(syscall.Errno(rec.Errno))
	}
	return n, nil
}

// pidLevel is the level of the probe's pid namespace below the one its
// /proc belongs to: the number of NSpid entries less one. 0 when unknown.
func pidLevel() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			return len(strings.Fields(v)) - 1
		}
	}
	return 0
}

//go:nosplit
//go:norace
func forkNest(p *nestPlan) (uintptr, syscall.Errno) {
	probes.BlockSignals(&p.sig)
	pid, errno := probes.RawFork(0)
	if errno == 0 && pid == 0 {
		syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
		if p.user {
			nestUser(p)
		}
		nestPID(p)
	}
	probes.RestoreSignals(&p.sig)
	return pid, errno
}

//go:nosplit
//go:norace
func nestUser(p *nestPlan) {
	var errno syscall.Errno
	uid, gid := p.firstUID, p.firstGID
	for i := 0; i <= p.depth; i++ {
		if _, _, errno = syscall.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0); errno != 0 {
			p.rec.Created, p.rec.Errno = uint32(i), uint32(errno)
			nestReport(p)
		}
		p.rec.Created = uint32(i + 1)
		if errno = probes.RawWriteFile(p.setgroupsPath, p.deny); errno == 0 {
			if errno = probes.RawWriteFile(p.uidMapPath, uid); errno == 0 {
				errno = probes.RawWriteFile(p.gidMapPath, gid)
			}
		}
		if errno != 0 {
			p.rec.MapErrno = uint32(errno)
			nestReport(p)
		}
		uid, gid = p.rest, p.rest
	}
	nestReport(p)
}

//go:nosplit
//go:norace
func nestPID(p *nestPlan) {
	var errno syscall.Errno
	var pid uintptr
	for i := 0; i <= p.depth; i++ {
		pid, _, errno = syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.CLONE_NEWPID|unix.SIGCHLD), 0, 0, 0, 0, 0)
		if errno != 0 {
			p.rec.Created, p.rec.Errno = uint32(i), uint32(errno)
			nestReport(p)
		}
		if pid != 0 {
			// Each level waits for the next, so the probe's wait ends
			// when the whole chain has.
			for {
				_, _, errno = syscall.RawSyscall6(unix.SYS_WAIT4, pid, uintptr(unsafe.Pointer(&p.wstatus)), 0, 0, 0, 0)
				if errno != syscall.EINTR {
					break
				}
			}
			syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
		}
		syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0)
	}
	p.rec.Created = uint32(p.depth + 1)
	nestReport(p)
}

//go:nosplit
//go:norace
func nestReport(p *nestPlan) {
	syscall.RawSyscall(unix.SYS_WRITE, p.pipeW, uintptr(unsafe.Pointer(&p.rec)), unsafe.Sizeof(p.rec))
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
}
