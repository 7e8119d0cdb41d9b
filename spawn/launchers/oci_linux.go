package launchers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// The trials Find runs of an OCI runtime, before any set: Linux only, as
// Find is, since a trial is started as spawn.Run starts a launcher
// (Pdeathsig, a process group killed at its deadline).

// prepareOCI makes the runtime's root file system and runs the trials.
func (l *Launcher) prepareOCI(probe string) error {
	dir, err := os.MkdirTemp("", "nsverify-"+l.name+"-")
	if err != nil {
		return fmt.Errorf("make bundle root: %w", err)
	}
	// Searchable by all: a container's root in a user namespace of its own
	// reaches the probe through the ids mapped there.
	if err := os.Chmod(dir, 0o755); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("make bundle root: %w", err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{rootfs, filepath.Join(rootfs, "proc"), filepath.Join(rootfs, "dev")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			_ = os.RemoveAll(dir)
			return fmt.Errorf("make bundle root: %w", err)
		}
	}
	if err := copyFile(probe, filepath.Join(rootfs, ociProbePath), 0o755); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("copy the probe into the bundle root: %w", err)
	}
	l.rootfs = rootfs

	base := spawn.SetOf(spawn.MNT, spawn.PID)
	if msg := l.trial(spawn.Options{Set: base}); msg != "" {
		l.recordBaseTrial(msg)
		return nil
	}
	for _, k := range []spawn.Kind{spawn.UTS, spawn.IPC, spawn.Net, spawn.User, spawn.Cgroup, spawn.Time} {
		if !k.Present() {
			continue
		}
		opts := spawn.Options{Set: base.With(k)}
		if k == spawn.Time {
			opts.Actions.MonotonicOffset = time.Second
		}
		if msg := l.trial(opts); msg != "" {
			l.recordKindTrial(k, msg)
		}
	}
	return nil
}

// recordBaseTrial records the failed trial in a mount and a pid namespace:
// a refusal of this machine, stated by the runtime, makes the launcher
// n/a; anything else is its failure, which every set it expresses shows.
func (l *Launcher) recordBaseTrial(msg string) {
	if statesMachineRefused(msg) {
		l.Refused = fmt.Sprintf("%s refused a container in a mount and a pid namespace: %s%s", l.name, msg, diagnoseRefusal(msg))
		return
	}
	l.Broken = msg
}

// recordKindTrial records the failed trial with kind k: a kind the
// runtime says it cannot make is refused, and the sets holding it n/a;
// any other failure breaks them, since the trial ran the same bundle
// code the sets do and may have found a fault of that code.
func (l *Launcher) recordKindTrial(k spawn.Kind, msg string) {
	if statesKindRefused(msg, k) {
		if l.refusedKinds == nil {
			l.refusedKinds = map[spawn.Kind]string{}
		}
		l.refusedKinds[k] = msg
		return
	}
	if l.brokenKinds == nil {
		l.brokenKinds = map[spawn.Kind]string{}
	}
	l.brokenKinds[k] = msg
}

// trial runs the probe's pid observation in a container as opts ask, and
// returns what went wrong, in the runtime's words where it gave some; ""
// when the probe's report came back.
func (l *Launcher) trial(opts spawn.Options) string {
	ctx, cancel := context.WithTimeout(context.Background(), ociTrialTimeout)
	defer cancel()
	b, err := l.newBundle(opts, []string{"pid"}, "", 0)
	if err != nil {
		return err.Error()
	}
	defer b.remove()
	cmd := exec.CommandContext(ctx, b.argv[0], b.argv[1:]...)
	cmd.Env = []string{}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if err == nil {
		if _, derr := probes.DecodeReport(&stdout); derr != nil {
			return "its container printed no report: " + derr.Error()
		}
		return ""
	}
	// A runtime says why on stderr, or failing that (crun, when its
	// container's init dies early) on stdout.
	for _, out := range []string{stderr.String(), stdout.String()} {
		if msg := runtimeMessage(out); msg != "" {
			return msg
		}
	}
	return err.Error() + ", with nothing on stderr or stdout"
}
