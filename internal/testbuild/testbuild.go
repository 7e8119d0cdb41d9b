package testbuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The main packages that tests build.
const (
	Probe     = "github.com/nsverify/nsverify/probes/cmd/nsprobe"
	Preflight = "github.com/nsverify/nsverify/spawn/cmd/nspreflight"
)

// dirPrefix names the directories Static makes, so Remove deletes no other.
const dirPrefix = "nsverify-build-"

// Static builds the main package pkg (an import path) and returns the
// path of the binary, named as the package's last element.
func Static(ctx context.Context, pkg string) (string, error) {
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return "", fmt.Errorf("make build directory: %w", err)
	}
	path := filepath.Join(dir, filepath.Base(pkg))
	if err := build(ctx, pkg, path); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return path, nil
}

func build(ctx context.Context, pkg, path string) error {
	if err := os.Chmod(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("open up build directory: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s (needs the go command on PATH): %w\n%s", pkg, err, out)
	}
	if err := os.Chmod(path, 0o755); err != nil {
		return fmt.Errorf("open up %s: %w", path, err)
	}
	return nil
}

// Remove deletes the directory of a binary that Static built. It refuses
// any other path, so a path left empty by a failed build removes nothing.
func Remove(path string) error {
	dir := filepath.Dir(path)
	if filepath.Dir(dir) != filepath.Clean(os.TempDir()) || !strings.HasPrefix(filepath.Base(dir), dirPrefix) {
		return fmt.Errorf("remove build directory: %s is not a binary that testbuild.Static built", path)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove build directory: %w", err)
	}
	return nil
}
