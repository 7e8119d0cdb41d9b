package spawn

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/exitcode"
	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/internal/testreq"
)

func TestWriteTableForAnUnprivilegedUserAndABrokenDetection(t *testing.T) {
	f := features(machine(unprivileged), nil)
	var b bytes.Buffer
	if err := f.WriteTable(&b, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  runs as           uid 1000 in the initial user namespace, holding none of CAP_SYS_ADMIN",
		"  can change        none of the host's namespaces\n",
		"  uts     yes        15000   inside a new user namespace only (this process lacks CAP_SYS_ADMIN)\n",
		"  user    yes        15000\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table does not say %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := detect("/nonexistent/nsprobe").WriteTable(&b, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  error             run /nonexistent/nsprobe in no new namespace (the control child)") {
		t.Errorf("the table does not show the detection's failure:\n%s", b.String())
	}
}

func TestColorWantedOnlyOnATerminalWithoutNoColor(t *testing.T) {
	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "")
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ColorWanted(f) {
		t.Error("colour wanted for a plain file")
	}
	if ColorWanted(nil) {
		t.Error("colour wanted for no file")
	}
	// The master side of a new pseudo-terminal is a terminal; the pair
	// goes away when it is closed.
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to test with: %v", err)
	}
	defer ptm.Close()
	if !ColorWanted(ptm) {
		t.Error("colour not wanted on a terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if ColorWanted(ptm) {
		t.Error("colour wanted on a terminal although NO_COLOR is set")
	}
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "dumb")
	if ColorWanted(ptm) {
		t.Error("colour wanted on a dumb terminal")
	}
}

// buildPreflight builds nspreflight into a directory that every user can
// search, so that it can run as nobody and re-exec itself from a user
// namespace.
func buildPreflight(t *testing.T) string {
	t.Helper()
	exe, err := testbuild.Static(t.Context(), testbuild.Preflight)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testbuild.Remove(exe) })
	return exe
}

func TestNspreflightReportsThisMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	testreq.Require(t)(ReadPrivilege().CanCreate(All.Without(User)))
	exe := buildPreflight(t)

	out, err := exec.CommandContext(t.Context(), exe).Output()
	if err != nil {
		t.Fatalf("nspreflight: %v\n%s", err, out)
	}
	t.Logf("\n%s", out)
	if bytes.Contains(out, []byte("\x1b")) {
		t.Error("colour codes in output to a pipe")
	}
	want := detect(probePath)
	for _, ks := range want.Kinds {
		yes := "no "
		if ks.Supported() {
			yes = "yes"
		}
		if row := "  " + string(ks.Kind) + strings.Repeat(" ", 8-len(ks.Kind)) + yes; !bytes.Contains(out, []byte(row)) {
			t.Errorf("nspreflight has no row %q", row)
		}
	}

	out, err = exec.CommandContext(t.Context(), exe, "-json").Output()
	if err != nil {
		t.Fatalf("nspreflight -json: %v\n%s", err, out)
	}
	var got Features
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("nspreflight -json printed %s: %v", out, err)
	}
	if got.Exe != exe || got.Error != "" || !got.Has(CapSysAdmin) || got.InitialUserNS != want.InitialUserNS || len(got.Kinds) != len(kinds) {
		t.Errorf("nspreflight -json: exe %q error %q, %s, %d kinds", got.Exe, got.Error, got.Who(), len(got.Kinds))
	}
	for i, ks := range got.Kinds {
		if ks.Supported() != want.Kinds[i].Supported() {
			t.Errorf("%s: nspreflight says supported=%v, Detect with the probe %v", ks.Kind, ks.Supported(), want.Kinds[i].Supported())
		}
	}

	if err := exec.CommandContext(t.Context(), exe, "extra").Run(); err == nil {
		t.Error("nspreflight accepted an argument")
	}
}

// TestNspreflightRunsRootless runs nspreflight as nobody: it must find
// that it is not root and try each kind inside a new user namespace.
func TestNspreflightRunsRootless(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	// Switching to uid and gid 65534 takes what mapping them does.
	nobody := []IDMap{{Inside: 65534, Outside: 65534, Count: 1}}
	testreq.Require(t)(ReadPrivilege().CanMapIDs(nobody, nobody))
	exe := buildPreflight(t)
	cmd := exec.CommandContext(t.Context(), exe, "-json")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	// Where nobody can create no kind at all (user namespaces off), it
	// says so by its exit code, and still reports.
	var exit *exec.ExitError
	nothing := errors.As(err, &exit) && exit.ExitCode() == exitcode.NothingVerified
	if err != nil && !nothing {
		t.Fatalf("nspreflight as nobody: %v\n%s", err, out)
	}
	var got Features
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("nspreflight -json printed %s: %v", out, err)
	}
	if creatable := slices.ContainsFunc(got.Kinds, KindSupport.Supported); creatable == nothing {
		t.Errorf("nspreflight as nobody exited %v, and some kind can be created: %v", err, creatable)
	}
	if got.Has(CapSysAdmin) || got.EUID != 65534 || got.Error != "" || len(got.Changeable()) != 0 {
		t.Fatalf("as nobody: %s, can change %v, error %q", got.Who(), got.Changeable(), got.Error)
	}
	if ok, reason := got.Supports(SetOf(UTS)); ok || !strings.HasPrefix(reason, "needs CAP_SYS_ADMIN over its own user namespace: ") {
		t.Errorf("Supports(uts) as nobody = %v, %q", ok, reason)
	}
	m := readMachine()
	unprivilegedAllowed := kindsPresent()[User] && m.Limits[User] != 0 && m.UnprivilegedUsernsClone != 0 && m.AppArmorRestrictUnprivilegedUserns != 1
	for _, ks := range got.Kinds {
		if ks.Kind != User && !ks.InUserNS {
			t.Errorf("%s was tried outside a user namespace", ks.Kind)
		}
		if ks.Present && unprivilegedAllowed && !ks.Supported() {
			t.Errorf("%s: this machine allows unprivileged user namespaces, yet: %s", ks.Kind, ks.Reason)
		}
	}
	ok, reason := got.Supports(SetOf(UTS, User))
	t.Logf("as nobody: Supports(uts+user) = %v %s", ok, reason)
}
