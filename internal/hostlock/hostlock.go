package hostlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// heldEnv marks the processes started while the turn is held.
const heldEnv = "NSVERIFY_HOST_TURN"

// Path is the lock file.
func Path() string { return filepath.Join(os.TempDir(), "nsverify-host.lock") }

// Hold waits for the host's turn and returns what gives it back. In a
// process started by the holder, it returns at once.
func Hold() (release func(), err error) {
	if os.Getenv(heldEnv) != "" {
		return func() {}, nil
	}
	// Read-only will do for flock, and lets any user take a turn on a
	// file another created.
	f, err := os.OpenFile(Path(), os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		f, err = os.Open(Path())
	}
	if err != nil {
		return nil, fmt.Errorf("open the host's lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("wait for the host's turn on %s: %w", Path(), err)
	}
	_ = os.Setenv(heldEnv, "1")
	return func() {
		_ = os.Unsetenv(heldEnv)
		_ = f.Close()
	}, nil
}
