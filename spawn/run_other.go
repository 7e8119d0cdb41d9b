//go:build !linux

package spawn

import (
	"context"
	"os/exec"
	"time"
)

// command fails: only Linux can clone a child into new namespaces.
func command(context.Context, Options) (*exec.Cmd, []string, func(), error) {
	return nil, nil, nil, errNotLinux
}

// startAndWait is never reached: command fails first.
func startAndWait(_ context.Context, cmd *exec.Cmd, _ Options, started func()) (pid int, waitErr, startErr error) {
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	started()
	return cmd.Process.Pid, cmd.Wait(), nil
}

// runBuiltin fails: only Linux can clone a child into new namespaces.
func runBuiltin(context.Context, Options, time.Duration) (*Result, error) {
	return nil, &Error{Op: "prepare probe", Err: errNotLinux}
}

// runLaunched fails: only Linux can start a child in new namespaces.
func runLaunched(context.Context, Options, time.Duration) (*Result, error) {
	return nil, errNotLinux
}
