package kernelsim

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// becomeEnv makes this test binary, re-executed, drop to nobody by the way
// it names (becomeByLogin or becomeBySetuid), clone /bin/true into a new
// user namespace whose maps it writes, and print the error of that, or
// nothing, on stdout.
const (
	becomeEnv      = "NSVERIFY_KERNELSIM_TEST_BECOME"
	becomeByLogin  = "login"
	becomeBySetuid = "setuid"
	nobody         = 65534
)

func TestMain(m *testing.M) {
	if how := os.Getenv(becomeEnv); how != "" {
		if err := becomeAndClone(how); err != nil {
			fmt.Fprint(os.Stdout, err)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// becomeAndClone drops to nobody, by BecomeUser or by a bare setuid, then
// clones a child into a new user namespace mapping root there to nobody.
func becomeAndClone(how string) error {
	switch how {
	case becomeByLogin:
		if err := BecomeUser(nobody, nobody); err != nil {
			return err
		}
	case becomeBySetuid:
		if err := syscall.Setgroups(nil); err != nil {
			return err
		}
		if err := syscall.Setgid(nobody); err != nil {
			return err
		}
		if err := syscall.Setuid(nobody); err != nil {
			return err
		}
	}
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		Pdeathsig:   syscall.SIGKILL,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: nobody, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: nobody, Size: 1}},
	}
	return cmd.Run()
}

// TestBecomeUser shows that a process BecomeUser made writes the id maps
// of a child in a new user namespace, while one that dropped root by a
// bare setuid, undumpable, is refused with EACCES.
func TestBecomeUser(t *testing.T) {
	needsToBecomeNobody(t)
	if _, err := os.Stat("/bin/true"); err != nil {
		t.Skipf("the child the test clones, /bin/true: %v", err)
	}
	if out := becomeInChild(t, becomeByLogin); out != "" {
		t.Fatalf("after BecomeUser(%d, %d), a child in a new user namespace: %s", nobody, nobody, out)
	}
	if dumpable := readFile(t, "/proc/sys/fs/suid_dumpable"); dumpable == "1" {
		t.Logf("fs.suid_dumpable is 1: a bare setuid leaves the process dumpable here; the control proves nothing")
		return
	}
	if out := becomeInChild(t, becomeBySetuid); !strings.Contains(out, "permission denied") {
		t.Fatalf("after a bare setuid to %d, a child in a new user namespace: %q, want EACCES (permission denied) from its uid_map: the control does not meet what BecomeUser is for", nobody, out)
	}
}

// becomeInChild re-executes this test binary in becomeEnv=how and returns
// what it printed.
func becomeInChild(t *testing.T, how string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), becomeEnv+"="+how)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("re-execute the test binary to become nobody by %s: %v", how, err)
	}
	return string(out)
}

// needsToBecomeNobody skips unless this process holds CAP_SETUID and
// CAP_SETGID and its user namespace maps nobody, and nobody may make a
// user namespace.
func needsToBecomeNobody(t *testing.T) {
	t.Helper()
	var capEff uint64
	sc := bufio.NewScanner(strings.NewReader(readFile(t, "/proc/self/status")))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			var err error
			if capEff, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil {
				t.Fatalf("parse CapEff %q: %v", v, err)
			}
		}
	}
	if need := uint64(1)<<unix.CAP_SETUID | 1<<unix.CAP_SETGID; capEff&need != need {
		t.Skipf("becoming nobody needs CAP_SETUID and CAP_SETGID; this process holds %#x", capEff)
	}
	mapped := false
	for _, line := range strings.Split(readFile(t, "/proc/self/uid_map"), "\n") {
		var inside, outside, count int
		if _, err := fmt.Sscan(line, &inside, &outside, &count); err == nil && inside <= nobody && nobody < inside+count {
			mapped = true
		}
	}
	if !mapped {
		t.Skipf("uid %d is not mapped in this process's user namespace", nobody)
	}
	if readFile(t, "/proc/sys/user/max_user_namespaces") == "0" || readFile(t, "/proc/sys/kernel/unprivileged_userns_clone") == "0" {
		t.Skip("user namespaces are off, or off for unprivileged users, on this kernel")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read %s: %v", path, err)
	}
	return strings.TrimSpace(string(data))
}
