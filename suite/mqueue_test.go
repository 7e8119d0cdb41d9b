//go:build linux

package suite

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("POSIX message queues", Label("ns:ipc"), func() {
	It("are isolated by ipc: a probe in a new ipc namespace lists its own queue and not the host's, the host never sees the probe's, and a probe sharing ipc lists the host's", func(ctx SpecContext) {
		needs(features.NeedOver(spawn.IPC, spawn.CapSysAdmin, "list its POSIX queues through an mqueue mount of its own"))
		hostQ, childQ := "nsverify-"+randomHex(6), "nsverify-"+randomHex(6)
		Expect(probes.MqOpen(hostQ, 0o600)).To(Succeed(), "ipc: create the host's POSIX queue")
		DeferCleanup(func() { Expect(probes.MqUnlink(hostQ)).To(Succeed(), "ipc: remove the host's POSIX queue") })
		onHost, err := probes.Mqueues()
		Expect(err).NotTo(HaveOccurred(), "ipc: list the host's POSIX queues")
		Expect(onHost).To(ContainElement(hostQ), "ipc: the host does not list its own queue")

		opts := spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.IPC, spawn.MNT, spawn.PID), Actions: spawn.Actions{MountProc: true, MQueueName: childQ}}
		r := RunChild(ctx, opts, NewMarkers()).Report
		Expect(r.Errors).NotTo(HaveKey("mqueues"), "ipc: the probe could not create or list POSIX queues")
		Expect(r.Mqueues).To(ContainElement(childQ), "ipc: the probe does not list the queue it made")
		Expect(r.Mqueues).NotTo(ContainElement(hostQ), "ipc: the probe in a new ipc namespace lists the host's queue")
		onHost, err = probes.Mqueues()
		Expect(err).NotTo(HaveOccurred(), "ipc: list the host's POSIX queues")
		Expect(onHost).NotTo(ContainElement(childQ), "ipc: the probe's queue reached the host")

		control := RunChild(ctx, spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.MNT, spawn.PID), Actions: spawn.Actions{MountProc: true}}, NewMarkers())
		Expect(control).To(BeSharedWith(host, spawn.IPC))
		Expect(control.Report.Mqueues).To(ContainElement(hostQ), "ipc: a probe sharing the host's ipc namespace does not list the host's queue")
	})
})
