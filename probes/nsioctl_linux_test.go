package probes

import (
	"testing"
)

// These ask the running kernel about the test's own namespaces, which
// needs no privilege.

func TestOwnerOfOwnUserNamespaceIsOutside(t *testing.T) {
	// A user namespace's owner is its parent, above the caller (or none,
	// for the initial one): the kernel refuses to name it.
	got, err := OwnerOf("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Outside {
		t.Errorf("owner of the test's own user namespace is %s, want outside", got)
	}
}

func TestParentOfAKindWithoutParentsIsAnError(t *testing.T) {
	_, err := ParentOf("/proc/self/ns/uts")
	if !ErrNoNSIoctl(err) {
		t.Errorf("parent of a uts namespace: %v, want EINVAL", err)
	}
}

func TestOwnerOfAMissingFile(t *testing.T) {
	_, err := OwnerOf("/proc/self/ns/nonexistent")
	if err == nil || ErrNoNSIoctl(err) {
		t.Errorf("owner of a missing file: %v, want an open error", err)
	}
}

func TestOwnerOfANonNamespaceFile(t *testing.T) {
	// What a kernel before 4.9 answers for every namespace file.
	_, err := OwnerOf("/proc/self/status")
	if !ErrNoNSIoctl(err) {
		t.Errorf("owner of /proc/self/status: %v, want ENOTTY", err)
	}
}
