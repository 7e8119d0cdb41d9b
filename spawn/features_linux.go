package spawn

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// detectTimeout bounds the life of one throwaway child of Detect.
const detectTimeout = 10 * time.Second

// detect is Detect without the cache.
func detect(exe string) *Features {
	m := readMachine()
	f := &Features{Machine: *m, Exe: exe, Kinds: make([]KindSupport, len(kinds))}
	if err := tryClone(exe, None, true); err != nil {
		f.Error = fmt.Sprintf("run %s in no new namespace (the control child): %v; pass a binary that runs `%s ns` or exits 0 when %s=1", exe, err, exe, DetectChildEnv)
	}
	var wg sync.WaitGroup
	if m.Present[User] && m.Present[UTS] && f.Error == "" {
		wg.Go(func() { f.UserNS = judgeUserNSCapability(m, tryUserNSCapability()) })
	}
	for i, k := range kinds {
		if !m.Present[k] {
			f.Kinds[i] = judge(k, m, nil)
			continue
		}
		if f.Error != "" {
			f.Kinds[i] = KindSupport{Kind: k, Present: true, Limit: m.Limits[k], Reason: fmt.Sprintf("%s: cannot tell: %s", k, f.Error)}
			continue
		}
		wg.Go(func() { f.Kinds[i] = judge(k, m, tryClone(exe, detectSet(k, m), false)) })
	}
	wg.Wait()
	return f
}

// tryClone clones a child of exe into set (with the caller's maps when set
// has user), runs `exe ns` and waits for it. Only the clone and exec count,
// unless wantExit: then the child must also exit 0.
func tryClone(exe string, set Set, wantExit bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), detectTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "ns")
	cmd.Env = []string{DetectChildEnv + "=1"}
	attr := &syscall.SysProcAttr{Cloneflags: set.CloneFlags(), Pdeathsig: syscall.SIGKILL, Setpgid: true}
	// Maps only with a clone that really makes a user namespace, as in
	// command: without CLONE_NEWUSER the clone is a vfork, and a child
	// given maps would wait for its suspended parent forever.
	if attr.Cloneflags&unix.CLONE_NEWUSER != 0 {
		uid, gid := CallerMaps()
		attr.UidMappings, attr.GidMappings = toSysProcIDMaps(uid), toSysProcIDMaps(gid)
	}
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return err
	}
	err := cmd.Wait()
	if wantExit && err != nil {
		return fmt.Errorf("wait for child: %w", err)
	}
	return nil
}

// readMachine reads the machine facts. It starts no process.
func readMachine() *Machine {
	m := &Machine{
		UserNamespaceEnable:                strings.TrimSpace(readString("/sys/module/user_namespace/parameters/enable")),
		UnprivilegedUsernsClone:            int(readInt("/proc/sys/kernel/unprivileged_userns_clone")),
		AppArmorRestrictUnprivilegedUserns: int(readInt("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")),
		Limits:                             make(map[Kind]int64, len(kinds)),
		Present:                            make(map[Kind]bool, len(kinds)),
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		m.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	m.Seccomp = readSeccomp()
	for _, k := range kinds {
		m.Limits[k] = readInt("/proc/sys/user/max_" + string(k) + "_namespaces")
		m.Present[k] = kindsPresent()[k]
	}
	m.RootPropagation, m.CgroupLayout = propagationUnknown, "unknown"
	mounts, err := probes.ReadMountinfo("/proc/self/mountinfo")
	if err == nil {
		m.RootPropagation, m.CgroupLayout = mountFacts(mounts)
	}
	m.Privilege = readPrivilege(mounts)
	return m
}

// readSeccomp reads the Seccomp mode from /proc/self/status.
func readSeccomp() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if value, ok := strings.CutPrefix(line, "Seccomp:"); ok {
			return map[string]string{"0": "disabled", "1": "strict", "2": "filter"}[strings.TrimSpace(value)]
		}
	}
	return ""
}
