package nsprobe

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// sayHello sends one byte on the unix socket fd and waits for the caller's
// answer, then closes fd.
//
// The caller set SO_PASSCRED on its end, so the kernel attaches this
// process's credentials to the byte, with the pid translated into the
// caller's pid namespace: the caller learns the probe's pid as it sees it,
// whatever launcher (unshare, bwrap, an OCI runtime) stood between them and
// whatever pid namespace the probe is in. Until it answers, the probe has
// done nothing, so the caller can look at it from outside, alive.
func sayHello(fd int) error {
	defer unix.Close(fd)
	if err := unix.Sendmsg(fd, []byte{'h'}, nil, nil, 0); err != nil {
		return fmt.Errorf("say hello on descriptor %d: %w", fd, err)
	}
	var answer [1]byte
	n, err := unix.Read(fd, answer[:])
	if err != nil {
		return fmt.Errorf("wait for the caller's answer on descriptor %d: %w", fd, err)
	}
	if n == 0 {
		return fmt.Errorf("wait for the caller's answer on descriptor %d: the caller closed it", fd)
	}
	return nil
}

// runHelloPath is a run whose hello and report go through the host's unix
// socket at cfg.helloPath. The host learns the probe's pid from the kernel
// (SO_PEERCRED, taken when the probe connects), reads it from outside while
// it waits for the answer, then reads the report from the same connection.
// Nothing is printed on stdout: a sandbox may pass it anywhere, or nowhere.
func runHelloPath(cfg *config, stderr io.Writer) int {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintf(stderr, "nsprobe: make a socket for the host's hello: %v\n", err)
		return 1
	}
	conn := os.NewFile(uintptr(fd), "hello")
	defer conn.Close()
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: cfg.helloPath}); err != nil {
		fmt.Fprintf(stderr, "nsprobe: connect to the host's hello socket %s: %v; bind it into the sandbox at that same path\n", cfg.helloPath, err)
		return 1
	}
	r := &probes.Report{Schema: probes.Schema, NS: map[string]probes.NSID{}}
	if _, err := conn.Write([]byte("h" + cfg.helloToken + "\n")); err != nil {
		fmt.Fprintf(stderr, "nsprobe: say hello on %s: %v\n", cfg.helloPath, err)
		return 1
	}
	var answer [1]byte
	if n, err := conn.Read(answer[:]); n == 0 {
		fmt.Fprintf(stderr, "nsprobe: wait for the host's answer on %s: %v\n", cfg.helloPath, err)
		return 1
	}
	act(cfg, r)
	actConfine(&cfg.confine, r)
	tryCanaries(cfg.canaries, r)
	observe(cfg.subcommand, r)
	if err := json.NewEncoder(conn).Encode(r); err != nil {
		fmt.Fprintf(stderr, "nsprobe: send the report on %s: %v\n", cfg.helloPath, err)
		return 1
	}
	return 0
}
