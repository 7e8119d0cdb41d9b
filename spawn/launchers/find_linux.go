package launchers

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/nsverify/nsverify/spawn"
)

// Find finds the launcher name at path, or on PATH when path is empty,
// and reads its version. Where its program reads --help (unshare, bwrap)
// it reads the long options listed there: a set that needs an option the
// launcher lacks is not expressible, naming the option, and an option
// that only helps (--kill-child) is passed where it is there. For an OCI
// runtime it also makes a root file system holding a copy of probe, and
// tries the runtime once in a mount and pid namespace, then once more with
// each other kind: a kind the runtime says it cannot make is not
// expressible, with the runtime's own message; a trial that failed
// otherwise fails the sets it touches (TrialFailure). A launcher that is
// missing, or that refuses this machine in its own words, is returned with
// Refused saying so, so that its rows say n/a with the reason; an unknown
// name is an error. Close removes what Find made.
func Find(name, path, probe string) (*Launcher, error) {
	if _, err := Parse(name); err != nil {
		return nil, err
	}
	if name == Go {
		return Builtin(), nil
	}
	l := &Launcher{name: name, rootless: !spawn.ReadPrivilege().AdminInInitialUserNS(), notUID0: os.Getuid() != 0}
	if path == "" {
		p, err := exec.LookPath(name)
		if err != nil {
			l.Refused = fmt.Sprintf("%s is not on PATH; install it (%s), or leave it out of the launchers", name, programs[name].pkg)
			return l, nil
		}
		path = p
	}
	l.Path = path
	out, err := exec.Command(path, "--version").CombinedOutput()
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil {
		l.Refused = fmt.Sprintf("%s --version failed: %v: %s", path, err, first)
		return l, nil
	}
	l.Version = first
	if programs[name].readsHelp {
		help, err := exec.Command(path, "--help").CombinedOutput()
		if err != nil {
			l.Refused = fmt.Sprintf("%s --help failed: %v: %s", path, err, strings.TrimSpace(string(help)))
			return l, nil
		}
		l.setOptions(parseHelpOptions(string(help)))
	}
	if l.OCI() && !l.rootless {
		if err := l.prepareOCI(probe); err != nil {
			return nil, err
		}
	}
	return l, nil
}
