//go:build !linux

package spawn

import (
	"context"
	"os/exec"
)

// command fails: only Linux can clone a child into new namespaces.
func command(context.Context, Options) (*exec.Cmd, []string, func(), error) {
	return nil, nil, nil, errNotLinux
}
