//go:build linux

package suite

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// propagationModeEnv, when set, makes this test binary one side of the
// propagation modes spec: "outer:<mode>:<dir>" is a process cloned into a
// mount namespace of the spec's own, which mounts a scratch tmpfs at dir
// and starts "inner:<mode>:<dir>" in a child mount namespace. Neither
// ever mounts anything in the host's mount namespace.
const propagationModeEnv = "NSVERIFY_PROPAGATION_MODE"

var _ = role(propagationModeEnv, func(v string) int {
	side, rest, _ := strings.Cut(v, ":")
	mode, dir, _ := strings.Cut(rest, ":")
	if side == "inner" {
		return propagationInner(mode, dir, os.Stdin, os.Stdout)
	}
	return propagationModeOuter(mode, dir, os.Stdout)
})

// propagationOutcome is what the outer side prints.
type propagationOutcome struct {
	// ParentSeesChild and ChildSeesParent say whether a tmpfs mounted on
	// one side below the point appeared on the other.
	ParentSeesChild bool `json:"parent_sees_child"`
	ChildSeesParent bool `json:"child_sees_parent"`
	// BindErrno is the errno name of a bind of the point in the child
	// (empty: allowed).
	BindErrno string `json:"bind_errno,omitempty"`
	Error     string `json:"error,omitempty"`
}

// innerOutcome is what the inner side prints on its stdout, after "ready".
type innerOutcome struct {
	SeesParent bool   `json:"sees_parent"`
	BindErrno  string `json:"bind_errno,omitempty"`
	Error      string `json:"error,omitempty"`
}

// propagationModeOuter: / private (nothing may reach the host), a tmpfs
// at dir made shared in a peer group of this namespace's own, the inner
// side started in a copy of this namespace; then a mount at dir/parent
// once the inner side has applied mode and mounted dir/child.
func propagationModeOuter(mode, dir string, out io.Writer) int {
	var res propagationOutcome
	emit := func(err error) int {
		if err != nil {
			res.Error = err.Error()
		}
		if err := json.NewEncoder(out).Encode(res); err != nil {
			return 1
		}
		return 0
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return emit(fmt.Errorf("make / private in the outer namespace: %w", err))
	}
	if err := unix.Mount("nsverify-scratch", dir, "tmpfs", 0, "size=1m"); err != nil {
		return emit(fmt.Errorf("mount the scratch tmpfs: %w", err))
	}
	for _, sub := range []string{"parent", "child", "bind"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return emit(fmt.Errorf("make the scratch directory: %w", err))
		}
	}
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		return emit(fmt.Errorf("make the scratch tmpfs shared: %w", err))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{propagationModeEnv + "=inner:" + mode + ":" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return emit(fmt.Errorf("start the inner side: %w", err))
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return emit(fmt.Errorf("start the inner side: %w", err))
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return emit(fmt.Errorf("start the inner side: %w", err))
	}
	defer cmd.Wait()
	lines := bufio.NewReader(stdout)
	if l, err := lines.ReadString('\n'); err != nil || l != "ready\n" {
		stdin.Close()
		return emit(fmt.Errorf("wait for the inner side: %q, %v", l, err)) //nolint:errorlint // err may be nil here, which %w would print as %!w(<nil>)
	}
	if err := unix.Mount("nsverify-parent", filepath.Join(dir, "parent"), "tmpfs", 0, "size=1m"); err != nil {
		stdin.Close()
		return emit(fmt.Errorf("mount below the point in the parent: %w", err))
	}
	res.ParentSeesChild, err = mounted(filepath.Join(dir, "child"))
	stdin.Close() // the inner side looks now
	if err != nil {
		return emit(err)
	}
	var in innerOutcome
	if err := json.NewDecoder(lines).Decode(&in); err != nil {
		return emit(fmt.Errorf("read the inner side: %w", err))
	}
	res.ChildSeesParent, res.BindErrno = in.SeesParent, in.BindErrno
	if in.Error != "" {
		return emit(errors.New(in.Error))
	}
	return emit(nil)
}

// propagationInner applies mode to its copy of the point, tries a bind of
// it, mounts dir/child, says ready, and once stdin closes reports whether
// the parent's mount at dir/parent reached it.
func propagationInner(mode, dir string, stdin io.Reader, out io.Writer) int {
	var res innerOutcome
	emit := func(err error) int {
		if err != nil {
			res.Error = err.Error()
		}
		_ = json.NewEncoder(out).Encode(res)
		return 0
	}
	flags := map[string]uintptr{"shared": unix.MS_SHARED, "slave": unix.MS_SLAVE, "private": unix.MS_PRIVATE, "unbindable": unix.MS_UNBINDABLE}
	flag, ok := flags[mode]
	if !ok {
		fmt.Fprintln(out, "ready")
		return emit(fmt.Errorf("unknown propagation mode %q", mode))
	}
	if err := unix.Mount("", dir, "", flag, ""); err != nil {
		fmt.Fprintln(out, "ready")
		return emit(fmt.Errorf("make the point %s in the child: %w", mode, err))
	}
	bind := filepath.Join(dir, "bind")
	if err := unix.Mount(dir, bind, "", unix.MS_BIND, ""); err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			res.BindErrno = unix.ErrnoName(errno)
		} else {
			res.BindErrno = err.Error()
		}
	}
	if err := unix.Mount("nsverify-child", filepath.Join(dir, "child"), "tmpfs", 0, "size=1m"); err != nil {
		fmt.Fprintln(out, "ready")
		return emit(fmt.Errorf("mount below the point in the child: %w", err))
	}
	fmt.Fprintln(out, "ready")
	_, _ = io.Copy(io.Discard, stdin)
	var err error
	res.SeesParent, err = mounted(filepath.Join(dir, "parent"))
	return emit(err)
}

// mounted reports whether path is a mount point in this process's mount
// namespace.
func mounted(path string) (bool, error) {
	mounts, err := parseFileMounts("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(mounts, func(m probes.Mount) bool { return m.MountPoint == path }), nil
}

func parseFileMounts(path string) ([]probes.Mount, error) {
	mounts, err := probes.ReadMountinfo(path)
	if err != nil {
		return nil, fmt.Errorf("parse mountinfo: %w", err)
	}
	return mounts, nil
}

// observePropagation runs the outer side for mode in a mount namespace of
// its own, below a scratch directory of the spec, and returns what it saw.
func observePropagation(ctx context.Context, mode string) propagationOutcome {
	GinkgoHelper()
	needsCreate(spawn.SetOf(spawn.MNT))
	dir := GinkgoT().TempDir()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = []string{propagationModeEnv + "=outer:" + mode + ":" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Stderr = GinkgoWriter
	b, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "mnt: run the %s propagation observer: %s", mode, b)
	var res propagationOutcome
	Expect(json.Unmarshal(b, &res)).To(Succeed(), "mnt: read the %s propagation observer's %q", mode, b)
	Expect(res.Error).To(BeEmpty(), "mnt: the %s propagation observer failed", mode)
	addReportEntry("propagation "+mode, res)
	return res
}

var _ = Describe("mount propagation between a parent and a child mount namespace", Label("propagation", "ns:mnt"), func() {
	DescribeTable("a scratch tmpfs in a mount namespace of the suite's own",
		func(ctx SpecContext, mode string, parentToChild, childToParent bool, bindErrno, control string) {
			before := hostMountinfo()
			got := observePropagation(ctx, mode)
			Expect(got.ChildSeesParent).To(Equal(parentToChild), "mnt: with the point %s, a mount in the parent reached the child: %v", mode, got.ChildSeesParent)
			Expect(got.ParentSeesChild).To(Equal(childToParent), "mnt: with the point %s, a mount in the child reached the parent: %v", mode, got.ParentSeesChild)
			Expect(got.BindErrno).To(Equal(bindErrno), "mnt: with the point %s, a bind of it answered %q", mode, got.BindErrno)
			// The control: the same setup with a mode whose answers differ,
			// so that a setup in which nothing can propagate (or everything
			// does) fails one of the two.
			ctl := observePropagation(ctx, control)
			Expect([]bool{ctl.ChildSeesParent, ctl.ParentSeesChild}).NotTo(Equal([]bool{got.ChildSeesParent, got.ParentSeesChild}), "mnt: the control %s propagated as %s did", control, mode)
			Expect(hostMountinfo()).To(Equal(before), "mnt: the host's mount table changed")
		},
		Entry("shares new mounts both ways when the point is shared", "shared", true, true, "", "private"),
		Entry("passes new mounts from parent to child only when the child's point is a slave", "slave", true, false, "", "shared"),
		Entry("passes new mounts neither way when the child's point is private", "private", false, false, "", "shared"),
		Entry("refuses a bind of the point and passes nothing when it is unbindable", "unbindable", false, false, "EINVAL", "shared"),
	)
})
