//go:build !linux

package spawn

import (
	"context"
	"time"
)

// FindLauncher names a launcher that cannot run here: only Linux has
// namespaces.
func FindLauncher(name, path, probe string) (*Launcher, error) {
	if _, err := ParseLaunchers(name); err != nil {
		return nil, err
	}
	if name == LauncherGo {
		return BuiltinLauncher(), nil
	}
	return &Launcher{Name: name, Path: path, Refused: errNotLinux.Error()}, nil
}

// Close has nothing to remove here.
func (l *Launcher) Close() error { return nil }

// runLaunched fails: only Linux can start a child in new namespaces.
func runLaunched(context.Context, Options, time.Duration) (*Result, error) {
	return nil, errNotLinux
}
