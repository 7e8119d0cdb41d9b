//go:build !linux

package spawn

import (
	"os"

	"github.com/nsverify/nsverify/probes"
)

func ownMounts() []probes.Mount { return nil }

// readPrivilege knows only the effective uid off Linux: there are no
// namespaces to hold capabilities over.
func readPrivilege([]probes.Mount) Privilege {
	return Privilege{EUID: os.Geteuid(), CgroupError: errNotLinux.Error()}
}
