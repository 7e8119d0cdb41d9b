package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
	"github.com/nsverify/nsverify/suite/canary"
)

// maxOutput bounds what is kept of the command's stdout and stderr.
const maxOutput = 64 << 10

// Run runs the command and judges the sandbox its probe ran in. An error
// means nothing could be judged (exit code 2): the command did not start,
// or the probe never said hello, with what the command printed.
func Run(ctx context.Context, opts Options) (*Outcome, error) {
	if err := ValidateCommand(opts.Command, opts.OCIConfig != nil); err != nil {
		return nil, err
	}
	if opts.OCIConfig != nil {
		if err := ValidateOCIConfig(opts.OCIConfig); err != nil {
			return nil, err
		}
	}
	if err := checkTempDir(os.TempDir(), opts.NoCanaries); err != nil {
		return nil, err
	}
	// The host's own reading comes first: the namespaces every kind is
	// compared with.
	withOwners := spawn.HasNSIoctls()
	self := probes.ReadOutside(os.Getpid(), withOwners)
	if len(self.NS) == 0 {
		return nil, fmt.Errorf("read this process's own namespaces: %v; nsverify needs /proc mounted", self.Errors)
	}

	dir, err := os.MkdirTemp("", "nsverify-check-")
	if err != nil {
		return nil, fmt.Errorf("make a directory for the hello socket: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	// Any uid the sandbox runs the probe as must reach the socket.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open the hello socket's directory: %w", err)
	}
	hello, err := listenHello(filepath.Join(dir, "hello"))
	if err != nil {
		return nil, err
	}
	defer hello.stop()

	out := &Outcome{Command: opts.Command, Expect: opts.Expect, Self: self}
	args := append(append([]string{}, opts.ProbeLead...), "-"+probes.FlagHelloPath, hello.path, "-"+probes.FlagHelloToken, hello.token)
	held := func(int) {}
	var planted *canary.Planted
	if !opts.NoCanaries {
		mount, noMount := spawn.ReadPrivilege().NeedOver(spawn.MNT, spawn.CapSysAdmin, "mount the mount canary in it")
		planted, err = canary.Plant(canary.Options{Probe: opts.Probe, ProbeLead: opts.ProbeLead, Mount: mount, NoMount: noMount})
		if err != nil {
			return nil, fmt.Errorf("plant the canaries: %w", err)
		}
		defer planted.Remove()
		args = append(args, planted.Args()...)
		held = planted.WhileHeld
	}
	bundle := ""
	if opts.OCIConfig != nil {
		bundle = filepath.Join(dir, "bundle")
		config, err := ExpandOCIConfig(opts.OCIConfig, opts.OCIConfigDir, opts.Probe, args, hello.path)
		if err != nil {
			return nil, err
		}
		if err := os.Mkdir(bundle, 0o755); err != nil {
			return nil, fmt.Errorf("make the bundle: %w", err)
		}
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), config, 0o644); err != nil {
			return nil, fmt.Errorf("write the bundle's config: %w", err)
		}
	}
	out.Argv = Expand(opts.Command, opts.Probe, args, hello.path, bundle)

	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	cmd := exec.CommandContext(ctx, out.Argv[0], out.Argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	stdout, stderr := &capped{max: maxOutput}, &capped{max: maxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the command: %w", err)
	}
	hello.serve(held, deadline, withOwners)
	// The command's exit, left unreaped: while its leader is a zombie, the
	// process group's id cannot be taken by another.
	waitExitKeepingZombie(cmd.Process.Pid)
	out.Duration = time.Since(start)

	var h heard
	linger := time.NewTimer(opts.Linger)
	defer linger.Stop()
	select {
	case h = <-hello.done:
	case <-linger.C:
		hello.stop()
		h = <-hello.done
	case <-ctx.Done():
		hello.stop()
		h = <-hello.done
	}
	// What the command left running in its process group (a sandbox's
	// helpers, a probe started in the background) ends with the run.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	waitErr := cmd.Wait()
	out.Stdout, out.Stderr = stdout.String(), stderr.String()
	out.ExitStatus = cmd.ProcessState.ExitCode()
	if ctx.Err() != nil && !h.hello {
		return out, fmt.Errorf("the command ran past --timeout %s and its probe never said hello; its process group was killed", opts.Timeout)
	}
	if !h.hello {
		why := "the command exited"
		if waitErr != nil {
			why += " (" + waitErr.Error() + ")"
		}
		return out, fmt.Errorf("%s and its probe never said hello within --linger %s: the sandbox never ran {probe} {args}, or could not reach %s (bind it into the sandbox at that same path)", why, opts.Linger, hello.path)
	}
	out.HostPID, out.ProbeUID, out.Outside, out.Report = h.pid, int(h.uid), h.outside, h.report
	if h.err != nil {
		out.Problems = append(out.Problems, h.err.Error())
	}
	switch {
	case h.report == nil:
		// Without the probe's account, a canary the host saw no visit to
		// may still have been reached: none is judged.
		out.Problems = append(out.Problems, "the probe sent no report: the canaries are not judged, and its own readings are not compared")
	case planted != nil:
		out.Canaries = planted.Results(h.report)
	}
	judge(out)
	return out, nil
}

// waitExitKeepingZombie waits until the process pid has exited, without
// reaping it.
func waitExitKeepingZombie(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// helloPathMax is the longest path a unix socket address holds
// (sun_path, with its terminating NUL).
const helloPathMax = 107

// checkTempDir says why the hello socket and the canaries cannot live
// under dir, before anything is made: a socket path longer than a unix
// address holds, or a comma, which the probe's -canaries list cannot
// carry in the mount canary's path.
func checkTempDir(dir string, noCanaries bool) error {
	// nsverify-check-NNNNNNNNN/hello
	if n := len(dir) + len("/nsverify-check-1234567890/hello"); n > helloPathMax {
		return fmt.Errorf("the temporary directory %s is too long for the hello socket (%d bytes of a unix socket's %d); set TMPDIR to a shorter directory", dir, n, helloPathMax)
	}
	if !noCanaries && strings.Contains(dir, ",") {
		return fmt.Errorf("the temporary directory %s holds a comma, which the probe's list of canaries cannot carry; set TMPDIR to a directory without one, or give --no-canaries", dir)
	}
	return nil
}

// capped keeps the first max bytes written to it.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		if len(p) > room {
			c.Buffer.Write(p[:room])
		} else {
			c.Buffer.Write(p)
		}
	}
	return len(p), nil
}
