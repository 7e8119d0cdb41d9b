package spawn

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
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
		"  runs as           uid 0 in the initial user namespace, holding CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SETUID, CAP_SETGID, CAP_SYS_RESOURCE\n",
		"  can change        every host namespace (uts, ipc, pid, mnt, net, cgroup, time)\n",
		"  can create        namespaces of every kind, owned by its user namespace (CAP_SYS_ADMIN over it)\n",
		"  cgroup layout     v1 (cgroup hierarchies only)\n",
		"  propagation of /  shared (a mount namespace must make / private before it mounts anything; the probe does)\n",
		"  setns by pidfd    no: kernel 3.10.0-1160.el7.x86_64 is older than 5.8, where setns learnt to take a pidfd; join by /proc/PID/ns paths instead, or boot 5.8 or later\n",
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

func TestFeaturesMarshalToJSON(t *testing.T) {
	data, err := json.Marshal(centos7Features())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Kernel  string `json:"kernel"`
		EUID    int    `json:"euid"`
		Initial bool   `json:"initial_user_ns"`
		Owners  []struct {
			Kind string `json:"kind"`
			Held bool   `json:"held"`
		} `json:"owners"`
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
	if got.Kernel != "3.10.0-1160.el7.x86_64" || got.EUID != 0 || !got.Initial || len(got.Owners) != 7 || !got.Owners[5].Held || got.CgroupLayout != "v1" || got.Unpriv != -1 || len(got.Kinds) != 8 {
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
