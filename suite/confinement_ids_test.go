//go:build linux

package suite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/internal/testseam"
	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// Ownership checks go by the mapped id, not by capabilities: uid 0 of a
// user namespace mapped to the host's 0 owns what the host's root owns,
// while uid 0 mapped to 100000 owns nothing of the host's. The objects are
// made by the spec for it, never the host's own.
var _ = Describe("ownership checks from a new user namespace that shares ipc and mnt", Label("confinement", "ns:user"), func() {

	// rootObjects makes a root-owned SysV queue (0600) and a root-owned
	// 0600 file in a directory others may enter, each removed afterwards.
	rootObjects := func() (key int32, file string) {
		GinkgoHelper()
		needsKinds(spawn.SetOf(spawn.User))
		// The spec maps 0 → 0 and 0 → 100000, which needs CAP_SETUID and
		// CAP_SETGID over a user namespace that maps both.
		for _, m := range [][]spawn.IDMap{{{Inside: 0, Outside: 0, Count: 1}}, {{Inside: 0, Outside: 100000, Count: 1}}} {
			needs(features.CanMapIDs(m, m))
		}
		for range 16 {
			k := randomKey()
			_, err := probes.MsgGet(k, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
			if errors.Is(err, unix.EEXIST) {
				continue
			}
			Expect(err).NotTo(HaveOccurred(), "ipc: create the spec's root-owned queue")
			DeferCleanup(removeQueueByKey, k)
			key = k
			break
		}
		Expect(key).NotTo(BeZero(), "ipc: 16 random keys were all taken")
		dir := GinkgoT().TempDir()
		Expect(os.Chmod(dir, 0o755)).To(Succeed(), "user: open the spec's directory to the mapped ids")
		file = filepath.Join(dir, "root-owned")
		Expect(os.WriteFile(file, nil, 0o600)).To(Succeed(), "user: create the spec's root-owned file")
		Expect(os.Chmod(file, 0o600)).To(Succeed(), "user: make the spec's file 0600 whatever the umask")
		return key, file
	}

	It("lets uid 0 mapped to the host's 0 remove the spec's root-owned queue and write its root-owned 0600 file", func(ctx SpecContext) {
		key, file := rootObjects()
		opts := confinedOpts(spawn.SetOf(spawn.User))
		opts.Actions.Confine.RemoveMsgQueueKey, opts.Actions.Confine.WriteFile = key, file
		r := runConfined(ctx, opts).Report
		allowed(spawn.IPC, opts.Set, "remove msgq", attempt(spawn.IPC, r, "remove msgq"))
		keys, err := hostMsgKeys()
		Expect(err).NotTo(HaveOccurred(), "ipc: list the host's queues")
		Expect(keys).NotTo(ContainElement(key), "ipc: the spec's queue %d is still on the host after a child in %s mapped 0 → 0 removed it", key, opts.Set)
		allowed(spawn.User, opts.Set, "write file", attempt(spawn.User, r, "write file"))
		Expect(os.ReadFile(file)).NotTo(BeEmpty(), "user: the spec's file is empty after a child in %s mapped 0 → 0 wrote it", opts.Set)
	})

	It("refuses both to uid 0 mapped to 100000 (EPERM, EACCES), and leaves them as they were", func(ctx SpecContext) {
		key, file := rootObjects()
		opts := confinedOpts(spawn.SetOf(spawn.User))
		opts.UIDMap = []spawn.IDMap{{Inside: 0, Outside: 100000, Count: 65536}}
		opts.GIDMap = []spawn.IDMap{{Inside: 0, Outside: 100000, Count: 65536}}
		opts.Actions.Confine.RemoveMsgQueueKey, opts.Actions.Confine.WriteFile = key, file
		r := runConfined(ctx, opts).Report
		refusedWith(spawn.IPC, opts.Set, "remove msgq", attempt(spawn.IPC, r, "remove msgq"), "EPERM")
		keys, err := hostMsgKeys()
		Expect(err).NotTo(HaveOccurred(), "ipc: list the host's queues")
		Expect(keys).To(ContainElement(key), "ipc: the spec's queue %d is gone after a child in %s mapped 0 → 100000 tried to remove it", key, opts.Set)
		refusedWith(spawn.User, opts.Set, "write file", attempt(spawn.User, r, "write file"), "EACCES")
		Expect(os.ReadFile(file)).To(BeEmpty(), "user: the spec's file was written by a child in %s mapped 0 → 100000", opts.Set)
	})
})

var _ = Describe("the id maps of a new user namespace", Label("confinement", "ns:user"), func() {

	It("take one write: the maps read back as written, and a second write fails (EPERM)", func(ctx SpecContext) {
		opts := confinedOpts(spawn.SetOf(spawn.User))
		opts.Actions.Confine.RewriteUIDMap = true
		r := runConfined(ctx, opts).Report
		Expect(r.User).NotTo(BeNil(), "user: no credentials from the child in %s; errors: %v", opts.Set, r.Errors)
		Expect(r.User.UIDMap).To(Equal(ranges(opts.UIDMap)), "user: the uid map of the child in %s is not the one first written", opts.Set)
		Expect(r.User.GIDMap).To(Equal(ranges(opts.GIDMap)), "user: the gid map of the child in %s is not the one first written", opts.Set)
		refusedWith(spawn.User, opts.Set, "rewrite uid_map", attempt(spawn.User, r, "rewrite uid_map"), "EPERM")
	})

	It("refuse setgroups(2) when setgroups is deny (EPERM)", func(ctx SpecContext) {
		opts := confinedOpts(spawn.SetOf(spawn.User))
		opts.Actions.Confine.TrySetgroups = true
		r := runConfined(ctx, opts).Report
		Expect(r.User).NotTo(BeNil(), "user: no credentials from the child in %s; errors: %v", opts.Set, r.Errors)
		Expect(r.User.Setgroups).To(Equal("deny"), "user: setgroups of the child in %s", opts.Set)
		refusedWith(spawn.User, opts.Set, "setgroups", attempt(spawn.User, r, "setgroups"), "EPERM")
	})

	It("allow setgroups(2) when setgroups is allow", func(ctx SpecContext) {
		// A gid map with setgroups allowed needs CAP_SETGID over the parent.
		needs(features.CanMapIDs(spawn.CallerMaps()))
		if own, err := os.ReadFile("/proc/self/setgroups"); err == nil && strings.TrimSpace(string(own)) == "deny" {
			Skip("the suite's own user namespace denies setgroups (as `unshare --map-root-user` leaves it), and the kernel lets no user namespace below such a one allow it; run the suite in the initial user namespace")
		}
		opts := confinedOpts(spawn.SetOf(spawn.User))
		opts.Actions.Confine.TrySetgroups = true
		r := runConfined(testseam.WithUserNS(ctx, testseam.UserNS{SetgroupsAllow: true}), opts).Report
		Expect(r.User).NotTo(BeNil(), "user: no credentials from the child in %s; errors: %v", opts.Set, r.Errors)
		Expect(r.User.Setgroups).To(Equal("allow"), "user: setgroups of the child in %s", opts.Set)
		allowed(spawn.User, opts.Set, "setgroups", attempt(spawn.User, r, "setgroups"))
	})
})
