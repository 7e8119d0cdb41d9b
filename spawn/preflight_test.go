package spawn

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// centos7Features is what Detect would find as root on CentOS 7 before
// user namespaces are turned on.
func centos7Features() *Features {
	m := machine(centos7)
	return features(m, map[Kind]error{User: &os.PathError{Op: "fork/exec", Path: "/usr/libexec/nsprobe", Err: syscall.EINVAL}})
}

func TestWriteTableSaysWhatIsSupportedAndWhatToDo(t *testing.T) {
	var plain bytes.Buffer
	if err := centos7Features().WriteTable(&plain, false); err != nil {
		t.Fatal(err)
	}
	out := plain.String()
	t.Logf("\n%s", out)
	if strings.Contains(out, "\x1b") {
		t.Error("the table has colour codes although none were asked for")
	}
	for _, want := range []string{
		"  kernel            3.10.0-1160.el7.x86_64\n",
		"  root              yes (euid 0 with CAP_SYS_ADMIN)\n",
		"  cgroup layout     v1 (cgroup hierarchies only)\n",
		"  propagation of /  shared (a mount namespace must make / private before it mounts anything; the probe does)\n",
		"  KIND    SUPPORTED  LIMIT   WHY NOT, AND THE REMEDY\n",
		"  uts     yes        15000\n",
		"  user    no         0       cannot create user namespaces (clone(CLONE_NEWUSER) failed with EINVAL): user namespaces are not enabled (user.max_user_namespaces is 0); run `sysctl -w user.max_user_namespaces=15000`",
		"  cgroup  no         -       this kernel (3.10.0-1160.el7.x86_64) has no cgroup namespaces (/proc/self/ns/cgroup is missing); they need Linux 4.6; boot Linux 4.6 or newer",
		"  time    no         -       this kernel (3.10.0-1160.el7.x86_64) has no time namespaces",
		"  5 of 8 kinds can be created here.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table does not say %q", want)
		}
	}

	var colored bytes.Buffer
	if err := centos7Features().WriteTable(&colored, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(colored.String(), ansiGreen+"yes") || !strings.Contains(colored.String(), ansiRed+"no") {
		t.Error("the coloured table has no green yes or red no")
	}
	if got := ansi.ReplaceAllString(colored.String(), ""); got != out {
		t.Errorf("without its colour codes the coloured table differs from the plain one:\n%s", got)
	}
}

func TestWriteTableForAnUnprivilegedUserAndABrokenDetection(t *testing.T) {
	f := features(machine(unprivileged), nil)
	var b bytes.Buffer
	if err := f.WriteTable(&b, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  root              no (euid 1000)\n",
		"  uts     yes        15000   inside a new user namespace only (this process is not root)\n",
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

func TestFeaturesMarshalToJSON(t *testing.T) {
	data, err := json.Marshal(centos7Features())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Kernel       string `json:"kernel"`
		Root         bool   `json:"root"`
		CgroupLayout string `json:"cgroup_layout"`
		Unpriv       int    `json:"unprivileged_userns_clone"`
		Kinds        []struct {
			Kind      string `json:"kind"`
			Present   bool   `json:"present"`
			Creatable bool   `json:"creatable"`
			Errno     string `json:"errno"`
			Limit     int64  `json:"limit"`
			Reason    string `json:"reason"`
			Remedy    string `json:"remedy"`
		} `json:"kinds"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("unmarshal %s: %v", data, err)
	}
	if got.Kernel != "3.10.0-1160.el7.x86_64" || !got.Root || got.CgroupLayout != "v1" || got.Unpriv != -1 || len(got.Kinds) != 8 {
		t.Errorf("machine facts did not survive JSON: %s", data)
	}
	user := got.Kinds[4]
	if user.Kind != "user" || !user.Present || user.Creatable || user.Errno != "EINVAL" || user.Limit != 0 ||
		!strings.HasPrefix(user.Reason, "user: cannot create user namespaces") || !strings.Contains(user.Remedy, "sysctl -w user.max_user_namespaces=15000") {
		t.Errorf("user did not survive JSON: %+v", user)
	}
	if strings.Contains(string(data), "Limits") || strings.Contains(string(data), "Present\"") {
		t.Errorf("internal maps leaked into the JSON: %s", data)
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
	// Not t.TempDir: its parent directory is private to root.
	dir, err := os.MkdirTemp("", "nspreflight-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "nspreflight")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", exe, "github.com/nsverify/nsverify/spawn/cmd/nspreflight")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build nspreflight: %v\n%s", err, out)
	}
	return exe
}

func TestNspreflightReportsThisMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	requireRoot(t)
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
	if got.Exe != exe || got.Error != "" || !got.Root || len(got.Kinds) != len(Kinds) {
		t.Errorf("nspreflight -json: exe %q error %q root %v, %d kinds", got.Exe, got.Error, got.Root, len(got.Kinds))
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
	requireRoot(t)
	exe := buildPreflight(t)
	cmd := exec.CommandContext(t.Context(), exe, "-json")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nspreflight as nobody: %v\n%s", err, out)
	}
	var got Features
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("nspreflight -json printed %s: %v", out, err)
	}
	if got.Root || got.EUID != 65534 || got.Error != "" {
		t.Fatalf("as nobody: root %v euid %d error %q", got.Root, got.EUID, got.Error)
	}
	if ok, reason := got.Supports(SetOf(UTS)); ok || !strings.HasPrefix(reason, "needs root: ") {
		t.Errorf("Supports(uts) as nobody = %v, %q", ok, reason)
	}
	m := readMachine()
	unprivilegedAllowed := Present(User) && m.Limits[User] != 0 && m.UnprivilegedUsernsClone != 0 && m.AppArmorRestrictUnprivilegedUserns != 1
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
