package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nsverify/nsverify/check"
	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/internal/hostlock"
	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/internal/testreq"
	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// The binaries the tests run: nsverify as users install it (static), and
// the preflight, which says what this machine lets a user create without
// sharing any code with check.
var nsverifyPath, preflightPath string

func TestMain(m *testing.M) {
	ctx := context.Background()
	var err error
	if nsverifyPath, err = testbuild.Static(ctx, "github.com/nsverify/nsverify/cmd/nsverify"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if preflightPath, err = testbuild.Static(ctx, testbuild.Preflight); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = testbuild.Remove(nsverifyPath)
		os.Exit(1)
	}
	// The checks plant canaries on the host: not while the suite compares
	// the host with itself.
	release, err := hostlock.Hold()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	release()
	for _, p := range []string{nsverifyPath, preflightPath} {
		if err := testbuild.Remove(p); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// markEnv names the environment variable every process of one run
// inherits, set to that run's TMPDIR: whatever still carries it once
// nsverify has exited was left behind.
const markEnv = "NSVERIFY_TEST_RUN"

// invocation is one run of the nsverify binary.
type invocation struct {
	code           int
	stdout, stderr string
	// tmp is its TMPDIR, and its working directory.
	tmp string
}

// newRun makes the TMPDIR of a run, which the user cred names (nil: this
// process) owns.
func newRun(t testing.TB, cred *syscall.Credential) invocation {
	t.Helper()
	r := invocation{tmp: runDir(t)}
	if cred != nil {
		if err := os.Chown(r.tmp, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// nsverify runs the binary as a user would, as this process, in a new run.
func nsverify(t testing.TB, args ...string) invocation {
	t.Helper()
	return newRun(t, nil).exec(t, nil, args...)
}

// exec runs the binary in r as a user would, as the user cred names (nil:
// this process), and returns r with its outcome.
func (r invocation) exec(t testing.TB, cred *syscall.Credential, args ...string) invocation {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), nsverifyPath, args...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TMPDIR=") }),
		"TMPDIR="+r.tmp, markEnv+"="+r.tmp)
	cmd.Dir = r.tmp
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r.stdout, r.stderr = stdout.String(), stderr.String()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run nsverify %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// wantExit fails t unless the run exited with code.
func (r invocation) wantExit(t testing.TB, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d (%s)\nstdout:\n%s\nstderr:\n%s", r.code, code, exitcode.Describe(code), r.stdout, r.stderr)
	}
}

// outcome decodes the run's --json output.
func (r invocation) outcome(t testing.TB) *check.Outcome {
	t.Helper()
	var out check.Outcome
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode the --json output: %v\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	if out.ExitCode != r.code {
		t.Errorf("the JSON says exit code %d, and nsverify exited with %d", out.ExitCode, r.code)
	}
	return &out
}

// leftBehind fails t for whatever the run left: an entry in its TMPDIR (a
// hello socket's directory, a canary), a process that still carries its
// mark, the probe among them. A process killed as nsverify exits may take
// a moment to go, so processes are looked for again for a few seconds.
func (r invocation) leftBehind(t testing.TB, probePID int) {
	t.Helper()
	if entries, err := os.ReadDir(r.tmp); err != nil {
		t.Errorf("read TMPDIR: %v", err)
	} else if len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("nsverify left %q in TMPDIR %s", names, r.tmp)
	}
	var procs []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		procs = marked(r.tmp)
		if len(procs) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(procs) > 0 {
		t.Errorf("processes of the run are still there: %s", strings.Join(procs, "; "))
	}
	if probePID > 0 && carriesMark(probePID, r.tmp) {
		t.Errorf("the probe, host pid %d, is still there", probePID)
	}
}

// marked lists the processes whose environment holds markEnv=mark, each
// as its pid and command line.
func marked(mark string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []string{"read /proc: " + err.Error()}
	}
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !carriesMark(pid, mark) {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte{' '})))
	}
	return out
}

// carriesMark reports whether process pid exists and its environment
// holds markEnv=mark. A zombie's environment reads empty: it is gone but
// for its exit status.
func carriesMark(pid int, mark string) bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	want := []byte(markEnv + "=" + mark)
	return slices.ContainsFunc(bytes.Split(env, []byte{0}), func(kv []byte) bool { return bytes.Equal(kv, want) })
}

// columnGap separates the table's columns: tabwriter pads with two
// spaces at least, and a cell holds single spaces.
var columnGap = regexp.MustCompile(`\s{2,}`)

// tableRows returns the rows of the table of kinds, by kind, each as its
// columns (kind, expected, host reads, probe, canaries, verdict).
func tableRows(t testing.TB, stdout string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	in := false
	for line := range strings.SplitSeq(stdout, "\n") {
		cols := columnGap.Split(strings.TrimSpace(line), -1)
		switch {
		case len(cols) > 0 && cols[0] == "KIND":
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in && len(cols) == 6:
			rows[cols[0]] = cols
		case in:
			t.Fatalf("a row of the table does not have six columns: %q\n%s", line, stdout)
		}
	}
	for _, k := range spawn.All.Kinds() {
		if _, ok := rows[string(k)]; !ok {
			t.Fatalf("the table has no row for %s:\n%s", k, stdout)
		}
	}
	return rows
}

// ownNS is this test's own namespace of kind, as dev:ino; "" where this
// kernel has no such kind.
func ownNS(t testing.TB, kind string) string {
	t.Helper()
	id, err := probes.StatNSID("/proc/self/ns/" + kind)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatalf("read the test's own %s namespace: %v", kind, err)
	}
	return id.String()
}

// differing lists the kinds whose verdict differs.
func differing(out *check.Outcome) []string {
	var ks []string
	for _, v := range out.Kinds {
		if v.Verdict == check.Differs {
			ks = append(ks, v.Kind)
		}
	}
	return ks
}

// requireCommand returns the path of a sandbox's command, or skips.
func requireCommand(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (%v); install it to check it (apt-get install %s)", name, err, name)
	}
	return path
}

// requireCreate skips unless this process may create set, as root makes
// a sandbox: the capability over its own user namespace (for a set
// without user), and a kernel that has and allows every kind, as the
// preflight finds.
func requireCreate(t testing.TB, set spawn.Set) {
	t.Helper()
	if !set.Has(spawn.User) {
		testreq.Require(t)(spawn.ReadPrivilege().CanCreate(set))
	}
	testreq.Require(t)(spawn.Detect(preflightPath).Supports(set))
}

// isolatedByUnshare is what `unshare -uipmn --fork` makes.
var isolatedByUnshare = spawn.SetOf(spawn.UTS, spawn.IPC, spawn.PID, spawn.MNT, spawn.Net)

func TestUnshareIsVerifiedAsExpected(t *testing.T) {
	requireCommand(t, "unshare")
	requireCreate(t, isolatedByUnshare)
	r := nsverify(t, "check", "--expect", "uts,ipc,pid,mnt,net", "--", "unshare", "-uipmn", "--fork", "{probe}", "{args}")
	r.wantExit(t, exitcode.Verified)
	for kind, cols := range tableRows(t, r.stdout) {
		if cols[5] != check.AsExpected {
			t.Errorf("%s: verdict %q, want %q: %q", kind, cols[5], check.AsExpected, cols)
		}
	}
	present := 0
	for _, k := range spawn.All.Kinds() {
		if ownNS(t, string(k)) != "" {
			present++
		}
	}
	if line := fmt.Sprintf("\nverified: %d kinds as expected (exit 0)\n", present); !strings.HasSuffix(r.stdout, line) {
		t.Errorf("the verdict line is not %q:\n%s", strings.TrimSpace(line), r.stdout)
	}
	r.leftBehind(t, 0)
}

func TestUnshareWithoutNetDiffersInNet(t *testing.T) {
	requireCommand(t, "unshare")
	requireCreate(t, isolatedByUnshare.Without(spawn.Net))
	r := nsverify(t, "check", "--expect", "uts,ipc,pid,mnt,net", "--", "unshare", "-uipm", "--fork", "{probe}", "{args}")
	r.wantExit(t, exitcode.Differs)
	rows := tableRows(t, r.stdout)
	for kind, cols := range rows {
		want := check.AsExpected
		if kind == "net" {
			want = check.Differs
		}
		if cols[5] != want {
			t.Errorf("%s: verdict %q, want %q: %q", kind, cols[5], want, cols)
		}
	}
	hostNet := ownNS(t, "net")
	if cols := rows["net"]; cols[2] != "host's "+hostNet || !regexp.MustCompile(`(^|, )net-[a-z]+ reached`).MatchString(cols[4]) {
		t.Errorf("the net row does not show the host's net namespace %s and a net canary reached: %q", hostNet, cols)
	}
	why := fmt.Sprintf("  - net: expected the sandbox's own net namespace, and the host reads the host's (%s); canaries reached: net-", hostNet)
	if !strings.Contains(r.stdout, why) {
		t.Errorf("the table does not say why net differs (%q):\n%s", why, r.stdout)
	}
	if !strings.Contains(r.stdout, "differs: net (exit 1)") {
		t.Errorf("the verdict line does not name net alone:\n%s", r.stdout)
	}
	r.leftBehind(t, 0)
}

func TestACommandThatNeverRunsTheProbeCannotBeVerified(t *testing.T) {
	r := nsverify(t, "check", "--linger", "1s", "--", "true", "{args}")
	r.wantExit(t, exitcode.CouldNotVerify)
	if !strings.Contains(r.stderr, "its probe never said hello within --linger 1s") {
		t.Errorf("stderr does not say the probe never said hello:\n%s", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout holds %q, want nothing", r.stdout)
	}
	r.leftBehind(t, 0)
}

func TestJSONCarriesTheKernelsPidAndTheHostsReadings(t *testing.T) {
	requireCommand(t, "unshare")
	requireCreate(t, isolatedByUnshare)
	r := nsverify(t, "check", "--json", "--expect", "uts,ipc,pid,mnt,net", "--", "unshare", "-uipmn", "--fork", "{probe}", "{args}")
	r.wantExit(t, exitcode.Verified)
	out := r.outcome(t)
	// The kernel's pid, read from outside, is the probe's pid in the
	// host's pid namespace, which the probe sees as 1 in its own.
	if out.HostPID <= 0 || out.Outside == nil || out.Outside.PID != out.HostPID {
		t.Fatalf("host pid %d, read from outside as %+v: want a pid, the same", out.HostPID, out.Outside)
	}
	if out.Report == nil || out.Report.PID != 1 {
		t.Fatalf("the probe reports pid %+v, want 1 in its own pid namespace", out.Report)
	}
	if n := out.Outside.NSpid; len(n) != 2 || n[0] != out.HostPID || n[1] != out.Report.PID {
		t.Errorf("NSpid read from outside is %v, want [%d %d]: the host's pid, then the probe's own", n, out.HostPID, out.Report.PID)
	}
	// The probe reads its own status through the host's /proc (unshare
	// mounts none of its own): the pid the kernel gave over the hello
	// socket is the one it reads there.
	if n := out.Report.NSpid; len(n) != 2 || n[0] != out.HostPID || n[1] != 1 {
		t.Errorf("the probe reads NSpid %v, want [%d 1]: the pid the kernel gave the host, then 1", n, out.HostPID)
	}
	if len(out.Kinds) != len(spawn.All.Kinds()) {
		t.Fatalf("%d kinds judged, want %d: %+v", len(out.Kinds), len(spawn.All.Kinds()), out.Kinds)
	}
	for _, v := range out.Kinds {
		own := ownNS(t, v.Kind)
		if own == "" {
			continue
		}
		if v.SelfID != own {
			t.Errorf("%s: nsverify compared with %s, and the test's own namespace is %s", v.Kind, v.SelfID, own)
		}
		if read := out.Outside.NS[v.Kind]; v.HostID != read.String() {
			t.Errorf("%s: the verdict says the host reads %s, and its reading says %s", v.Kind, v.HostID, read)
		}
		k, err := spawn.ParseKind(v.Kind)
		if err != nil {
			t.Fatal(err)
		}
		switch isolated := isolatedByUnshare.Has(k); {
		case v.Verdict != check.AsExpected:
			t.Errorf("%s: verdict %q: %+v", v.Kind, v.Verdict, v)
		case isolated && (v.HostID == "" || v.HostID == own || v.Host != "own"):
			t.Errorf("%s: the host reads %q (%s), want a namespace other than the test's own %s", v.Kind, v.HostID, v.Host, own)
		case !isolated && (v.HostID != own || v.Host != "host's"):
			t.Errorf("%s: the host reads %q (%s), want the test's own %s", v.Kind, v.HostID, v.Host, own)
		}
	}
	r.leftBehind(t, out.HostPID)
}

// bwrapArgs make the sandbox of `bwrap --unshare-all`.
var bwrapArgs = []string{"bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "{probe}", "{args}"}

func TestBwrap(t *testing.T) {
	requireCommand(t, "bwrap")
	unshared := spawn.SetOf(spawn.User, spawn.UTS, spawn.IPC, spawn.PID, spawn.Net, spawn.MNT, spawn.Cgroup)
	requireCreate(t, unshared)
	t.Run("verifies the kinds --unshare-all makes", func(t *testing.T) {
		r := nsverify(t, append([]string{"check", "--json", "--expect", "user,uts,ipc,pid,net,mnt,cgroup", "--"}, bwrapArgs...)...)
		r.wantExit(t, exitcode.Verified)
		out := r.outcome(t)
		if d := differing(out); len(d) > 0 {
			t.Errorf("kinds differ: %q", d)
		}
		r.leftBehind(t, out.HostPID)
	})
	t.Run("differs in time: it leaves the host's", func(t *testing.T) {
		r := nsverify(t, append([]string{"check", "--json", "--expect", "all", "--"}, bwrapArgs...)...)
		r.wantExit(t, exitcode.Differs)
		out := r.outcome(t)
		if d := differing(out); !slices.Equal(d, []string{"time"}) {
			t.Errorf("kinds differ: %q, want time alone", d)
		}
		if !strings.Contains(out.Verdict, "time") {
			t.Errorf("the verdict does not name time: %q", out.Verdict)
		}
		r.leftBehind(t, out.HostPID)
	})
}

// ociKinds are the kinds of the OCI namespace types.
var ociKinds = map[specs.LinuxNamespaceType]spawn.Kind{
	specs.PIDNamespace: spawn.PID, specs.NetworkNamespace: spawn.Net, specs.MountNamespace: spawn.MNT,
	specs.IPCNamespace: spawn.IPC, specs.UTSNamespace: spawn.UTS, specs.UserNamespace: spawn.User,
	specs.CgroupNamespace: spawn.Cgroup, specs.TimeNamespace: spawn.Time,
}

func TestRuncBundle(t *testing.T) {
	runc := requireCommand(t, "runc")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), runc, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	configPath := filepath.Join(dir, "config.json")
	text, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(text, &spec); err != nil {
		t.Fatalf("parse runc's spec: %v", err)
	}
	if spec.Process == nil || spec.Linux == nil {
		t.Fatalf("runc spec wrote no process or linux section:\n%s", text)
	}
	var set spawn.Set
	for _, ns := range spec.Linux.Namespaces {
		k, ok := ociKinds[ns.Type]
		if !ok {
			t.Fatalf("runc's spec has a namespace type this test does not know: %q", ns.Type)
		}
		set = set.With(k)
	}
	requireCreate(t, set)
	testreq.Require(t)(spawn.ReadPrivilege().CanMakeCgroup())
	own := ownCgroups(t)

	id := "nsverify-test-" + randomHex(t)
	state := t.TempDir()
	t.Cleanup(func() { removeContainer(t, runc, state, id, own) })
	spec.Process.Terminal = false
	spec.Process.Args = []string{check.PlaceProbe, check.PlaceArgs}
	spec.Linux.CgroupsPath = cgroupsPathBelow(own, id)
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: check.PlaceProbe, Type: "bind", Source: check.PlaceProbe, Options: []string{"bind", "ro"}},
		specs.Mount{Destination: check.PlaceHello, Type: "bind", Source: check.PlaceHello, Options: []string{"bind"}},
	)
	command := []string{"--oci-config", configPath, "--", runc, "--root", state, "run", "--bundle", check.PlaceBundle, id}
	// The container's environment is the config's: the run's mark goes
	// there for the probe to carry, so the config is written for each run.
	writeConfig := func(mark string) {
		s := spec
		p := *spec.Process
		p.Env = append(slices.Clone(spec.Process.Env), markEnv+"="+mark)
		s.Process = &p
		data, err := json.MarshalIndent(&s, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(configPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("verifies the kinds the config lists", func(t *testing.T) {
		r := newRun(t, nil)
		writeConfig(r.tmp)
		r = r.exec(t, nil, append([]string{"check", "--json", "--expect", set.String()}, command...)...)
		r.wantExit(t, exitcode.Verified)
		out := r.outcome(t)
		for _, v := range out.Kinds {
			if v.Verdict != check.AsExpected {
				t.Errorf("%s: verdict %q: %+v", v.Kind, v.Verdict, v)
			}
		}
		belowOwn(t, out.Outside.Cgroup, own)
		r.leftBehind(t, out.HostPID)
	})
	t.Run("differs in a kind the config lacks", func(t *testing.T) {
		var lacking spawn.Kind
		for _, k := range spawn.All.Kinds() {
			if !set.Has(k) && ownNS(t, string(k)) != "" {
				lacking = k
				break
			}
		}
		if lacking == "" {
			t.Skipf("runc's default config lists every kind this kernel has (%s)", set)
		}
		r := newRun(t, nil)
		writeConfig(r.tmp)
		r = r.exec(t, nil, append([]string{"check", "--json", "--expect", set.With(lacking).String()}, command...)...)
		r.wantExit(t, exitcode.Differs)
		out := r.outcome(t)
		if d := differing(out); !slices.Equal(d, []string{string(lacking)}) {
			t.Errorf("kinds differ: %q, want %s alone", d, lacking)
		}
		r.leftBehind(t, out.HostPID)
	})
}

// ownCgroups returns this test's cgroups, by hierarchy ("4:memory", "0:"
// for cgroup v2), as /proc/self/cgroup gives them.
func ownCgroups(t testing.TB) map[string]string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatalf("read the test's own cgroups: %v", err)
	}
	own := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if i := strings.LastIndex(line, ":"); i > 0 {
			own[line[:i]] = line[i+1:]
		}
	}
	return own
}

// cgroupsPathBelow is the cgroupsPath that makes runc put the container in
// a cgroup named id below this test's own, never beside it: runc takes a
// relative path below its own cgroup in each hierarchy of cgroup v1, and
// below the parent of its own on cgroup v2 alone, where an absolute path
// is the only way to name the test's.
func cgroupsPathBelow(own map[string]string, id string) string {
	if v2, ok := own["0:"]; ok && len(own) == 1 {
		return filepath.Join(v2, id)
	}
	return id
}

// belowOwn fails t unless each of the container's cgroups, as the host
// read the probe's, is below this test's own in its hierarchy: the
// container must not leave the cgroup the test runs in.
func belowOwn(t testing.TB, lines []string, own map[string]string) {
	t.Helper()
	if len(lines) == 0 {
		t.Errorf("the host read no cgroup of the probe")
	}
	for _, line := range lines {
		i := strings.LastIndex(line, ":")
		mine, ok := own[line[:max(i, 0)]]
		if i < 0 || !ok || !strings.HasPrefix(line[i+1:], strings.TrimSuffix(mine, "/")+"/") {
			t.Errorf("the container ran in cgroup %q, not below the test's own (%v)", line, own)
		}
	}
}

// removeContainer deletes the container should runc have left it, and
// fails t for it; and removes, failing t, any cgroup named id below this
// test's own cgroups (own), in every hierarchy, that runc left.
func removeContainer(t *testing.T, runc, state, id string, own map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := os.Stat(filepath.Join(state, id)); err == nil {
		t.Errorf("runc left the container %s", id)
		if out, err := exec.CommandContext(ctx, runc, "--root", state, "delete", "-f", id).CombinedOutput(); err != nil {
			t.Errorf("runc delete -f %s: %v\n%s", id, err, out)
		}
	}
	mounts, err := probes.ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("read mountinfo: %v", err)
		return
	}
	// Every hierarchy's mount against every own path: those that do not
	// match name no directory.
	for _, m := range mounts {
		if m.FSType != "cgroup" && m.FSType != "cgroup2" {
			continue
		}
		for _, path := range own {
			dir := filepath.Join(m.MountPoint, path, id)
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			t.Errorf("runc left the cgroup %s", dir)
			if err := os.Remove(dir); err != nil {
				t.Errorf("remove the cgroup runc left: %v", err)
			}
		}
	}
}

func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// nobody is the user a rootless check runs as.
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534}

func TestRootlessUnshareIsolatesUserAlone(t *testing.T) {
	requireCommand(t, "unshare")
	// To run as nobody, this process needs CAP_SETUID and CAP_SETGID over
	// a user namespace that maps nobody's ids.
	ids := []spawn.IDMap{{Inside: nobody.Uid, Outside: nobody.Uid, Count: 1}}
	testreq.Require(t)(spawn.ReadPrivilege().CanMapIDs(ids, ids))
	requireUserNSFor(t, nobody)
	r := newRun(t, nobody).exec(t, nobody, "check", "--", "unshare", "-Ur", "{probe}", "{args}")
	r.wantExit(t, exitcode.Verified)
	for kind, cols := range tableRows(t, r.stdout) {
		want := check.Shared
		if kind == "user" {
			want = check.Isolated
		}
		if cols[1] != "-" || cols[5] != want {
			t.Errorf("%s: expected %q, verdict %q; want no expectation and %q: %q", kind, cols[1], cols[5], want, cols)
		}
	}
	m := regexp.MustCompile(`probe: host pid (\d+), uid (\d+);`).FindStringSubmatch(r.stdout)
	if m == nil || m[2] != strconv.Itoa(int(nobody.Uid)) {
		t.Fatalf("the table does not give the probe's host pid and uid %d:\n%s", nobody.Uid, r.stdout)
	}
	pid, _ := strconv.Atoi(m[1])
	notRead := regexp.MustCompile(`(?m)^not read\n(  - .*\n)*  - canary mnt-file: not planted: needs CAP_SYS_ADMIN over the host's mnt namespace`)
	if !notRead.MatchString(r.stdout) {
		t.Errorf("the list of what was not read does not say the mnt canary could not be planted, and why:\n%s", r.stdout)
	}
	r.leftBehind(t, pid)
}

// requireUserNSFor skips unless the user cred names may create a user
// namespace here, as the preflight finds when run as that user.
func requireUserNSFor(t testing.TB, cred *syscall.Credential) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), preflightPath, "-json", "-require", "user")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run the preflight as uid %d: %v", cred.Uid, err)
	}
	var f spawn.Features
	if err := json.Unmarshal(stdout.Bytes(), &f); err != nil {
		t.Fatalf("decode the preflight's report, run as uid %d: %v\n%s\nstderr:\n%s", cred.Uid, err, stdout.String(), stderr.String())
	}
	if ok, reason := f.Supports(spawn.SetOf(spawn.User)); !ok {
		t.Skipf("uid %d: %s", cred.Uid, reason)
	}
}
