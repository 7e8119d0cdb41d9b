package probes

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// MsgGet calls msgget(2) for key with flags (IPC_CREAT, IPC_EXCL, the
// mode), and returns the queue's id. x/sys/unix has no wrapper for it;
// the key is a key_t, an int.
func MsgGet(key int32, flags int) (int, error) {
	id, _, errno := unix.Syscall(unix.SYS_MSGGET, uintptr(int(key)), uintptr(flags), 0)
	if errno != 0 {
		return -1, fmt.Errorf("msgget %d: %w", key, errno)
	}
	return int(id), nil
}

// MsgRemove removes the SysV message queue id (msgctl IPC_RMID).
func MsgRemove(id int) error {
	if _, _, errno := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0); errno != 0 {
		return fmt.Errorf("msgctl IPC_RMID %d: %w", id, errno)
	}
	return nil
}
