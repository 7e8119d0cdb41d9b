//go:build linux

package nsprobe

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nsverify/nsverify/probes"
)

func TestParseArgsTakesTheSubcommandBeforeOrAfterTheFlags(t *testing.T) {
	cases := []struct {
		args []string
		want config
	}{
		{nil, config{}},
		{[]string{"ns"}, config{subcommand: "ns"}},
		{[]string{"hostname", "-hostname", "x"}, config{subcommand: "hostname", hostname: "x"}},
		{[]string{"-hostname", "x", "hostname"}, config{subcommand: "hostname", hostname: "x"}},
		{[]string{"-hostname", "x", "ipc", "-msgq", "-7"}, config{subcommand: "ipc", hostname: "x", msgq: true, msgqKey: -7}},
		{[]string{"-msgq=2147483647", "-mount-proc"}, config{msgq: true, msgqKey: 2147483647, mountProc: true}},
		{[]string{"-hostname=-timens"}, config{hostname: "-timens"}},
		{[]string{"-parent-ns", "mnt=4:4026531832", "-parent-ns", "uts=4:4026531838,mnt=4:1"}, config{parentNS: map[string][]probes.NSID{
			"mnt": {{Dev: 4, Ino: 4026531832}, {Dev: 4, Ino: 1}}, "uts": {{Dev: 4, Ino: 4026531838}}}}},
		{[]string{"clock", "-timens", "-monotonic-offset", "168h", "-boottime-offset=-1.5s", "-newpid"}, config{subcommand: "clock",
			timens: true, monotonicOffset: 168 * time.Hour, boottimeOffset: -1500 * time.Millisecond, newPID: true}},
		{[]string{"-marker-link", "nsvmark0", "links"}, config{subcommand: "links", markerLink: "nsvmark0"}},
		{[]string{"--", "pid"}, config{subcommand: "pid"}},
	}
	for _, c := range cases {
		got, err := parseArgs(c.args)
		if err != nil {
			t.Errorf("parseArgs(%q): %v", c.args, err)
			continue
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("parseArgs(%q) = %+v, want %+v", c.args, *got, c.want)
		}
	}
}

func TestParseArgsRejectsBadUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown subcommand "bogus"`},
		{[]string{"-hostname", "x", "bogus"}, `unknown subcommand "bogus"`},
		{[]string{"ns", "pid"}, `unexpected argument "pid"`},
		{[]string{"-frobnicate"}, "flag provided but not defined: -frobnicate"},
		{[]string{"-msgq", "0"}, "IPC_PRIVATE"},
		{[]string{"-msgq", "not-a-number"}, "not a 32-bit decimal integer"},
		{[]string{"-msgq", "2147483648"}, "not a 32-bit decimal integer"},
		{[]string{"-hostname", strings.Repeat("h", 65)}, "65 bytes; the kernel takes at most 64"},
		{[]string{"-domainname", strings.Repeat("d", 65)}, "65 bytes"},
		{[]string{"-hostname", ""}, "empty"},
		{[]string{"-marker-link", "nsverify-marker0"}, "16 bytes; link names take at most 15"},
		{[]string{"-marker-link", "a b"}, "slash, colon or space"},
		{[]string{"-marker-link", ".."}, "not a valid link name"},
		{[]string{"-monotonic-offset", "168h"}, "-monotonic-offset is given without -timens"},
		{[]string{"-boottime-offset", "0s"}, "-boottime-offset is given without -timens"},
		{[]string{"-newpid"}, "-newpid is given without -timens"},
		{[]string{"-timens-exec"}, "-timens-exec is given without -timens"},
		{[]string{"-timens", "-timens-exec", "-newpid"}, "-timens-exec and -newpid cannot be combined"},
		{[]string{"-timens", "-timens-exec", "-join", "net=/proc/1/ns/net"}, "-timens-exec cannot be combined with a join"},
		{[]string{"-timens", "-monotonic-offset", "a week"}, "not a Go duration"},
		{[]string{"-parent-ns", "mnt=4"}, "not DEV:INO"},
		{[]string{"-parent-ns", "mnt"}, "not KIND=DEV:INO"},
		{[]string{"-parent-ns", "mount=4:1"}, `unknown namespace kind "mount"`},
		{[]string{"-hello-fd", "1"}, "give 3 or more"},
		{[]string{"-hello-fd", "three"}, "give 3 or more"},
	}
	for _, c := range cases {
		_, err := parseArgs(c.args)
		if err == nil {
			t.Errorf("parseArgs(%q) accepted", c.args)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseArgs(%q) error %q does not say %q", c.args, err, c.want)
		}
	}
}

func TestObserverArgsKeepEverythingButTheLaunchersFlags(t *testing.T) {
	args := []string{"links", "-hostname", "-timens", "-domainname", "d", "-msgq", "-4242", "-mount-proc", "-create-file", "/tmp/f",
		"-marker-link", "nsvmark0", "-parent-ns", "mnt=4:9", "-parent-ns", "uts=4:1,net=4:2",
		"-timens", "-monotonic-offset", "168h", "-boottime-offset", "216h", "-newpid", "-hello-fd", "3"}
	cfg, err := parseArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	obsArgs := cfg.observerArgs()
	for _, a := range obsArgs {
		for _, launcherFlag := range []string{"-timens", "-monotonic-offset", "-boottime-offset", "-newpid"} {
			if a == launcherFlag || strings.HasPrefix(a, launcherFlag+"=") {
				t.Errorf("observer args %q hold the launcher's %s", obsArgs, launcherFlag)
			}
		}
	}
	back, err := parseArgs(obsArgs)
	if err != nil {
		t.Fatalf("observer args %q: %v", obsArgs, err)
	}
	want := *cfg
	want.timens, want.monotonicOffset, want.boottimeOffset, want.newPID = false, 0, 0, false
	if !reflect.DeepEqual(*back, want) {
		t.Errorf("observer args %q parse to %+v, want %+v", obsArgs, *back, want)
	}
}

func TestPeerNameIsShortAndDifferent(t *testing.T) {
	for _, name := range []string{"m", "nsvmark0", "fifteen-bytes-x", "ppppppppppppppp", "pppppppppppppp"} {
		peer := peerName(name)
		if peer == name || len(peer) > probes.MaxLinkNameLen || checkLinkName(peer) != nil {
			t.Errorf("peerName(%q) = %q", name, peer)
		}
	}
}
