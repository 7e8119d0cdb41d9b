package spawn

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/nsverify/nsverify/internal/testreq"
	"github.com/nsverify/nsverify/probes"
)

func TestCheckJoinFilesNamesTheKindAPathReallyIs(t *testing.T) {
	if err := checkJoinFiles(map[Kind]string{Net: "/proc/self/ns/net", UTS: "/proc/self/ns/uts"}); err != nil {
		t.Errorf("own namespaces refused: %v", err)
	}
	err := checkJoinFiles(map[Kind]string{UTS: "/proc/self/ns/net"})
	if err == nil || !strings.Contains(err.Error(), "given as the uts namespace, is a net namespace") {
		t.Errorf("a net namespace given as uts: %v", err)
	}
	err = checkJoinFiles(map[Kind]string{Net: "/proc/self/status"})
	if err == nil || !strings.Contains(err.Error(), "bind mount") {
		t.Errorf("a plain file given as net: %v", err)
	}
}

// startHolder starts a process that holds new namespaces of set until the
// test ends, and returns its pid.
func startHolder(t *testing.T, set Set) int {
	t.Helper()
	testreq.Clone(t, set.CloneFlags())
	cmd := exec.Command("/bin/sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: set.CloneFlags(), Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start holder in %s: %v", set, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

func nsOf(t *testing.T, pid int, k Kind) probes.NSID {
	t.Helper()
	id, err := probes.StatNSID(fmt.Sprintf("/proc/%d/ns/%s", pid, k))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRunJoinsByPathAndByPidfdWithNewKinds(t *testing.T) {
	requireRoot(t)
	holder := startHolder(t, SetOf(UTS, Net, PID))
	joins := map[string]Join{
		"path":  {Paths: map[Kind]string{Net: fmt.Sprintf("/proc/%d/ns/net", holder), PID: fmt.Sprintf("/proc/%d/ns/pid", holder)}},
		"pidfd": {PID: holder, Kinds: SetOf(Net, PID)},
	}
	for name, j := range joins {
		res, err := runChild(t, context.Background(), Options{Probe: probePath, Set: SetOf(IPC), Join: j})
		if err != nil {
			t.Fatalf("join by %s: %v", name, err)
		}
		for _, k := range []Kind{Net, PID} {
			if got, want := res.Report.NS[string(k)], nsOf(t, holder, k); got != want {
				t.Errorf("join by %s: %s namespace is %v, want the holder's %v", name, k, got, want)
			}
		}
		if got, host := res.Report.NS["uts"], nsOf(t, os.Getpid(), UTS); got != host {
			t.Errorf("join by %s: uts namespace is %v, want the caller's %v: it was neither joined nor made", name, got, host)
		}
		if got, own := res.Report.NS["ipc"], nsOf(t, os.Getpid(), IPC); got == own {
			t.Errorf("join by %s: ipc namespace is the caller's, want a new one", name)
		}
		if res.HostPID == res.PID || res.Report.PID == res.HostPID {
			t.Errorf("join by %s: observer pid %d (host %d, launcher %d): want an observer with its own pid in the joined pid namespace", name, res.Report.PID, res.HostPID, res.PID)
		}
	}
}

func TestRunWithANewPIDNamespaceAndAJoinMakesTheObserverPID1ThatTheHostCanName(t *testing.T) {
	requireRoot(t)
	holder := startHolder(t, SetOf(Net))
	res, err := runChild(t, context.Background(), Options{Probe: probePath, Set: SetOf(PID), Join: Join{Paths: map[Kind]string{Net: fmt.Sprintf("/proc/%d/ns/net", holder)}}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	if got, want := r.NS["net"], nsOf(t, holder, Net); got != want {
		t.Errorf("net namespace is %v, want the holder's %v", got, want)
	}
	if r.PID != 1 || len(r.NSpid) != 2 || r.NSpid[0] != res.HostPID {
		t.Errorf("pid %d, NSpid %v, host pid %d: want pid 1 with the host pid first in NSpid", r.PID, r.NSpid, res.HostPID)
	}
	if got, own := r.NS["pid"], nsOf(t, os.Getpid(), PID); got == own {
		t.Errorf("pid namespace is the caller's, want a new one")
	}
}
