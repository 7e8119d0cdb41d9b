package spawn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/probes"
)

// probePath is the nsprobe binary built once for these tests.
var probePath string

func TestMain(m *testing.M) {
	var err error
	if probePath, err = testbuild.Static(context.Background(), testbuild.Probe); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := testbuild.Remove(probePath); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
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
	res, err := Run(t.Context(), Options{Probe: probePath, Set: None})
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
			res, err := Run(t.Context(), Options{Probe: probePath, Set: SetOf(k)})
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

func TestTimeOffsetsShiftTheChildsClocks(t *testing.T) {
	requireRoot(t)
	requireKind(t, Time)
	const mono, boot = 7 * 24 * time.Hour, 9 * 24 * time.Hour
	sets := []Set{SetOf(Time), SetOf(Time, PID)}
	if ok, _ := ReadPrivilege().CanCreate(SetOf(User)); ok {
		sets = append(sets, SetOf(Time, User), SetOf(Time, PID, User))
	}
	for _, set := range sets {
		t.Run(set.String(), func(t *testing.T) {
			before := clockNow(t, unix.CLOCK_MONOTONIC)
			opts := Options{Probe: probePath, Set: set, Actions: Actions{MonotonicOffset: mono, BoottimeOffset: boot}}
			if set.Has(User) {
				opts.UIDMap, opts.GIDMap = CallerMaps()
			}
			res, err := Run(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
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
			// Whoever made it, the time namespace belongs to the child's
			// user namespace: the host's without user.
			if got := r.Owners["time"].Owner; got == nil || got.ID != r.NS["user"] {
				t.Errorf("the child's time namespace is owned by %+v, want its user namespace %v", got, r.NS["user"])
			}
			if set.Has(PID) && r.PID != 1 {
				t.Errorf("with pid the observer's pid is %d, want 1", r.PID)
			}
			switch {
			case makerOfTime(t.Context(), opts) != timeByProbe:
				// Run made it, from its thread for time or in its fork:
				// the probe was started inside, and did nothing to get
				// there.
				if r.Launcher != nil || res.HostPID != res.PID || r.Actions["timens"] != "" {
					t.Errorf("launcher = %+v, host pid %d, started %d, actions %v; want the probe started inside by Run", r.Launcher, res.HostPID, res.PID, r.Actions)
				}
			case execEntersTimeNS():
				// The probe exec'd itself inside: the observer is the
				// process this test started.
				if r.Launcher != nil || res.HostPID != res.PID || r.Actions["timens"] == "" {
					t.Errorf("launcher = %+v, host pid %d, started %d, actions %v; want the observer exec'd in place, inside", r.Launcher, res.HostPID, res.PID, r.Actions)
				}
			case r.Launcher == nil || res.HostPID != r.Launcher.ObserverPID || r.Launcher.StageThreads != 1:
				t.Errorf("launcher = %+v, host pid %d; want the observer's pid from the launcher, and a single-threaded stage", r.Launcher, res.HostPID)
			}
			if !set.Has(PID) && r.PID != res.HostPID {
				t.Errorf("sharing pid, the observer reports pid %d, the host knows it as %d", r.PID, res.HostPID)
			}
			if set.Has(PID) && r.NS["pid"] == ownNSID(t, "pid") {
				t.Error("with pid the observer's pid namespace is the host's")
			}
		})
	}
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
	_, err = Run(t.Context(), Options{Probe: hang, Timeout: 300 * time.Millisecond})
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
	_, err := Run(t.Context(), Options{Probe: "/nonexistent/nsprobe", Set: None})
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
	requireRoot(b)
	for _, set := range benchSets {
		b.Run(set.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(context.Background(), Options{Probe: probePath, Set: set}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkExec(b *testing.B) {
	requireRoot(b)
	for _, set := range benchSets {
		b.Run(set.String(), func(b *testing.B) {
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
