//go:build !linux

package spawn

import (
	"fmt"
	"runtime"
)

// detect starts no child: only Linux has namespaces. Features.Error and
// each kind's Reason say so.
func detect(exe string) *Features {
	f := &Features{Machine: *readMachine(), Exe: exe, Kinds: make([]KindSupport, len(kinds)), Error: errNotLinux.Error()}
	for i, k := range kinds {
		f.Kinds[i] = KindSupport{Kind: k, Limit: -1, Reason: fmt.Sprintf("%s: %v", k, errNotLinux), Remedy: "run nsverify on Linux"}
	}
	return f
}

// readMachine returns the facts that mean something off Linux: the
// operating system (as Kernel) and the effective uid. Every kind is absent
// and every limit unreadable.
func readMachine() *Machine {
	m := &Machine{
		Kernel:                             runtime.GOOS,
		Privilege:                          readPrivilege(nil),
		UnprivilegedUsernsClone:            -1,
		AppArmorRestrictUnprivilegedUserns: -1,
		RootPropagation:                    propagationUnknown,
		CgroupLayout:                       "unknown",
		Limits:                             make(map[Kind]int64, len(kinds)),
		Present:                            make(map[Kind]bool, len(kinds)),
	}
	for _, k := range kinds {
		m.Limits[k] = -1
		m.Present[k] = false
	}
	return m
}
