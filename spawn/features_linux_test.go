package spawn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/kernelsim"
	"github.com/nsverify/nsverify/internal/testreq"
	"github.com/nsverify/nsverify/probes"
)

// childEnv makes a re-executed test binary run the child half of the test
// it was started for; its value names that half.
const childEnv = "NSVERIFY_SPAWN_TEST_CHILD"

// parentUserNSEnv carries the parent's user namespace identity to a child
// that must prove it is in another one before it changes a sysctl.
const parentUserNSEnv = "NSVERIFY_SPAWN_TEST_PARENT_USERNS"

// reexec runs the current test again in a child process cloned with attr,
// with childEnv=role, and returns its output. The child's TestMain builds its
// own probe. It fails the test if the child fails or did not reach its end.
func reexec(t *testing.T, role string, attr *syscall.SysProcAttr, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	testreq.Clone(t, attr.Cloneflags)
	attr.Pdeathsig = syscall.SIGKILL
	attr.Setpgid = true
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child %s failed: %v\n%s", role, err, out)
	}
	if !strings.Contains(string(out), childDone(role)) {
		t.Fatalf("the child %s did not run its checks:\n%s", role, out)
	}
	return string(out)
}

func childDone(role string) string { return "child " + role + ": done" }

func TestDetectFindsEveryKindOfThisMachine(t *testing.T) {
	testreq.Require(t)(ReadPrivilege().CanCreate(All.Without(User)))
	f := detect(probePath)
	if f.Error != "" {
		t.Fatalf("detection failed: %s", f.Error)
	}
	if f.EUID != 0 || !f.Has(CapSysAdmin) {
		t.Errorf("as root, Detect says euid=%d, %s", f.EUID, f.Who())
	}
	if f.Kernel == "" || f.CgroupLayout == "unknown" || f.RootPropagation == "unknown" {
		t.Errorf("machine facts missing: kernel %q, cgroup layout %q, propagation of / %q", f.Kernel, f.CgroupLayout, f.RootPropagation)
	}
	if len(f.Kinds) != len(kinds) {
		t.Fatalf("%d kinds detected, want %d", len(f.Kinds), len(kinds))
	}
	var present Set
	for i, k := range kinds {
		ks := f.Kinds[i]
		if ks.Kind != k || f.Kind(k) != ks {
			t.Errorf("kind %d is %q, want %q", i, ks.Kind, k)
		}
		if ks.Present != kindsPresent()[k] {
			t.Errorf("%s: present=%v, /proc/self/ns says %v", k, ks.Present, kindsPresent()[k])
		}
		if !ks.Present {
			t.Logf("%s: not on this kernel: %s", k, ks.Reason)
			if ks.Reason == "" {
				t.Errorf("%s: missing, without a reason", k)
			}
			continue
		}
		if !ks.Supported() && ks.Limit == 0 {
			// The machine's own limit, as on CentOS 7 or a kernel booted
			// with it at 0: the kind is refused, and the reason must say
			// which sysctl and what to do.
			if !strings.Contains(ks.Reason, "max_"+string(k)+"_namespaces is 0") || ks.Remedy == "" {
				t.Errorf("%s: refused at limit 0 without naming the sysctl and its remedy: %s", k, ks.Reason)
			}
			t.Logf("%s: not creatable on this machine: %s", k, ks.Reason)
			continue
		}
		present = present.With(k)
		if !ks.Supported() || ks.InUserNS {
			t.Errorf("%s: as root, creatable=%v in_user_ns=%v: %s", k, ks.Creatable, ks.InUserNS, ks.Reason)
		}
		if ks.Limit != readInt("/proc/sys/user/max_"+string(k)+"_namespaces") {
			t.Errorf("%s: limit %d differs from the sysctl", k, ks.Limit)
		}
	}
	if ok, reason := f.Supports(present); !ok {
		t.Errorf("Supports(%s) = false: %s", present, reason)
	}
	if Detect(probePath) != Detect(probePath) { //nolint:staticcheck // SA4000: the same call twice must give the same pointer
		t.Error("Detect is not memoised")
	}
}

func TestDetectWithABinaryThatCannotRunSaysSo(t *testing.T) {
	f := detect("/nonexistent/nsprobe")
	if !strings.Contains(f.Error, "the control child") || !strings.Contains(f.Error, "no such file or directory") {
		t.Errorf("error = %q, want it to blame the control child", f.Error)
	}
	ok, reason := f.Supports(SetOf(UTS))
	if ok || !strings.HasPrefix(reason, "cannot tell: ") {
		t.Errorf("Supports = %v, %q; want false and cannot tell", ok, reason)
	}
	for _, ks := range f.Kinds {
		if ks.Creatable {
			t.Errorf("%s is creatable by a binary that does not exist", ks.Kind)
		}
	}
}

// limitZeroRole is the role of a re-executed test binary that runs every
// test with user namespaces turned off (see
// TestUserNamespacesTurnedOffAreDiagnosedAndSkipped).
const limitZeroRole = "no-userns"

// TestUserNamespacesTurnedOffAreDiagnosedAndSkipped turns user namespaces
// off (user.max_user_namespaces=0) where that is safe: in a throwaway user
// namespace that maps every id to itself, where the test binary is root
// with every capability. The limit belongs to that namespace and dies with
// it; the host's is never written. There it runs every test of this
// package again: each must pass or skip, and a test that needs a user
// namespace must skip with the preflight's reason (the sysctl and its
// remedy), not fail on the clone as TestTimeOffsetsShiftTheChildsClocks
// once did with ENOSPC. They skip by construction (runChild, reexec and
// startHolder ask the preflight before they clone); this run shows it.
func TestUserNamespacesTurnedOffAreDiagnosedAndSkipped(t *testing.T) {
	if os.Getenv(childEnv) == limitZeroRole {
		childWithUserNamespacesOff(t)
		return
	}
	requireRoot(t)
	const sysctl = "/proc/sys/user/max_user_namespaces"
	before := readString(sysctl)
	if strings.TrimSpace(before) == "0" {
		// The machine is already there (CentOS 7, or booted with the
		// limit at 0): check it here, with nothing to change; the other
		// tests of this run are already at the limit.
		checkUserNamespacesOff(t)
		return
	}
	requireIdentityMaps(t)
	requireKind(t, User)
	out := reexecPackage(t, limitZeroRole, &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                toSysProcIDMaps(identityMap()),
		GidMappings:                toSysProcIDMaps(identityMap()),
		GidMappingsEnableSetgroups: true,
	}, parentUserNSEnv+"="+ownNSID(t, "user").String())
	if after := readString(sysctl); after != before {
		t.Errorf("the host's user.max_user_namespaces changed from %q to %q", before, after)
	}
	skipped := skippedTests(out)
	limited := 0
	for name, reason := range skipped {
		if strings.Contains(reason, "user.max_user_namespaces is 0") && strings.Contains(reason, "sysctl -w user.max_user_namespaces=") {
			limited++
			t.Logf("at the limit, %s skipped: %s", name, reason)
		}
	}
	// The test that once failed there, in the sets with user: it must
	// have skipped for the limit, whatever way it asked time to be made.
	for _, name := range []string{"TestTimeOffsetsShiftTheChildsClocks/user+time/as-run-picks", "TestTimeOffsetsShiftTheChildsClocks/pid+user+time/as-run-picks"} {
		if reason, ok := skipped[name]; !ok || !strings.Contains(reason, "user.max_user_namespaces is 0") {
			t.Errorf("at user.max_user_namespaces=0, %s did not skip for the limit (skipped: %v, %q)", name, ok, reason)
		}
	}
	if limited == 0 {
		t.Errorf("at user.max_user_namespaces=0 no test skipped naming the limit:\n%s", out)
	}
}

// reexecPackage runs every test of this package again in a child cloned
// with attr, with childEnv=role, and returns its verbose output. Every test
// must pass or skip: the child must succeed, and have reached role's part
// of the test that started it.
func reexecPackage(t *testing.T, role string, attr *syscall.SysProcAttr, env ...string) string {
	t.Helper()
	testreq.Clone(t, attr.Cloneflags)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.v", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	attr.Pdeathsig = syscall.SIGKILL
	attr.Setpgid = true
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tests run again as %s failed: %v\n%s", role, err, out)
	}
	if !strings.Contains(string(out), childDone(role)) {
		t.Fatalf("the tests run again as %s did not reach their checks:\n%s", role, out)
	}
	return string(out)
}

// skippedTests returns, from the verbose output of a test binary, each
// test that skipped with the reason it gave: the lines it logged, which
// come after its "=== RUN", "=== CONT" or "=== NAME" line and before
// another test's.
func skippedTests(out string) map[string]string {
	logged := map[string]string{}
	var skipped []string
	current := ""
	for _, line := range strings.Split(out, "\n") {
		trimmed := strings.TrimSpace(line)
		if f := strings.Fields(trimmed); len(f) >= 2 && (f[0] == "===" || f[0] == "---") {
			if f[0] == "===" && len(f) >= 3 {
				current = f[2]
			}
			if f[0] == "---" && f[1] == "SKIP:" && len(f) >= 3 {
				skipped = append(skipped, f[2])
			}
			continue
		}
		if current != "" && trimmed != "" && trimmed != "PASS" && trimmed != "FAIL" {
			logged[current] = strings.TrimSpace(logged[current] + " " + trimmed)
		}
	}
	reasons := map[string]string{}
	for _, name := range skipped {
		reasons[name] = logged[name]
	}
	return reasons
}

// lowerUserNSLimit sets user.max_user_namespaces to 0 for a test binary
// re-executed as limitZeroRole, before any test runs, after making sure it
// runs in a throwaway user namespace, whose copy of the limit it writes.
func lowerUserNSLimit() error {
	parent := os.Getenv(parentUserNSEnv)
	own, err := probes.StatNSID("/proc/self/ns/user")
	if err != nil {
		return fmt.Errorf("lower user.max_user_namespaces: %w", err)
	}
	if parent == "" || parent == own.String() {
		return fmt.Errorf("lower user.max_user_namespaces: refusing, this process is not in a throwaway user namespace (parent's %q)", parent)
	}
	if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0\n"), 0); err != nil {
		return fmt.Errorf("lower user.max_user_namespaces in a throwaway user namespace: %w", err)
	}
	return nil
}

func childWithUserNamespacesOff(t *testing.T) {
	if got := strings.TrimSpace(readString("/proc/sys/user/max_user_namespaces")); got != "0" {
		t.Fatalf("user.max_user_namespaces is %q in the run that should have it at 0", got)
	}
	if f := Detect(probePath); f.InitialUserNS {
		t.Error("the throwaway user namespace is taken for the initial one")
	}
	checkUserNamespacesOff(t)
	t.Log(childDone(limitZeroRole))
}

// checkUserNamespacesOff checks, with user.max_user_namespaces at 0 in this
// process's user namespace, that a set with user is refused and diagnosed,
// that the preflight says why and what to do, and that sets without user
// still run.
func checkUserNamespacesOff(t *testing.T) {
	// Run itself, not runChild: the refusal is what is checked.
	_, err := Run(t.Context(), Options{Probe: probePath, Set: SetOf(UTS, User)})
	if err == nil {
		t.Fatal("a child was cloned into a new user namespace with user.max_user_namespaces at 0")
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("error %q does not wrap ENOSPC", err)
	}
	for _, want := range []string{
		"spawn uts+user: clone probe:",
		"likely cause: clone(CLONE_NEWUTS|CLONE_NEWUSER) failed with ENOSPC: user namespaces are not enabled (user.max_user_namespaces is 0)",
		"remedy: run `sysctl -w user.max_user_namespaces=15000`",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%s", want, err)
		}
	}
	t.Logf("Run said: %v", err)

	f := Detect(probePath)
	if ok, reason := f.CanCreate(SetOf(UTS)); !ok {
		t.Errorf("root with CAP_SYS_ADMIN over its own user namespace may not create uts: %s", reason)
	}
	user := f.Kind(User)
	if user.Supported() || user.Errno != "ENOSPC" {
		t.Errorf("user: supported=%v errno=%q, want unsupported with ENOSPC", user.Supported(), user.Errno)
	}
	if user.Limit != 0 {
		t.Errorf("user: limit %d, want 0", user.Limit)
	}
	ok, reason := f.Supports(SetOf(User, Net))
	want := "user: cannot create user namespaces (clone(CLONE_NEWUSER) failed with ENOSPC): user namespaces are not enabled (user.max_user_namespaces is 0); run `sysctl -w user.max_user_namespaces=15000`"
	if ok || !strings.HasPrefix(reason, want) {
		t.Errorf("Supports(user+net) = %v, %q; want false, %q", ok, reason, want)
	}
	t.Logf("Supports said: %s", reason)
	for _, set := range []Set{SetOf(UTS), SetOf(Net), SetOf(UTS, IPC, PID, MNT, Net)} {
		if ok, reason := f.Supports(set); !ok {
			t.Errorf("Supports(%s) = false (%s); those need no user namespace", set, reason)
		}
		if _, err := runChild(t, t.Context(), Options{Probe: probePath, Set: set}); err != nil {
			t.Errorf("Run(%s): %v", set, err)
		}
	}
}

// TestAKindTheKernelRefusesIsReportedAndTheOthersStillWork simulates a
// kernel without cgroup namespaces and without clone3 (as Linux 4.5 was)
// with a seccomp filter in a re-executed test binary: clone and unshare
// with CLONE_NEWCGROUP fail with EINVAL, clone3 with ENOSYS (so time, which
// Go creates only through clone3, fails too).
func TestAKindTheKernelRefusesIsReportedAndTheOthersStillWork(t *testing.T) {
	if os.Getenv(childEnv) == "no-cgroupns" {
		childWithoutCgroupNamespaces(t)
		return
	}
	testreq.Require(t)(ReadPrivilege().CanCreate(All.Without(User)))
	requireKind(t, Cgroup)
	if err := kernelsim.Supported(); err != nil {
		t.Skip(err)
	}
	t.Logf("the child said:\n%s", reexec(t, "no-cgroupns", nil))
}

func childWithoutCgroupNamespaces(t *testing.T) {
	installCgroupRefusingFilter(t)
	f := Detect(probePath)
	if f.Seccomp != "filter" {
		t.Errorf("seccomp mode %q, want filter", f.Seccomp)
	}
	cgroup := f.Kind(Cgroup)
	if cgroup.Supported() || cgroup.Errno != "EINVAL" {
		t.Errorf("cgroup: supported=%v errno=%q, want unsupported with EINVAL", cgroup.Supported(), cgroup.Errno)
	}
	ok, reason := f.Supports(SetOf(UTS, Cgroup))
	if ok || !strings.HasPrefix(reason, "cgroup: cannot create cgroup namespaces (clone(CLONE_NEWCGROUP) failed with EINVAL): a seccomp filter") {
		t.Errorf("Supports(uts+cgroup) = %v, %q", ok, reason)
	}
	t.Logf("Supports said: %s", reason)
	if tk := f.Kind(Time); tk.Present && (tk.Supported() || tk.Errno != "ENOSYS") {
		t.Errorf("time: supported=%v errno=%q, want unsupported with ENOSYS", tk.Supported(), tk.Errno)
	}

	// Run itself, not runChild, here and for time: the refusals are what
	// is checked.
	_, err := Run(t.Context(), Options{Probe: probePath, Set: SetOf(Net, Cgroup)})
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Run(net+cgroup) = %v, want EINVAL", err)
	}
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Cause, "clone(CLONE_NEWNET|CLONE_NEWCGROUP) failed with EINVAL: a seccomp filter") || e.Remedy == "" {
		t.Errorf("Run(net+cgroup) was not diagnosed: %v", err)
	}
	t.Logf("Run said: %v", err)
	if kindsPresent()[Time] {
		_, err = Run(t.Context(), Options{Probe: probePath, Set: SetOf(Time)})
		if !errors.Is(err, syscall.ENOSYS) || !strings.Contains(err.Error(), "clone3(CLONE_NEWTIME) failed with ENOSYS") {
			t.Errorf("Run(time) = %v, want a diagnosed ENOSYS", err)
		}
	}

	others := All.Without(Cgroup, Time)
	for _, k := range others.Kinds() {
		if ks := f.Kind(k); !ks.Supported() && ks.Limit == 0 {
			// Refused by the machine's own limit, not by the filter.
			t.Logf("%s: left out, this machine refuses it: %s", k, ks.Reason)
			others = others.Without(k)
		}
	}
	for _, k := range others.Kinds() {
		if !f.Kind(k).Supported() {
			t.Errorf("%s: unsupported (%s), though the filter lets it through", k, f.Kind(k).Reason)
		}
	}
	if ok, reason := f.Supports(others); !ok {
		t.Errorf("Supports(%s) = false: %s", others, reason)
	}
	if _, err := runChild(t, t.Context(), Options{Probe: probePath, Set: others}); err != nil {
		t.Errorf("Run(%s): %v", others, err)
	}
	t.Log(childDone("no-cgroupns"))
}

// installCgroupRefusingFilter makes clone and unshare with CLONE_NEWCGROUP
// fail with EINVAL, and clone3 with ENOSYS, in this process and its children.
func installCgroupRefusingFilter(t *testing.T) {
	if err := kernelsim.Refuse(unix.CLONE_NEWCGROUP); err != nil {
		t.Fatal(err)
	}
}

func TestReadMachineReadsThisProcess(t *testing.T) {
	m := readMachine()
	if m.EUID != os.Geteuid() {
		t.Errorf("euid %d, want %d", m.EUID, os.Geteuid())
	}
	if m.UserNS == "" || len(m.UIDMap) == 0 || len(m.GIDMap) == 0 {
		t.Errorf("the own user namespace was not read: %+v", m.Privilege)
	}
	if m.Seccomp == "" {
		t.Error("the seccomp mode was not read")
	}
	for _, k := range kinds {
		if _, ok := m.Limits[k]; !ok {
			t.Errorf("no limit for %s", k)
		}
	}
	if _, err := os.Stat("/sys/module/user_namespace/parameters/enable"); err != nil && m.UserNamespaceEnable != "" {
		t.Errorf("user_namespace.enable = %q on a kernel without it", m.UserNamespaceEnable)
	}
}

// BenchmarkDetect measures one detection (nine throwaway children) and a
// memoised call.
func BenchmarkDetect(b *testing.B) {
	b.Run("spawning", func(b *testing.B) {
		for b.Loop() {
			if f := detect(probePath); f.Error != "" {
				b.Fatal(f.Error)
			}
		}
	})
	b.Run("memoised", func(b *testing.B) {
		Detect(probePath)
		for b.Loop() {
			Detect(probePath)
		}
	})
}
