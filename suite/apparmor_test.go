//go:build linux

package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/kernelsim"
	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// The suite binary, started with appArmorEnv set and cloned into a mount
// namespace of its own, becomes an unprivileged process on a simulated
// Ubuntu 24.04 before any spec could run: kernel.apparmor_restrict_
// unprivileged_userns reads 1 (kernelsim.Sysctl), it drops to nobody, and,
// when appArmorEnv is appArmorPowerless, every user namespace it makes
// holds no capability (kernelsim.Powerless). With appArmorAllowed instead
// it is a binary that AppArmor lets hold its capabilities there (one with
// a profile that has the userns permission): the sysctl reads 1 all the
// same. There it runs the preflight and a few children, prints what they
// found as JSON (appArmorFindings) and exits.
const (
	appArmorEnv       = "NSVERIFY_SIMULATE_APPARMOR"
	appArmorPowerless = "powerless"
	appArmorAllowed   = "allowed"
	appArmorProbeEnv  = "NSVERIFY_SIMULATE_APPARMOR_PROBE"
	appArmorSysctl    = "kernel.apparmor_restrict_unprivileged_userns"
	// nobody is the unprivileged user the simulation runs as.
	nobody = 65534
)

// appArmorFindings is what the simulated machine's preflight and children
// found.
type appArmorFindings struct {
	Features *spawn.Features `json:"features"`
	Table    string          `json:"table"`
	// Sets is, for every set, what the preflight decided: what a spec
	// running that set (needsKinds) would skip on.
	Sets []appArmorSet `json:"sets"`
	// UserAlone is the report of a child in a new user namespace alone,
	// which needs no capability; UserAloneErr its error.
	UserAlone    map[string]string `json:"user_alone_errors"`
	UserAloneErr string            `json:"user_alone_err,omitempty"`
	UserAloneUID int               `json:"user_alone_uid"`
	// Hostname is the error the probe met setting the hostname of its new
	// uts namespace in uts+user: what a spec that did not skip would
	// meet.
	Hostname    string `json:"hostname"`
	HostnameErr string `json:"hostname_err,omitempty"`
}

type appArmorSet struct {
	Set       string `json:"set"`
	Supported bool   `json:"supported"`
	Creatable bool   `json:"creatable"`
	Reason    string `json:"reason,omitempty"`
}

func init() {
	mode := os.Getenv(appArmorEnv)
	if mode == "" {
		return
	}
	if err := simulateAppArmor(mode, os.Getenv(appArmorProbeEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "simulate AppArmor's restriction of user namespaces:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// simulateAppArmor makes this process the simulated machine and reports
// on it. It must run as root in a mount namespace of its own, which
// kernelsim.Sysctl checks before it mounts anything.
func simulateAppArmor(mode, probe string) error {
	if mode != appArmorPowerless && mode != appArmorAllowed {
		return fmt.Errorf("%s=%q: want %q or %q", appArmorEnv, mode, appArmorPowerless, appArmorAllowed)
	}
	if probe == "" {
		return fmt.Errorf("%s names no probe", appArmorProbeEnv)
	}
	if err := kernelsim.Sysctl(appArmorSysctl, "1"); err != nil {
		return err
	}
	// Every id and capability of root goes: AppArmor restricts only a
	// process without CAP_SYS_ADMIN in its own user namespace.
	if err := kernelsim.BecomeUser(nobody, nobody); err != nil {
		return err
	}
	if mode == appArmorPowerless {
		if err := kernelsim.Powerless(); err != nil {
			return err
		}
	}
	f := spawn.Detect(probe)
	var table bytes.Buffer
	if err := f.WriteTable(&table, false); err != nil {
		return err
	}
	found := appArmorFindings{Features: f, Table: table.String()}
	for _, set := range spawn.PowerSet(spawn.All) {
		ok, reason := f.Supports(set)
		creatable, _ := f.Creatable(set)
		found.Sets = append(found.Sets, appArmorSet{Set: set.String(), Supported: ok, Creatable: creatable, Reason: reason})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res, err := spawn.Run(ctx, spawn.Options{Probe: probe, Set: spawn.SetOf(spawn.User)}); err != nil {
		found.UserAloneErr = err.Error()
	} else {
		found.UserAlone = res.Report.Errors
		if res.Report.User != nil {
			found.UserAloneUID = res.Report.User.UID
		}
	}
	res, err := spawn.Run(ctx, spawn.Options{Probe: probe, Set: spawn.SetOf(spawn.UTS, spawn.User), Actions: spawn.Actions{Hostname: "nsv-apparmor"}})
	if err != nil {
		found.HostnameErr = err.Error()
	} else {
		found.Hostname = res.Report.Errors["hostname"]
	}
	return json.NewEncoder(os.Stdout).Encode(found)
}

var _ = Describe("a machine that restricts unprivileged user namespaces as Ubuntu's AppArmor does (kernel.apparmor_restrict_unprivileged_userns=1)", Label("preflight"), func() {
	BeforeEach(func() {
		// The simulation starts as root, mounts in a mount namespace of
		// its own, then becomes nobody.
		needs(features.CanCreate(spawn.SetOf(spawn.MNT)))
		needs(features.CanMapIDs([]spawn.IDMap{{Inside: nobody, Outside: nobody, Count: 1}}, []spawn.IDMap{{Inside: nobody, Outside: nobody, Count: 1}}))
		needsKinds(spawn.SetOf(spawn.User, spawn.UTS))
		if err := kernelsim.Supported(); err != nil {
			Skip(err.Error() + "; the simulation cannot run here, nothing is wrong with the kernel")
		}
	})

	It("is found by the preflight, whose new user namespace holds no capability, so that every set with user and another kind skips naming the sysctl and its remedy, while user alone still runs", func(ctx SpecContext) {
		found := runAppArmorSimulation(ctx, appArmorPowerless)
		f := found.Features

		By("the preflight reads the sysctl and finds a new user namespace powerless")
		Expect(f.AppArmorRestrictUnprivilegedUserns).To(Equal(1), "the simulated %s was not read", appArmorSysctl)
		Expect(f.EUID).To(Equal(nobody))
		Expect(f.Has(spawn.CapSysAdmin)).To(BeFalse(), "the simulation runs with CAP_SYS_ADMIN: %s", f.Who())
		Expect(f.UserNS.Tried).To(BeTrue(), "the preflight did not try a capability in a new user namespace: %+v", f.UserNS)
		Expect(f.UserNS.Held).To(BeFalse(), "the preflight found a capability held in a new user namespace where every one is denied: %+v", f.UserNS)
		Expect(f.UserNS.Errno).To(Equal("EPERM"))
		Expect(f.UserNS.Reason).To(And(
			HavePrefix("user: a new user namespace holds no capability here"),
			ContainSubstring(appArmorSysctl+" is 1"),
			ContainSubstring("run `sysctl -w "+appArmorSysctl+"=0`"),
			ContainSubstring("AppArmor profile with the userns permission")))
		Expect(found.Table).To(MatchRegexp(`\n  inside a new one +holds NO capability: a new user namespace holds no capability here`), "the preflight table does not say it:\n%s", found.Table)
		Expect(f.Kind(spawn.User).Supported()).To(BeTrue(), "user namespaces are created there; only their capabilities are not held")

		By("every set with user and another kind skips with that reason, though each can be created")
		var skipped, ranAlone int
		for _, s := range found.Sets {
			set, err := spawn.ParseSet(s.Set)
			Expect(err).NotTo(HaveOccurred())
			switch {
			case set == spawn.SetOf(spawn.User) || set == spawn.None:
				Expect(s.Supported).To(BeTrue(), "%s needs no capability, yet: %s", s.Set, s.Reason)
				ranAlone++
			case set.Has(spawn.User):
				if !s.Creatable {
					// A kind this kernel lacks: its own reason.
					continue
				}
				Expect(s.Supported).To(BeFalse(), "%s would run in a user namespace that holds no capability", s.Set)
				Expect(s.Reason).To(Equal(f.UserNS.Reason), "%s skips for another reason", s.Set)
				skipped++
			default:
				Expect(s.Supported).To(BeFalse(), "%s, without user, runs as nobody", s.Set)
				Expect(s.Reason).To(HavePrefix("needs CAP_SYS_ADMIN"))
			}
		}
		Expect(skipped).To(BeNumerically(">", 0), "no set with user and another kind was considered")

		By("a child in user alone runs; one in uts+user meets EPERM where it sets the hostname, which the skip spares a spec")
		Expect(found.UserAloneErr).To(BeEmpty())
		Expect(found.UserAloneUID).To(Equal(0), "the child in a new user namespace alone is not root there")
		Expect(found.HostnameErr).To(BeEmpty())
		Expect(found.Hostname).To(ContainSubstring("operation not permitted"), "the child in uts+user set its hostname: the simulation gave it a capability")
		AddReportEntry("AppArmor", fmt.Sprintf("%d sets with user and another kind skipped: %s; user alone and the empty set ran", skipped, f.UserNS.Reason))
	})

	// The control: the same machine, the sysctl at 1, but a binary that
	// AppArmor lets hold its capabilities in the user namespaces it makes.
	// The preflight must then skip nothing for the sysctl's sake, so that
	// the skips above come from what its child met, not from the sysctl.
	It("where a binary's new user namespace holds its capabilities (an AppArmor profile with the userns permission), is found so by the preflight, which then runs every set with user although the sysctl reads 1", func(ctx SpecContext) {
		found := runAppArmorSimulation(ctx, appArmorAllowed)
		f := found.Features

		By("the preflight reads the sysctl and finds a new user namespace holding its capabilities")
		Expect(f.AppArmorRestrictUnprivilegedUserns).To(Equal(1), "the simulated %s was not read", appArmorSysctl)
		Expect(f.EUID).To(Equal(nobody))
		Expect(f.Has(spawn.CapSysAdmin)).To(BeFalse(), "the simulation runs with CAP_SYS_ADMIN: %s", f.Who())
		Expect(f.UserNS.Tried).To(BeTrue(), "the preflight did not try a capability in a new user namespace: %+v", f.UserNS)
		Expect(f.UserNS.Held).To(BeTrue(), "the preflight found no capability in a new user namespace that holds them all: %+v", f.UserNS)
		Expect(f.UserNS.Reason).To(BeEmpty())
		Expect(found.Table).To(MatchRegexp(`\n  inside a new one +holds its capabilities`), "the preflight table does not say it:\n%s", found.Table)

		By("every set with user runs; a set without user still needs CAP_SYS_ADMIN")
		var ran int
		for _, s := range found.Sets {
			set, err := spawn.ParseSet(s.Set)
			Expect(err).NotTo(HaveOccurred())
			switch {
			case set == spawn.None || set.Has(spawn.User):
				if !s.Creatable {
					// A kind this kernel lacks: its own reason.
					continue
				}
				Expect(s.Supported).To(BeTrue(), "%s skips where a new user namespace holds its capabilities: %s", s.Set, s.Reason)
				ran++
			default:
				Expect(s.Supported).To(BeFalse(), "%s, without user, runs as nobody", s.Set)
				Expect(s.Reason).To(HavePrefix("needs CAP_SYS_ADMIN"))
			}
		}
		Expect(ran).To(BeNumerically(">", 2), "no set with user and another kind was considered")

		By("a child in user alone runs, and one in uts+user sets its hostname")
		Expect(found.UserAloneErr).To(BeEmpty())
		Expect(found.UserAloneUID).To(Equal(0), "the child in a new user namespace alone is not root there")
		Expect(found.HostnameErr).To(BeEmpty())
		Expect(found.Hostname).To(BeEmpty(), "the child in uts+user could not set its hostname where its user namespace holds its capabilities")
		AddReportEntry("AppArmor", fmt.Sprintf("control: with %s=1 and a user namespace that holds its capabilities, %d sets with user (or none) ran", appArmorSysctl, ran))
	})
})

// runAppArmorSimulation runs this suite binary again as the simulated
// machine in mode (appArmorPowerless or appArmorAllowed), cloned into a
// mount namespace of its own, and returns what it found. It is bounded by
// a minute and by ctx. The simulation's mounts must end with its mount
// namespace: the sysctl and the mounts on /proc/sys read the same here
// after it as before.
func runAppArmorSimulation(ctx context.Context, mode string) appArmorFindings {
	GinkgoHelper()
	before := readProcSysTrace()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), appArmorEnv+"="+mode, appArmorProbeEnv+"="+probePath)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	Expect(cmd.Run()).To(Succeed(), "the simulated machine failed:\n%s", stderr.String())
	var found appArmorFindings
	Expect(json.Unmarshal(stdout.Bytes(), &found)).To(Succeed(), "the simulated machine printed %q", stdout.String())
	Expect(found.Features).NotTo(BeNil())
	Expect(found.Features.Error).To(BeEmpty(), "the preflight failed on the simulated machine")
	if strings.TrimSpace(stderr.String()) != "" {
		GinkgoWriter.Printf("the simulated machine said on stderr:\n%s\n", stderr.String())
	}
	Expect(readProcSysTrace()).To(Equal(before), "the simulated machine left its sysctl or a mount behind in this mount namespace")
	return found
}

// procSysTrace is what the simulation could leave behind in the mount
// namespace it was cloned from: the sysctl it fakes, as read here, and
// the mounts on /proc/sys.
type procSysTrace struct {
	Sysctl string
	Mounts []string
}

// readProcSysTrace reads the procSysTrace of this process's mount
// namespace.
func readProcSysTrace() procSysTrace {
	GinkgoHelper()
	var t procSysTrace
	data, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(appArmorSysctl, ".", "/"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.Sysctl = "absent"
	case err != nil:
		t.Sysctl = "unreadable: " + err.Error()
	default:
		t.Sysctl = string(data)
	}
	mounts, err := probes.ReadMountinfo("/proc/self/mountinfo")
	Expect(err).NotTo(HaveOccurred())
	for _, m := range mounts {
		if m.MountPoint == "/proc/sys" || strings.HasPrefix(m.MountPoint, "/proc/sys/") {
			t.Mounts = append(t.Mounts, fmt.Sprintf("%s %s %s", m.MountPoint, m.FSType, m.Source))
		}
	}
	return t
}
