package spawn

import (
	"sync"

	"github.com/nsverify/nsverify/probes"
)

// HasNSIoctls says whether this kernel answers the namespace ioctls
// NS_GET_USERNS and NS_GET_PARENT (Linux 4.9 and later), asked by this
// process of its own uts namespace, once. Where it does, the host reads
// every child's owners itself, and a probe that says it could not is
// wrong; where it does not, nobody can, and the ownership oracle says so.
var HasNSIoctls = sync.OnceValue(func() bool {
	_, err := probes.OwnerOf("/proc/self/ns/uts")
	return !probes.ErrNoNSIoctl(err)
})
