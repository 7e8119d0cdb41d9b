package kindcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// flags is this package's own table of the flag that creates each kind,
// written out here rather than taken from spawn, whose translation is
// part of what the check is meant to catch.
var flags = map[string]uintptr{
	"uts":    unix.CLONE_NEWUTS,
	"ipc":    unix.CLONE_NEWIPC,
	"pid":    unix.CLONE_NEWPID,
	"mnt":    unix.CLONE_NEWNS,
	"user":   unix.CLONE_NEWUSER,
	"net":    unix.CLONE_NEWNET,
	"cgroup": unix.CLONE_NEWCGROUP,
	"time":   unix.CLONE_NEWTIME,
}

// childTimeout bounds one trial child: true(1) exits at once, so only a
// wedged machine comes near it.
const childTimeout = 10 * time.Second

// Check finds out, for every kind, whether this process can create a
// namespace of it, by starting true(1) with unshare(2) of the kind's flag
// (and once more with CLONE_NEWUSER added), and reads the facts beside.
// An error means the check itself could not run (no true(1), or the
// control child, which unshares nothing, failed): the results would say
// nothing about the kernel.
func Check(ctx context.Context) (*Report, error) {
	trueBin, err := exec.LookPath("true")
	if err != nil {
		return nil, fmt.Errorf("find true(1) to start trial children: %w", err)
	}
	if err := try(ctx, trueBin, 0); err != nil {
		return nil, fmt.Errorf("run the control child %s, which unshares nothing: %w", trueBin, err)
	}
	facts, err := readFacts()
	if err != nil {
		return nil, err
	}
	r := &Report{Facts: facts, Kinds: make([]Result, len(Kinds))}
	var wg sync.WaitGroup
	for i, kind := range Kinds {
		res := Result{Kind: kind, Limit: readInt("/proc/sys/user/max_" + kind + "_namespaces")}
		_, statErr := os.Lstat("/proc/self/ns/" + kind)
		res.Present = statErr == nil
		wg.Go(func() {
			if err := try(ctx, trueBin, flags[kind]); err != nil {
				res.DirectErr = err.Error()
			} else {
				res.Direct = true
			}
			if kind == "user" {
				res.InUserNS, res.InUserNSErr = res.Direct, res.DirectErr
			} else if err := try(ctx, trueBin, unix.CLONE_NEWUSER|flags[kind]); err != nil {
				res.InUserNSErr = err.Error()
			} else {
				res.InUserNS = true
			}
			res.Can = res.Direct || res.InUserNS
			if kind == "time" {
				res.Can = res.Can && facts.Clone3
			}
			res.Evidence = evidence(res, kind == "user", facts)
			r.Kinds[i] = res
		})
	}
	wg.Wait()
	return r, nil
}

// try starts bin in a child that first calls unshare(flags) on itself
// (Go's fork does so in the single-threaded child, before exec), and
// waits for it to exit 0.
func try(ctx context.Context, bin string, flags uintptr) error {
	ctx, cancel := context.WithTimeout(ctx, childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: flags, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return fmt.Errorf("%s (%w)", unix.ErrnoName(errno), err)
		}
		return err
	}
	return nil
}

// readFacts reads the facts that need no child.
func readFacts() (Facts, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Facts{}, fmt.Errorf("read own status: %w", err)
	}
	caps, err := probes.ParseStatus(bytes.NewReader(status))
	if err != nil {
		return Facts{}, fmt.Errorf("read own capabilities and seccomp mode: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/user", &st); err != nil {
		return Facts{}, fmt.Errorf("stat own user namespace: %w", err)
	}
	enable, _ := os.ReadFile("/sys/module/user_namespace/parameters/enable")
	clone3Err := probeClone3()
	f := Facts{
		InitialUserNS:           st.Ino == probes.InitialUserIno,
		CapSysAdmin:             slices.Contains(caps.Eff, probes.CapName(unix.CAP_SYS_ADMIN)),
		SeccompFilter:           caps.Seccomp == "filter",
		Clone3:                  clone3Err == nil,
		UnprivilegedUsernsClone: readInt("/proc/sys/kernel/unprivileged_userns_clone"),
		AppArmorRestrict:        readInt("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
		UserNamespaceEnable:     strings.TrimSpace(string(enable)),
	}
	if clone3Err != nil {
		f.Clone3Err = clone3Err.Error()
	}
	return f, nil
}

// probeClone3 finds out whether clone3(2) can be called, without making a
// process: with no arguments a kernel that has it refuses the call with
// EINVAL (the size is below the first version's), while a kernel without it,
// or a seccomp filter that hides it, says ENOSYS.
func probeClone3() error {
	_, _, errno := unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)
	switch errno {
	case unix.EINVAL:
		return nil
	case 0:
		// Cannot happen with size 0; were it to, the child would be
		// this very code, so say so rather than go on as two.
		return fmt.Errorf("clone3 with no arguments returned success")
	}
	return fmt.Errorf("%s (%w)", unix.ErrnoName(errno), errno)
}

// readInt reads a number from a sysctl file; -1 when it cannot.
func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return -1
	}
	return v
}
