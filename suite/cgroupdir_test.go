//go:build linux

package suite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted: on a
// unified host /sys/fs/cgroup, on a hybrid one /sys/fs/cgroup/unified.
func cgroup2Mount() (string, error) {
	mounts, err := probes.ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, m := range mounts {
		if m.FSType == "cgroup2" {
			return m.MountPoint, nil
		}
	}
	return "", errors.New("find cgroup2 mount: no cgroup v2 hierarchy is mounted")
}

// ownCgroup2Path is the suite's own cgroup in the v2 hierarchy.
func ownCgroup2Path() (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("open own cgroup: %w", err)
	}
	defer f.Close()
	lines, err := probes.ParseCgroup(f)
	if err != nil {
		return "", err
	}
	path, ok := probes.CgroupPath(lines, "")
	if !ok {
		return "", errors.New("find own cgroup: no cgroup v2 line in /proc/self/cgroup")
	}
	return path, nil
}

// DedicatedCgroup makes a cgroup for one child, below the suite's own v2
// cgroup so that whatever limits the suite also limits the child, and
// removes it when the spec ends. It returns the directory and the path the
// host sees the child at.
func DedicatedCgroup() (dir, hostPath string) {
	GinkgoHelper()
	needs(features.CanMakeCgroup())
	mount, err := cgroup2Mount()
	Expect(err).NotTo(HaveOccurred())
	own, err := ownCgroup2Path()
	Expect(err).NotTo(HaveOccurred())
	hostPath = filepath.Join(own, "nsverify-"+randomHex(6))
	dir = filepath.Join(mount, hostPath)
	Expect(os.Mkdir(dir, 0o755)).To(Succeed(), "make a cgroup for the child, which this process (%s) may", features.Who())
	deferCleanup(func() { Expect(removeCgroup(dir)).To(Succeed(), "remove the child's cgroup %s", dir) })
	chooseCgroup(dir, hostPath)
	return dir, hostPath
}

// expectCgroup judges the cgroup view of c, cloned into the cgroup the host
// sees at hostPath.
func expectCgroup(c *Child, hostPath string) {
	r := c.Report
	Expect(r.Cgroup).NotTo(BeEmpty(), "cgroup: no /proc/self/cgroup from the child in %s; errors: %v", c.Set, r.Errors)
	inside, ok := probes.CgroupPath(r.Cgroup, "")
	Expect(ok).To(BeTrue(), "cgroup: no v2 line in the child's view %v", r.Cgroup)
	if c.Set.Has(spawn.Cgroup) {
		Expect(inside).To(Equal("/"), "cgroup: the child in %s sees its cgroup at %s, want / (the host sees it at %s)", c.Set, inside, hostPath)
		for _, line := range r.Cgroup {
			Expect(strings.HasSuffix(line, ":/")).To(BeTrue(), "cgroup: the child in %s sees a cgroup outside its namespace's root: %s", c.Set, line)
		}
		return
	}
	Expect(inside).To(Equal(hostPath), "cgroup: the child in %s, sharing cgroup, sees its cgroup at %s, the host at %s", c.Set, inside, hostPath)
}

// suiteCgroup is the cgroup (as the host sees it) this process moved itself
// into, or empty. Every child then starts there: one with cgroup must see
// it as /, one without at this path, and no child pays for being cloned
// into a cgroup of its own (CLONE_INTO_CGROUP takes a lock whose release
// waits for an RCU grace period, milliseconds a child).
var suiteCgroup string

// enterSuiteCgroup moves this process into a new cgroup below its own v2
// cgroup, so whatever limits it still does, and registers the way back.
// It returns "" when that cannot be done; the specs then clone each child
// into a cgroup of its own instead.
func enterSuiteCgroup() string {
	mount, err := cgroup2Mount()
	if err != nil {
		return ""
	}
	own, err := ownCgroup2Path()
	if err != nil {
		return ""
	}
	path := filepath.Join(own, "nsverify-suite-"+randomHex(6))
	dir := filepath.Join(mount, path)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return ""
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0); err != nil {
		_ = os.Remove(dir)
		return ""
	}
	deferCleanup(func() {
		Expect(os.WriteFile(filepath.Join(mount, own, "cgroup.procs"), pid, 0)).To(Succeed(), "move the suite back to its cgroup %s", own)
		Expect(removeCgroup(dir)).To(Succeed(), "remove the suite's cgroup %s", dir)
	})
	return path
}

// childCgroup puts opts's child where the cgroup oracle can judge it and
// returns the path the host sees it at. Where this process may make no
// cgroup (see spawn.Privilege.CanMakeCgroup), the child stays in the
// suite's own cgroup, as every child does; with no cgroup v2 path to name
// it returns "" and the cgroup kind is judged by identity alone.
func childCgroup(opts *spawn.Options) string {
	GinkgoHelper()
	if suiteCgroup != "" {
		return suiteCgroup
	}
	if ok, _ := features.CanMakeCgroup(); !ok {
		own, _ := ownCgroup2Path()
		return own
	}
	dir, hostPath := DedicatedCgroup()
	opts.CgroupDir = dir
	return hostPath
}

// runtimeCgroup names the cgroup an OCI runtime puts the container in, as
// runtimes are used: one of its own making, below the root of the
// hierarchy (a cgroup holding processes, as the suite's does, can have no
// children with controllers). The runtime removes it when the container
// ends; should it not, the spec does.
func runtimeCgroup(opts *spawn.Options) (hostPath string) {
	GinkgoHelper()
	mount, err := cgroup2Mount()
	Expect(err).NotTo(HaveOccurred())
	hostPath = "/nsverify-oci-" + randomHex(6)
	opts.CgroupDir = filepath.Join(mount, hostPath)
	deferCleanup(func() {
		// On a hybrid host the runtime makes the path in every v1
		// hierarchy too.
		for _, m := range cgroupMounts() {
			dir := filepath.Join(m, hostPath)
			if _, err := os.Stat(dir); err == nil {
				Expect(removeCgroup(dir)).To(Succeed(), "remove the cgroup the runtime left, %s", dir)
			}
		}
	})
	return hostPath
}

// cgroupMounts lists where cgroup hierarchies, v1 and v2, are mounted.
func cgroupMounts() []string {
	mounts, err := probes.ReadMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range mounts {
		if m.FSType == "cgroup" || m.FSType == "cgroup2" {
			out = append(out, m.MountPoint)
		}
	}
	return out
}

// removeCgroup removes an empty cgroup. A process killed with its group
// (a probe's grandchild, say) is reaped by init, not by the suite, and
// until then the cgroup is still populated and rmdir fails with EBUSY: so
// it tries again for a while.
func removeCgroup(dir string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := os.Remove(dir)
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
