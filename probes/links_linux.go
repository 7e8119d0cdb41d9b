package probes

import (
	"errors"
	"fmt"
	"sort"

	"github.com/vishvananda/netlink"
)

// LinkNames lists links through list (netlink.LinkList, or the LinkList of
// a handle opened in another namespace) and returns their names, sorted.
func LinkNames(list func() ([]netlink.Link, error)) ([]string, error) {
	links, err := ListLinks(list)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.Attrs().Name
	}
	sort.Strings(names)
	return names, nil
}

// ListLinks lists links through list. A dump the kernel interrupts
// because links were added or removed under it (NLM_F_DUMP_INTR) is
// incomplete, so it asks again, a few times.
func ListLinks(list func() ([]netlink.Link, error)) ([]netlink.Link, error) {
	var (
		links []netlink.Link
		err   error
	)
	for range 10 {
		if links, err = list(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	return links, nil
}
