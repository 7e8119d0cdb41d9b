package probes

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The inodes the kernel gives the initial user and pid namespaces
// (PROC_USER_INIT_INO, PROC_PID_INIT_INO, fixed since Linux 3.8); every
// other namespace gets a dynamic one.
const (
	InitialUserIno = 0xEFFFFFFD
	InitialPIDIno  = 0xEFFFFFFC
)

// Ownership says which user namespace owns a namespace and, for pid and
// user namespaces, which namespace is its parent.
type Ownership struct {
	// Owner is the user namespace that owns the namespace (NS_GET_USERNS):
	// root there holds its capabilities over this namespace. For a user
	// namespace, the owner is its parent.
	Owner *NSRef `json:"owner,omitempty"`
	// Parent is the parent of a pid or user namespace (NS_GET_PARENT); nil
	// for the other kinds.
	Parent *NSRef `json:"parent,omitempty"`
}

// NSRef refers to a namespace the kernel named in answer to an ioctl:
// either its identity, or Outside when the kernel refused to say (EPERM).
//
// The kernel answers EPERM when the namespace asked for is neither the
// caller's own (user or pid) namespace nor one below it, and when there
// is none: the initial namespaces have no parent. A process in a new user
// namespace therefore sees every namespace the host owns as "outside",
// and holds no capability over it.
type NSRef struct {
	ID      NSID
	Outside bool
}

// outsideJSON is how an NSRef with Outside set is written.
const outsideJSON = `"outside"`

// MarshalJSON writes "outside", or the identity as {"dev": D, "ino": I}.
func (n NSRef) MarshalJSON() ([]byte, error) {
	if n.Outside {
		return []byte(outsideJSON), nil
	}
	return json.Marshal(n.ID)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (n *NSRef) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte(outsideJSON)) {
		*n = NSRef{Outside: true}
		return nil
	}
	var id NSID
	if err := json.Unmarshal(b, &id); err != nil {
		return fmt.Errorf("decode namespace reference: want \"outside\" or {\"dev\": D, \"ino\": I}: %w", err)
	}
	*n = NSRef{ID: id}
	return nil
}

// String is "outside" or "dev:ino".
func (n NSRef) String() string {
	if n.Outside {
		return "outside"
	}
	return n.ID.String()
}

// String is "dev:ino", as stat -L -c %d:%i prints a namespace file.
func (id NSID) String() string {
	return fmt.Sprintf("%d:%d", id.Dev, id.Ino)
}
