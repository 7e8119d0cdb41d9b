//go:build linux

package suite

import (
	"net"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/nsverify/nsverify/spawn"
)

// documentation is the only range the connect specs address from.
var documentation = &net.IPNet{IP: net.IPv4(192, 0, 2, 0).To4(), Mask: net.CIDRMask(24, 32)}

// connect adds a veth pair between the network namespaces at aPath and
// bPath, addresses each end (CIDR, from documentation) and brings both up.
// It works through netlink handles opened in each namespace: the suite
// never enters one. No route is added but the ends' own subnet.
func connect(aPath, aAddr, bPath, bAddr string) {
	GinkgoHelper()
	nsA, err := netns.GetFromPath(aPath)
	Expect(err).NotTo(HaveOccurred(), "net: open %s", aPath)
	defer nsA.Close()
	nsB, err := netns.GetFromPath(bPath)
	Expect(err).NotTo(HaveOccurred(), "net: open %s", bPath)
	defer nsB.Close()
	name := "nsvc" + randomHex(4)
	peer := name + "p"
	ha, err := netlink.NewHandleAt(nsA)
	Expect(err).NotTo(HaveOccurred(), "net: open a netlink handle in %s", aPath)
	defer ha.Close()
	hb, err := netlink.NewHandleAt(nsB)
	Expect(err).NotTo(HaveOccurred(), "net: open a netlink handle in %s", bPath)
	defer hb.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer, PeerNamespace: netlink.NsFd(int(nsB))}
	Expect(ha.LinkAdd(veth)).To(Succeed(), "net: add the veth pair %s/%s between %s and %s", name, peer, aPath, bPath)
	for _, end := range []struct {
		h          *netlink.Handle
		link, cidr string
	}{{ha, name, aAddr}, {hb, peer, bAddr}} {
		addr, err := netlink.ParseAddr(end.cidr)
		Expect(err).NotTo(HaveOccurred(), "net: parse %s", end.cidr)
		Expect(documentation.Contains(addr.IP)).To(BeTrue(), "net: %s is outside 192.0.2.0/24", end.cidr)
		l, err := end.h.LinkByName(end.link)
		Expect(err).NotTo(HaveOccurred(), "net: find %s", end.link)
		Expect(end.h.AddrAdd(l, addr)).To(Succeed(), "net: address %s with %s", end.link, end.cidr)
		Expect(end.h.LinkSetUp(l)).To(Succeed(), "net: bring %s up", end.link)
	}
}

// hostDocumentationAddrs are the host's addresses in 192.0.2.0/24. Some
// machines (VMs on a documentation subnet) have one of their own, so the
// spec compares before and after: it must never add one.
func hostDocumentationAddrs() []string {
	GinkgoHelper()
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	Expect(err).NotTo(HaveOccurred(), "net: list the host's addresses")
	var in []string
	for _, a := range addrs {
		if documentation.Contains(a.IP) {
			in = append(in, a.IPNet.String())
		}
	}
	return in
}

var _ = Describe("a veth pair connecting network namespaces", Label("connect", "ns:net"), Serial, func() {
	It("carries a UDP echo from a namespace standing for the host to a child and between two children, while a child with no pair reaches neither, and the host gets no address", func(ctx SpecContext) {
		hostBefore := hostDocumentationAddrs()
		standIn, _ := NamedNetns(ctx, "")
		standInPath := netnsDir + "/" + standIn
		server := StartHolder(spawn.SetOf(spawn.Net), holdActions{Echo: true}, nil, nil)
		peer := StartHolder(spawn.SetOf(spawn.Net), holdActions{}, nil, nil)
		lonely := StartHolder(spawn.SetOf(spawn.Net), holdActions{}, nil, nil)
		connect(standInPath, "192.0.2.201/30", server.Path(spawn.Net), "192.0.2.202/30")
		connect(peer.Path(spawn.Net), "192.0.2.205/30", server.Path(spawn.Net), "192.0.2.206/30")

		got := runNetnsHelper(ctx, netnsTask{EchoFrom: standInPath, EchoTo: "192.0.2.202:7"})
		Expect(got.Error).To(BeEmpty(), "net: no echo from the stand-in for the host through its pair to the child")
		got = runNetnsHelper(ctx, netnsTask{EchoFrom: peer.Path(spawn.Net), EchoTo: "192.0.2.206:7"})
		Expect(got.Error).To(BeEmpty(), "net: no echo between the two children through their pair")

		// The child with no pair has only lo, so the kernel has no route
		// to either address: connecting the socket must fail with
		// ENETUNREACH. Any other failure (the namespace not opened or
		// not entered, a datagram sent and lost) would say nothing about
		// isolation, so it fails the spec rather than pass as "unreached".
		for _, to := range []string{"192.0.2.202:7", "192.0.2.206:7"} {
			got = runNetnsHelper(ctx, netnsTask{EchoFrom: lonely.Path(spawn.Net), EchoTo: to})
			Expect(got.Reply).To(BeEmpty(), "net: a child with no pair got an echo from %s", to)
			Expect(got.Step).To(Equal(echoDial), "net: a child with no pair failed to reach %s at another step than connecting, so its failure proves nothing: %s", to, got.Error)
			Expect(got.Errno).To(Equal(syscall.ENETUNREACH), "net: a child with no pair could not connect to %s, but not for want of a route (ENETUNREACH): %s", to, got.Error)
		}
		Expect(hostDocumentationAddrs()).To(Equal(hostBefore), "net: the host's addresses from 192.0.2.0/24 changed")
	})
})
