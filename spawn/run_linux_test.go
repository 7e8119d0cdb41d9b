package spawn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/internal/testreq"
	"github.com/nsverify/nsverify/internal/testseam"
	"github.com/nsverify/nsverify/probes"
)

// probePath is the nsprobe binary built once for these tests.
var probePath string

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == limitZeroRole {
		// Before any test: every one runs at the limit.
		if err := lowerUserNSLimit(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	var err error
	if probePath, err = testbuild.Static(context.Background(), testbuild.Probe); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Every clone of these tests asks the preflight first (runChild,
	// reexec, startHolder): a set this machine cannot make skips with
	// its reason and remedy.
	testreq.UsePreflight(func(flags uintptr) (bool, string) { return Detect(probePath).Supports(setOfFlags(flags)) })
	code := m.Run()
	if err := testbuild.Remove(probePath); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// setOfFlags is the set whose clone flags flags holds.
func setOfFlags(flags uintptr) Set {
	var set Set
	for _, k := range kinds {
		if f := k.CloneFlag(); f != 0 && flags&f == f {
			set = set.With(k)
		}
	}
	return set
}

// runChild runs Run for a test, once the preflight says this machine can
// make opts.Set (testreq.Clone), and skips the test with the preflight's
// reason otherwise. Every test that starts a child goes through it; only
// a test that proves a refusal calls Run itself, and says why.
func runChild(t testing.TB, ctx context.Context, opts Options) (*Result, error) {
	t.Helper()
	testreq.Clone(t, opts.Set.CloneFlags())
	return Run(ctx, opts)
}

// requireRoot skips a test that creates namespaces other than user outside
// a new user namespace where this process lacks CAP_SYS_ADMIN over its own.
func requireRoot(t testing.TB) {
	t.Helper()
	if ok, reason := ReadPrivilege().CanCreate(All.Without(User)); !ok {
		t.Skip(reason)
	}
}

// requireKind skips a test that needs a namespace of kind k where this
// machine cannot create one, with the preflight's reason and remedy (a
// kernel without the kind, user.max_user_namespaces at 0, …).
func requireKind(t testing.TB, k Kind) {
	t.Helper()
	if !kindsPresent()[k] {
		t.Skipf("this kernel has no %s namespaces (/proc/self/ns/%s is missing); it needs a newer kernel", k, k)
	}
	if ok, reason := Detect(probePath).Supports(SetOf(k)); !ok {
		t.Skip(reason)
	}
}

func ownNSID(t testing.TB, name string) probes.NSID {
	t.Helper()
	id, err := probes.StatNSID("/proc/self/ns/" + name)
	if err != nil {
		t.Fatalf("stat own %s namespace: %v", name, err)
	}
	return id
}

func TestEmptySetSharesEverythingWithTheHost(t *testing.T) {
	res, err := runChild(t, t.Context(), Options{Probe: probePath, Set: None})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	for _, k := range kinds {
		if !kindsPresent()[k] {
			continue
		}
		got, ok := r.NS[string(k)]
		if !ok {
			t.Errorf("the report has no %s identity", k)
			continue
		}
		if want := ownNSID(t, string(k)); got != want {
			t.Errorf("%s identity = %v, the host's is %v", k, got, want)
		}
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if r.Hostname != host {
		t.Errorf("hostname = %q, the host's is %q", r.Hostname, host)
	}
	if r.PID != res.PID || res.HostPID != res.PID {
		t.Errorf("pid = %d, the host started %d", r.PID, res.PID)
	}
	if r.PPID != os.Getpid() {
		t.Errorf("ppid = %d, want this test's pid %d", r.PPID, os.Getpid())
	}
	if r.User == nil || r.User.UID != os.Getuid() || r.User.GID != os.Getgid() {
		t.Errorf("user = %+v, want uid %d gid %d", r.User, os.Getuid(), os.Getgid())
	}
	if len(r.Errors) != 0 {
		t.Errorf("observations failed: %v", r.Errors)
	}
}

func TestEachKindAloneIsolatesThatKindOnly(t *testing.T) {
	requireRoot(t)
	for _, k := range kinds {
		t.Run(string(k), func(t *testing.T) {
			requireKind(t, k)
			res, err := runChild(t, t.Context(), Options{Probe: probePath, Set: SetOf(k)})
			if err != nil {
				t.Fatal(err)
			}
			for _, other := range kinds {
				if !kindsPresent()[other] {
					continue
				}
				got, want := res.Report.NS[string(other)], ownNSID(t, string(other))
				if other == k && got == want {
					t.Errorf("cloned with %s, the child's %s identity %v equals the host's", k, other, got)
				}
				if other != k && got != want {
					t.Errorf("cloned with %s only, the child's %s identity %v differs from the host's %v", k, other, got, want)
				}
			}
		})
	}
}

// TestTimeOffsetsShiftTheChildsClocks runs a child in a time namespace
// with offsets made each way spawn has (testseam.TimeNSWays), and the way
// spawn picks itself, in each set the way can make: every way runs on
// every kernel that has it, not only the one spawn would pick here, so a
// fault in any (the probe's stage, which only kernels before 6.2 need,
// among them) fails here.
func TestTimeOffsetsShiftTheChildsClocks(t *testing.T) {
	requireKind(t, Time)
	const mono, boot = 7 * 24 * time.Hour, 9 * 24 * time.Hour
	for _, set := range []Set{SetOf(Time), SetOf(Time, PID), SetOf(Time, User), SetOf(Time, PID, User)} {
		for _, way := range append([]testseam.TimeNS{testseam.TimeNSAuto}, testseam.TimeNSWays()...) {
			if (way == testseam.TimeNSThread && set.Has(User)) || (way == testseam.TimeNSFork && !set.Has(User)) {
				continue // not a way Run has for this set
			}
			name := set.String() + "/" + string(way)
			if way == testseam.TimeNSAuto {
				name = set.String() + "/as-run-picks"
			}
			t.Run(name, func(t *testing.T) {
				opts := Options{Probe: probePath, Set: set, Actions: Actions{MonotonicOffset: mono, BoottimeOffset: boot}}
				if set.Has(User) {
					opts.UIDMap, opts.GIDMap = CallerMaps()
				}
				ctx := testseam.WithTimeNS(t.Context(), way)
				maker, err := makerOfTime(ctx, opts)
				if err != nil {
					// Only the kernel may rule a way out: every pair
					// tried here is one Run has.
					if !execEntersTimeNS() {
						t.Skip(err)
					}
					t.Fatal(err)
				}
				if way != testseam.TimeNSAuto && maker.String() != string(way) {
					t.Fatalf("the test seam asked for %s, and Run would make the namespace by %s", way, maker)
				}
				before := clockNow(t, unix.CLOCK_MONOTONIC)
				res, err := runChild(t, ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				checkShiftedClocks(t, res, before, mono)
				checkTimeMadeBy(t, res, maker)
			})
		}
	}
}

// checkShiftedClocks checks that the child read a monotonic clock shifted
// by mono from the host's read before it, was in a time namespace of its
// own, owned by its user namespace (the host's without user), and, with
// pid, pid 1 of a pid namespace of its own.
func checkShiftedClocks(t *testing.T, res *Result, before int64, mono time.Duration) {
	t.Helper()
	r := res.Report
	if r.Clock == nil {
		t.Fatalf("no clock in the report; errors: %v", r.Errors)
	}
	shift := time.Duration(r.Clock.MonotonicNS - before)
	if shift < mono || shift > mono+time.Minute {
		t.Errorf("monotonic clock is shifted by %s, want %s", shift, mono)
	}
	if r.NS["time"] == ownNSID(t, "time") {
		t.Error("the child's time namespace is the host's")
	}
	// Whoever made it, the time namespace belongs to the child's user
	// namespace: the host's without user.
	if got := r.Owners["time"].Owner; got == nil || got.ID != r.NS["user"] {
		t.Errorf("the child's time namespace is owned by %+v, want its user namespace %v", got, r.NS["user"])
	}
	if res.Set.Has(PID) && r.PID != 1 {
		t.Errorf("with pid the observer's pid is %d, want 1", r.PID)
	}
	if !res.Set.Has(PID) && r.PID != res.HostPID {
		t.Errorf("sharing pid, the observer reports pid %d, the host knows it as %d", r.PID, res.HostPID)
	}
	if res.Set.Has(PID) && r.NS["pid"] == ownNSID(t, "pid") {
		t.Error("with pid the observer's pid namespace is the host's")
	}
}

// checkTimeMadeBy checks the evidence of who made the child's time
// namespace, none of it spawn's own word: the probe's report of how it got
// inside, the stage it reports, and which thread of this process has the
// namespace for its children.
func checkTimeMadeBy(t *testing.T, res *Result, maker timeMaker) {
	t.Helper()
	r := res.Report
	heldBy := threadsWithTimeForChildren(t, r.NS["time"])
	switch maker {
	case timeByThread, timeByFork:
		// Run made it: the probe was started inside, and did nothing to
		// get there.
		if r.Launcher != nil || res.HostPID != res.PID || r.Actions["timens"] != "" {
			t.Errorf("launcher = %+v, host pid %d, started %d, actions %v; want the probe started inside by Run", r.Launcher, res.HostPID, res.PID, r.Actions)
		}
		// Run's thread for time keeps the namespace for its children
		// until it makes the next; the forked child made its own.
		if want := maker == timeByThread; (len(heldBy) == 1) != want {
			t.Errorf("made by %s, the threads of this process with the child's time namespace for their children are %v", maker, heldBy)
		}
	case timeByProbeExec:
		if r.Launcher != nil || res.HostPID != res.PID || !strings.Contains(r.Actions["timens"], "exec") || len(heldBy) != 0 {
			t.Errorf("launcher = %+v, host pid %d, started %d, actions %v, threads of this process holding it %v; want the observer exec'd in place, inside", r.Launcher, res.HostPID, res.PID, r.Actions, heldBy)
		}
	case timeByProbeStage:
		if r.Launcher == nil || res.HostPID != r.Launcher.ObserverPID || r.Launcher.StageThreads != 1 || !strings.Contains(r.Actions["timens"], "stage") || len(heldBy) != 0 {
			t.Errorf("launcher = %+v, host pid %d, actions %v, threads of this process holding it %v; want the observer's pid from the launcher, and a single-threaded stage", r.Launcher, res.HostPID, r.Actions, heldBy)
		}
	default:
		t.Errorf("a time namespace with offsets made by %s", maker)
	}
}

// threadsWithTimeForChildren lists the threads of this process whose time
// namespace for children is id.
func threadsWithTimeForChildren(t *testing.T, id probes.NSID) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, task := range tasks {
		if got, err := probes.StatNSID(task + "/ns/time_for_children"); err == nil && got == id {
			held = append(held, filepath.Base(task))
		}
	}
	return held
}

func clockNow(t testing.TB, id int32) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano()
}

func TestAProbeThatHangsIsKilledAtTheDeadline(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("needs the sleep command to stand in for a hanging probe")
	}
	// A script that takes the probe's arguments and hangs.
	hang := filepath.Join(t.TempDir(), "hang")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nexec "+sleep+" 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// That Run returns at all is bounded by the test's own timeout.
	_, err = runChild(t, t.Context(), Options{Probe: hang, Timeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("a probe that hangs was not reported")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not wrap context.DeadlineExceeded", err)
	}
	var spawnErr *Error
	if !errors.As(err, &spawnErr) || spawnErr.Set != None {
		t.Errorf("error %q does not name the set", err)
	}
}

func TestCloneErrorsKeepTheErrno(t *testing.T) {
	_, err := runChild(t, t.Context(), Options{Probe: "/nonexistent/nsprobe", Set: None})
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("error %v does not wrap ENOENT", err)
	}
}

// benchSets are the sets the spawn benchmarks measure: the empty set, and
// the walk-through's largest set.
var benchSets = []Set{None, SetOf(UTS, IPC, PID, MNT, User, Net)}

// BenchmarkRun measures Run; BenchmarkExec, the same probe with the same
// clone flags through a plain exec.Cmd with its output discarded. Their
// ratio is Run's own overhead.
func BenchmarkRun(b *testing.B) {
	for _, set := range benchSets {
		b.Run(set.String(), func(b *testing.B) {
			testreq.Clone(b, set.CloneFlags())
			for b.Loop() {
				if _, err := Run(context.Background(), Options{Probe: probePath, Set: set}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkExec(b *testing.B) {
	// The maps below are root's: 0 → 0.
	requireRoot(b)
	for _, set := range benchSets {
		b.Run(set.String(), func(b *testing.B) {
			testreq.Clone(b, set.CloneFlags())
			for b.Loop() {
				cmd := exec.Command(probePath)
				cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
				cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: set.CloneFlags(), Pdeathsig: syscall.SIGKILL}
				if set.Has(User) {
					cmd.SysProcAttr.UidMappings = toSysProcIDMaps(RootMap(0))
					cmd.SysProcAttr.GidMappings = toSysProcIDMaps(RootMap(0))
				}
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
