//go:build linux

package suite

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// deferCleanup and addReportEntry are the two Ginkgo calls the oracles
// make. The matrix benchmark swaps them to run the very same code outside
// a spec.
var (
	deferCleanup   = func(f func()) { DeferCleanup(f) }
	addReportEntry = func(name string, value any) {
		AddReportEntry(name, value, ReportEntryVisibilityFailureOrVerbose)
	}
)

// Markers are the unique names one spec uses, so parallel specs never see
// each other's queues, links or hostnames.
type Markers struct {
	// HostQueueKey and HostLink exist on the host while the spec runs.
	HostQueueKey int32
	HostLink     string
	// NoHostLink says why there is no HostLink, when there is none.
	NoHostLink string
	// The child creates these inside its own namespaces.
	ChildQueueKey int32
	ChildLink     string
	Hostname      string
	Domainname    string
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func randomKey() int32 {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		// Positive and not IPC_PRIVATE (0).
		if k := int32(binary.LittleEndian.Uint32(b[:]) & 0x7fffffff); k != 0 {
			return k
		}
	}
}

// NewMarkers returns fresh names for what a child may create.
func NewMarkers() Markers {
	id := randomHex(4)
	m := Markers{
		ChildQueueKey: randomKey(),
		ChildLink:     "nsvc" + id,
		Hostname:      "nsv-" + id,
		Domainname:    "nsv-domain-" + id,
	}
	return m
}

// undoIfLeaked registers, for each action opts asks of the child, the
// removal of what that action would leave on the host had a clone flag been
// dropped (the spec has failed then; the host must not suffer for it). Only
// actions asked for cost a look.
func undoIfLeaked(opts spawn.Options) {
	a := opts.Actions
	if a.MsgQueueKey != 0 {
		deferCleanup(func() { removeQueueByKey(a.MsgQueueKey) })
	}
	if a.MarkerLink != "" {
		deferCleanup(func() { removeLinkByName(a.MarkerLink) })
	}
	if a.Hostname != "" || a.Domainname != "" {
		deferCleanup(restoreHostname)
	}
}

// WithHostQueue creates a SysV message queue on the host with a unique key,
// removed when the spec ends.
func (m Markers) WithHostQueue() Markers {
	for range 16 {
		key := randomKey()
		id, err := probes.MsgGet(key, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		Expect(err).NotTo(HaveOccurred(), "create a host SysV queue")
		deferCleanup(func() { _ = probes.MsgRemove(id) })
		m.HostQueueKey = key
		return m
	}
	Fail("create a host SysV queue: 16 random keys were all taken")
	return m
}

// WithHostLink adds a veth pair on the host with a unique name, removed when
// the spec ends. veth, not dummy: dummy is a module some kernels lack. A
// spec that needs it skips, saying why, where this process lacks
// CAP_NET_ADMIN over the host's network namespace; where it holds it, a
// link that cannot be added fails the spec.
func (m Markers) WithHostLink() Markers {
	GinkgoHelper()
	needs(canAddHostLink())
	id := randomHex(4)
	name := "nsvh" + id
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: "nsvp" + id}
	Expect(netlink.LinkAdd(veth)).To(Succeed(), "add host marker link %s", name)
	deferCleanup(func() { removeLinkByName(name) })
	m.HostLink = name
	return m
}

// TryHostLink adds the host marker link where this process may, as
// WithHostLink does; where it may not, it adds nothing and says why in
// NoHostLink, for specs and suite setup that go on without the marker.
func (m Markers) TryHostLink() Markers {
	GinkgoHelper()
	if ok, reason := canAddHostLink(); !ok {
		m.NoHostLink = reason
		return m
	}
	return m.WithHostLink()
}

func removeQueueByKey(key int32) {
	if id, err := probes.MsgGet(key, 0); err == nil {
		_ = probes.MsgRemove(id)
	}
}

func removeLinkByName(name string) {
	if l, err := netlink.LinkByName(name); err == nil {
		_ = netlink.LinkDel(l)
	}
}

// restoreHostname puts back the host's hostname and domainname if a child
// changed them (possible only if a uts flag were dropped).
func restoreHostname() {
	if host == nil {
		return
	}
	name, domain, err := uname()
	if err != nil {
		return
	}
	if name != host.Hostname {
		_ = unix.Sethostname([]byte(host.Hostname))
	}
	if domain != host.Domainname {
		_ = unix.Setdomainname([]byte(host.Domainname))
	}
}
