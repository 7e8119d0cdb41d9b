package spawn

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestCloneFlagsAreTheKernelFlags(t *testing.T) {
	want := uintptr(unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWPID | unix.CLONE_NEWNS |
		unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME)
	if got := All.CloneFlags(); got != want {
		t.Errorf("All.CloneFlags() = %#x, want %#x", got, want)
	}
	if got := SetOf(MNT).CloneFlags(); got != unix.CLONE_NEWNS {
		t.Errorf("mnt flag = %#x, want CLONE_NEWNS", got)
	}
	if None.CloneFlags() != 0 {
		t.Error("the empty set has clone flags")
	}
}
