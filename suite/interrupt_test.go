//go:build linux

package suite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"

	"github.com/nsverify/nsverify/spawn"
)

// interruptEnv carries "<stand-in probe>|<ready file>" to the suite run that
// the interrupt specs start and then interrupt. Only in that run does the
// target spec below exist.
const interruptEnv = "NSVERIFY_INTERRUPT_TARGET"

var _ = func() bool {
	v := os.Getenv(interruptEnv)
	if v == "" {
		return false
	}
	probe, ready, _ := strings.Cut(v, "|")
	Describe("a run that is about to be interrupted", Label("interrupt-target"), func() {
		It("holds markers on the host while its child hangs", func(ctx SpecContext) {
			m := NewMarkers().WithHostQueue().WithHostLink()
			dir, _ := DedicatedCgroup()
			info := fmt.Sprintf("%d %s %s", m.HostQueueKey, m.HostLink, dir)
			Expect(os.WriteFile(ready+".tmp", []byte(info), 0o600)).To(Succeed())
			Expect(os.Rename(ready+".tmp", ready)).To(Succeed())
			// It hangs until interrupted, and no longer than the run that
			// interrupts it may last.
			_, err := spawn.Run(ctx, spawn.Options{Probe: probe, Subcommand: "hang-fork", Set: spawn.SetOf(spawn.UTS, spawn.IPC), CgroupDir: dir, Timeout: nestedRunTimeout})
			Expect(err).To(HaveOccurred())
		})
	})
	return true
}()

var _ = Describe("an interrupted suite", Label("host"), Serial, func() {
	DescribeTable("leaves no child, marker or mount behind",
		func(ctx SpecContext, sig syscall.Signal) {
			if os.Getenv(interruptEnv) != "" {
				Skip("this is the run being interrupted")
			}
			// What the run to interrupt holds: a child in uts+ipc, a
			// marker link on the host and a cgroup of its own.
			needsCreate(spawn.SetOf(spawn.UTS, spawn.IPC))
			needs(canAddHostLink())
			needs(features.CanMakeCgroup())
			fake := buildFakeProbe()
			ready := filepath.Join(GinkgoT().TempDir(), "ready")
			mountsBefore := hostMountinfo()

			// The deadline only backs up the signal: the run must end on
			// its own when interrupted, and is killed with its process
			// group if it has not by then.
			runCtx, cancel := context.WithTimeout(ctx, nestedRunTimeout)
			DeferCleanup(cancel)
			cmd := exec.CommandContext(runCtx, os.Args[0], "-test.run=^TestSuite$", "-ginkgo.label-filter=interrupt-target", "-ginkgo.no-color",
				"-test.timeout="+nestedRunTimeout.String())
			cmd.Env = append(os.Environ(), interruptEnv+"="+fake+"|"+ready)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			Expect(cmd.Start()).To(Succeed())
			exited := make(chan struct{})
			go func() {
				_ = cmd.Wait()
				close(exited)
			}()
			DeferCleanup(func() {
				// Only if the spec failed before the run ended.
				select {
				case <-exited:
				default:
					_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-exited
				}
			})

			// Wait until the target holds its markers and its child (and
			// that child's own child) hang.
			Eventually(func() bool {
				_, err := os.Stat(ready)
				return err == nil && len(processesOf(fake)) == 2
			}).WithTimeout(2*time.Minute).WithPolling(50*time.Millisecond).Should(BeTrue(), "the run to interrupt never got going:\n%s", &out)
			info, err := os.ReadFile(ready)
			Expect(err).NotTo(HaveOccurred())
			var key int32
			var link, cgroup string
			_, err = fmt.Sscanf(string(info), "%d %s %s", &key, &link, &cgroup)
			Expect(err).NotTo(HaveOccurred())

			Expect(cmd.Process.Signal(sig)).To(Succeed())
			Eventually(exited).WithTimeout(2*time.Minute).Should(BeClosed(), "the run did not end after %s:\n%s", sig, &out)

			Expect(processesOf(fake)).To(BeEmpty(), "a child of the interrupted run is still running")
			keys, err := hostMsgKeys()
			Expect(err).NotTo(HaveOccurred())
			Expect(keys).NotTo(ContainElement(key), "the interrupted run left its SysV queue %d", key)
			_, err = netlink.LinkByName(link)
			Expect(errors.As(err, &netlink.LinkNotFoundError{})).To(BeTrue(), "the interrupted run left its link %s", link)
			_, err = os.Stat(cgroup)
			Expect(os.IsNotExist(err)).To(BeTrue(), "the interrupted run left its cgroup %s", cgroup)
			Expect(string(hostMountinfo())).To(Equal(string(mountsBefore)), "the interrupted run changed the mount table")
			AddReportEntry("interrupted run", out.String(), ReportEntryVisibilityFailureOrVerbose)
		},
		Entry("with SIGINT", SpecTimeout(nestedSpecTimeout), syscall.SIGINT),
		Entry("with SIGTERM", SpecTimeout(nestedSpecTimeout), syscall.SIGTERM),
	)
})
