package hostlock

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

func TestAHeldTurnKeepsOthersOutUntilReleased(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	release, err := Hold()
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.Open(Path())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("another took the turn while it was held: %v", err)
	}
	// A process started now inherits the turn.
	if os.Getenv(heldEnv) == "" {
		t.Errorf("%s is not set for the processes the holder starts", heldEnv)
	}
	release()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("the turn was not given back: %v", err)
	}
}
