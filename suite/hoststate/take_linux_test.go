package hoststate

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/testreq"
	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

const (
	// childEnv names the test that a re-executed test binary runs inside
	// the namespaces its parent cloned it into.
	childEnv = "NSVERIFY_HOSTSTATE_CHILD"
	// parentMntNSEnv carries the parent's mount namespace, so that a child
	// refuses to mount anything unless it is in another one.
	parentMntNSEnv = "NSVERIFY_HOSTSTATE_PARENT_MNTNS"
	// mountDirEnv is where the mount test's child mounts its tmpfs.
	mountDirEnv = "NSVERIFY_HOSTSTATE_MOUNT_DIR"
	// onHostEnv=1 runs TestLeftBehindMarkersAreReported on the host itself
	// rather than in private namespaces.
	onHostEnv = "NSVERIFY_HOSTSTATE_ON_HOST"
)

// inChild reports whether this process is the re-executed child of t.
func inChild(t *testing.T) bool { return os.Getenv(childEnv) == t.Name() }

// runInChild runs t again in a child of this process cloned with flags,
// and fails t unless the child's run of it passed.
func runInChild(t *testing.T, flags uintptr, env ...string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	mntNS, err := nsInode("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name(), parentMntNSEnv+"="+strconv.FormatUint(mntNS, 10))
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	t.Logf("the child's run:\n%s", out)
	if err != nil {
		t.Fatalf("run %s in a child cloned with %#x: %v", t.Name(), flags, err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the child did not run and pass %s", t.Name())
	}
}

func nsInode(path string) (uint64, error) {
	id, err := probes.StatNSID(path)
	return id.Ino, err
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// makeQueue creates a SysV message queue under a fresh random key and
// returns its key and id, and a function that removes it (once).
func makeQueue(t *testing.T) (key int32, id int, remove func()) {
	t.Helper()
	for {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		key = int32(binary.LittleEndian.Uint32(b[:]) & 0x7fffffff)
		if key == 0 { // IPC_PRIVATE
			continue
		}
		r, err := probes.MsgGet(key, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			t.Fatalf("create message queue %#x: %v", key, err)
		}
		id = r
		break
	}
	var once sync.Once
	remove = func() {
		once.Do(func() {
			if err := probes.MsgRemove(id); err != nil {
				t.Errorf("remove message queue %#x id %d: %v", key, id, err)
			}
		})
	}
	t.Cleanup(remove)
	return key, id, remove
}

// makeVeth adds a veth pair with fresh names and returns them, and a
// function that deletes the pair (once).
func makeVeth(t *testing.T) (name, peer string, remove func()) {
	t.Helper()
	suffix := randomHex(t, 4)
	name, peer = "nsvh"+suffix, "nsvp"+suffix
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("add veth pair %s/%s: %v", name, peer, err)
	}
	var once sync.Once
	remove = func() {
		once.Do(func() {
			// Deleting one end deletes the pair.
			if err := netlink.LinkDel(veth); err != nil {
				t.Errorf("delete veth pair %s/%s: %v", name, peer, err)
			}
		})
	}
	t.Cleanup(remove)
	return name, peer, remove
}

func take(t testing.TB, opts Options) *Snapshot {
	t.Helper()
	s, err := Take(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTakeReadsThisHost(t *testing.T) {
	s := take(t, Options{CgroupPrefix: "nsverify-", Sysctls: []string{"kernel.ostype", "/proc/sys/kernel/no-such-sysctl"}})
	if want, _ := os.Hostname(); s.Hostname != want {
		t.Errorf("Hostname = %q, want %q", s.Hostname, want)
	}
	if !slices.Contains(s.Links, "lo") {
		t.Errorf("Links = %q, want lo among them", s.Links)
	}
	if !slices.ContainsFunc(s.Mountinfo, func(l string) bool { return strings.HasPrefix(l, "/ ") }) {
		t.Errorf("Mountinfo has no / mount: %q", s.Mountinfo)
	}
	if !slices.Contains([]probes.Propagation{"shared", "slave", "shared+slave", "private", "unbindable"}, s.RootPropagation) {
		t.Errorf("RootPropagation = %q", s.RootPropagation)
	}
	if got := s.Sysctls["kernel.ostype"]; got != "Linux" {
		t.Errorf("sysctl kernel.ostype = %q, want Linux", got)
	}
	if _, ok := s.Sysctls["/proc/sys/kernel/no-such-sysctl"]; ok || !slices.ContainsFunc(s.Notes, func(n string) bool {
		return strings.Contains(n, "no-such-sysctl")
	}) {
		t.Errorf("a missing sysctl should be left out and noted; sysctls %v, notes %q", s.Sysctls, s.Notes)
	}
	t.Logf("notes: %q", s.Notes)
}

// TestLeftBehindMarkersAreReported proves that the invariance check can
// fail: a queue and a link left on the host show in the diff, and once they
// are removed the host equals its first snapshot again.
//
// It runs in a child cloned into private IPC, network and UTS namespaces,
// where nothing else creates queues or links: on the host, the suite's own
// specs (run in parallel by go test ./...) create and remove markers of
// their own meanwhile. Set NSVERIFY_HOSTSTATE_ON_HOST=1 to run it on the
// host itself; it then only asserts on its own markers.
func TestLeftBehindMarkersAreReported(t *testing.T) {
	// It makes a SysV queue and a veth pair, in IPC, network and UTS
	// namespaces of its own unless it runs on the host.
	onHost := os.Getenv(onHostEnv) == "1"
	if p := spawn.ReadPrivilege(); onHost {
		testreq.Require(t)(p.NeedOver(spawn.Net, spawn.CapNetAdmin, "add a veth pair to it"))
	} else {
		testreq.Require(t)(p.CanCreate(spawn.SetOf(spawn.IPC, spawn.Net, spawn.UTS)))
	}
	if !onHost && !inChild(t) {
		runInChild(t, unix.CLONE_NEWIPC|unix.CLONE_NEWNET|unix.CLONE_NEWUTS)
		return
	}
	opts := Options{
		CgroupPrefix: "nsverify-hoststate-" + randomHex(t, 4),
		Sysctls:      []string{"kernel.msgmni", "/proc/sys/user/max_user_namespaces"},
	}
	first := take(t, opts)
	key, id, removeQueue := makeQueue(t)
	name, peer, removeVeth := makeVeth(t)
	second := take(t, opts)

	d := Diff(first, second)
	t.Logf("after the markers were made:\n%s", Format(d))
	want := []string{
		fmt.Sprintf("sysvipc msg: + key %#x id %d (left behind)", uint32(key), id),
		"links: + " + name + " (left behind)",
		"links: + " + peer + " (left behind)",
	}
	got := strs(d)
	if onHost {
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("the diff lacks %q", w)
			}
		}
	} else if !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}

	removeQueue()
	removeVeth()
	third := take(t, opts)
	d = Diff(first, third)
	if onHost {
		for _, c := range d {
			if s := c.String(); strings.Contains(s, name) || strings.Contains(s, peer) || strings.Contains(s, fmt.Sprintf("%#x id %d", uint32(key), id)) {
				t.Errorf("a marker is still reported after its removal: %s", s)
			}
		}
		if len(d) > 0 {
			t.Logf("changes made meanwhile by others on this host:\n%s", Format(d))
		}
	} else if d != nil {
		t.Errorf("after the markers were removed, want the first snapshot again; %s", Format(d))
	}
}

// TestLeftBehindCgroupIsReported makes a cgroup with a unique prefix in the
// test's own cgroup v2 hierarchy and removes it.
func TestLeftBehindCgroupIsReported(t *testing.T) {
	testreq.Require(t)(spawn.ReadPrivilege().CanMakeCgroup())
	mounts, err := probes.ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	root := ""
	for _, m := range mounts {
		if m.FSType == "cgroup2" {
			root = m.MountPoint
			break
		}
	}
	if root == "" {
		t.Skip("needs a cgroup v2 hierarchy to make a cgroup in; none is mounted")
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	parent := root
	for _, l := range strings.Split(string(own), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			parent = filepath.Join(root, p)
		}
	}
	// Not "nsverify-": the suite, which may run at the same time, watches
	// that prefix on the host.
	prefix := "hoststate-test-" + randomHex(t, 4)
	opts := Options{CgroupRoots: []string{root}, CgroupPrefix: prefix}
	first := take(t, opts)
	dir := filepath.Join(parent, prefix+"-cg")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("make cgroup %s, which this process may: %v", dir, err)
	}
	var once sync.Once
	remove := func() {
		once.Do(func() {
			if err := os.Remove(dir); err != nil {
				t.Errorf("remove cgroup %s: %v", dir, err)
			}
		})
	}
	t.Cleanup(remove)

	// Only the cgroups area: other tests running at the same time may add
	// and remove links, queues and processes on the host.
	cgroupsOnly := func(changes []Change) []Change {
		var out []Change
		for _, c := range changes {
			if c.Area == AreaCgroups {
				out = append(out, c)
			}
		}
		return out
	}
	got := strs(cgroupsOnly(Diff(first, take(t, opts))))
	if want := []string{"cgroups: + " + dir + " (left behind)"}; !slices.Equal(got, want) {
		t.Errorf("Diff:\n got %q\nwant %q", got, want)
	}
	remove()
	if d := cgroupsOnly(Diff(first, take(t, opts))); d != nil {
		t.Errorf("after the cgroup was removed: %s", Format(d))
	}
}

// startChild starts a command of this test, which Pdeathsig kills should the
// test binary die, and kills it by its pid and waits for it at cleanup.
func startChild(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return cmd
}

// waitState polls /proc/PID/stat until the process is in state want.
func waitState(t *testing.T, pid int, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := ReadStat(pid)
		if err == nil && p.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d not in state %s after 10s: %+v, %v", pid, want, p, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestChildrenLeftBehindAreReported(t *testing.T) {
	opts := Options{} // the descendants of this test process
	first := take(t, opts)

	sleeper := startChild(t, "sleep", "30")
	var stopSleeper sync.Once
	stop := func() {
		stopSleeper.Do(func() {
			_ = sleeper.Process.Kill()
			_ = sleeper.Wait()
		})
	}
	t.Cleanup(stop)

	// A zombie: a child that exited and that nobody has waited for yet.
	zombie := startChild(t, "true")
	var reapZombie sync.Once
	reap := func() { reapZombie.Do(func() { _ = zombie.Wait() }) }
	t.Cleanup(reap)
	waitState(t, zombie.Process.Pid, "Z")

	// A grandchild, below a shell.
	shell := startChild(t, "sh", "-c", "sleep 30 & wait")
	var grandchild int
	var stopShell sync.Once
	stopTree := func() {
		stopShell.Do(func() {
			// Pdeathsig is not inherited: kill the grandchild by its pid,
			// then the shell's wait returns and it exits.
			if grandchild != 0 {
				_ = unix.Kill(grandchild, unix.SIGKILL)
			}
			_ = shell.Process.Kill()
			_ = shell.Wait()
		})
	}
	t.Cleanup(stopTree)
	deadline := time.Now().Add(10 * time.Second)
	for grandchild == 0 {
		for _, p := range take(t, opts).Children {
			if p.PPID == shell.Process.Pid && p.Comm == "sleep" {
				grandchild = p.PID
			}
		}
		if grandchild == 0 && time.Now().After(deadline) {
			t.Fatal("the shell's sleep did not show within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	second := take(t, opts)
	byPID := map[int]Process{}
	for _, p := range second.Children {
		byPID[p.PID] = p
	}
	if p, ok := byPID[sleeper.Process.Pid]; !ok || p.Comm != "sleep" || p.PPID != os.Getpid() || p.Zombie() {
		t.Errorf("the running sleep %d: got %+v (listed %v), want it alive with this process as parent", sleeper.Process.Pid, p, ok)
	}
	if p, ok := byPID[zombie.Process.Pid]; !ok || p.State != "Z" || !p.Zombie() {
		t.Errorf("the zombie %d: got %+v (listed %v), want state Z", zombie.Process.Pid, p, ok)
	}
	if p, ok := byPID[grandchild]; !ok || p.PPID != shell.Process.Pid {
		t.Errorf("the grandchild %d: got %+v (listed %v), want the shell %d as parent", grandchild, p, ok, shell.Process.Pid)
	}

	var added []string
	for _, c := range Diff(first, second) {
		if c.Area == AreaChildren && c.Op == Added {
			added = append(added, c.String())
		}
	}
	t.Logf("children left behind:\n%s", strings.Join(added, "\n"))
	if len(added) != 4 {
		t.Errorf("got %d children left behind, want 4 (sleep, zombie, sh, its sleep): %q", len(added), added)
	}
	if !slices.ContainsFunc(added, func(s string) bool {
		return strings.Contains(s, fmt.Sprintf("pid %d (true)", zombie.Process.Pid)) && strings.Contains(s, "state Z, a zombie")
	}) {
		t.Errorf("the zombie is not reported as one: %q", added)
	}

	ignored := take(t, Options{IgnoreChildren: func(p Process) bool { return p.Comm == "sh" }})
	var comms []string
	for _, p := range ignored.Children {
		comms = append(comms, p.Comm)
		if p.PID == shell.Process.Pid {
			t.Errorf("an ignored child is listed: %+v", p)
		}
	}
	if !slices.ContainsFunc(ignored.Children, func(p Process) bool { return p.PID == grandchild }) {
		t.Errorf("the grandchild of an ignored child should still be listed; got %q", comms)
	}

	stop()
	reap()
	stopTree()
	var left []string
	for _, c := range Diff(first, take(t, opts)) {
		if c.Area == AreaChildren {
			left = append(left, c.String())
		}
	}
	if len(left) > 0 {
		t.Errorf("after every child was reaped, want no change in children; got %q", left)
	}
}

// TestMountChangesInPrivateNamespace mounts a tmpfs and changes the
// propagation of / in a child cloned into a new mount namespace (never on
// the host), and checks that the diff names both.
func TestMountChangesInPrivateNamespace(t *testing.T) {
	testreq.Require(t)(spawn.ReadPrivilege().CanCreate(spawn.SetOf(spawn.MNT)))
	if !inChild(t) {
		dir := t.TempDir()
		before, err := readMountinfo("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		runInChild(t, unix.CLONE_NEWNS|unix.CLONE_NEWIPC|unix.CLONE_NEWNET|unix.CLONE_NEWUTS, mountDirEnv+"="+dir)
		after, err := readMountinfo("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		host := func(mt mountTable) *Snapshot {
			return &Snapshot{Mountinfo: mt.lines, RootPropagation: mt.rootPropagation}
		}
		if d := Diff(host(before), host(after)); d != nil {
			t.Errorf("the child's mounts reached this namespace: %s", Format(d))
		}
		return
	}

	// Mount nothing unless this is another mount namespace than the
	// parent's, and make / private first, so that nothing propagates back.
	parentNS, err := strconv.ParseUint(os.Getenv(parentMntNSEnv), 10, 64)
	if err != nil {
		t.Fatalf("read the parent's mount namespace: %v", err)
	}
	ownNS, err := nsInode("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	if ownNS == parentNS {
		t.Fatal("refusing to mount: this child shares its parent's mount namespace")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make / recursively private: %v", err)
	}
	dir := os.Getenv(mountDirEnv)
	opts := Options{CgroupPrefix: "nsverify-hoststate-" + randomHex(t, 4)}

	s0 := take(t, opts)
	if s0.RootPropagation != "private" {
		t.Fatalf("RootPropagation = %q after mount --make-rprivate /", s0.RootPropagation)
	}
	if err := unix.Mount("nsverify-test", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	s1 := take(t, opts)
	d := Diff(s0, s1)
	t.Logf("after a tmpfs was mounted:\n%s", Format(d))
	if len(d) != 1 || d[0].Area != AreaMountinfo || d[0].Op != Added ||
		!strings.HasPrefix(d[0].After, dir+" tmpfs nsverify-test root=/ opts=rw,nosuid,nodev,noexec") ||
		!strings.HasSuffix(d[0].After, " prop=private") {
		t.Errorf("want one mount left behind at %s; got %q", dir, strs(d))
	}

	if err := unix.Mount("", "/", "", unix.MS_SHARED, ""); err != nil {
		t.Fatalf("make / shared: %v", err)
	}
	s2 := take(t, opts)
	d = Diff(s1, s2)
	t.Logf("after / was made shared:\n%s", Format(d))
	if len(d) != 3 || d[0].Area != AreaMountinfo || d[0].Op != Removed || !strings.HasPrefix(d[0].Before, "/ ") ||
		d[1].Area != AreaMountinfo || d[1].Op != Added || !strings.HasPrefix(d[1].After, "/ ") ||
		!strings.Contains(d[1].After, " prop=shared:") ||
		d[2].String() != `root propagation: "private" → "shared"` {
		t.Errorf("want the / mount changed and its propagation private → shared; got %q", strs(d))
	}

	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatalf("unmount %s: %v", dir, err)
	}
	d = Diff(s2, take(t, opts))
	if len(d) != 1 || d[0].Op != Removed || !strings.HasPrefix(d[0].Before, dir+" tmpfs") {
		t.Errorf("want the tmpfs reported as removed; got %q", strs(d))
	}
}

func BenchmarkTake(b *testing.B) {
	opts := Options{
		CgroupPrefix: "nsverify-",
		Sysctls:      []string{"kernel.msgmni", "user.max_user_namespaces", "kernel.hostname"},
	}
	var s *Snapshot
	for b.Loop() {
		var err error
		if s, err = Take(opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.Mountinfo)), "mounts")
	b.ReportMetric(float64(len(s.Links)), "links")
}
