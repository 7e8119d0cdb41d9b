//go:build !linux

package launchers

// notLinux is why a launcher program starts nothing here.
const notLinux = "namespaces are Linux-only; run nsverify on Linux"

// Find names a launcher that cannot run here: only Linux has namespaces.
func Find(name, path, probe string) (*Launcher, error) {
	if _, err := Parse(name); err != nil {
		return nil, err
	}
	if name == Go {
		return Builtin(), nil
	}
	return &Launcher{name: name, Path: path, Refused: name + ": " + notLinux}, nil
}
