// Package scripts holds the shell scripts shared by the Vagrantfile, CI and
// people: provision.sh, which prepares a machine, run-suite.sh, which
// runs the suite and makes its matrix, and sandboxes.sh, which runs
// nsverify check on each sandbox installed (docker, podman, systemd-run,
// systemd-nspawn, firejail, bwrap, unshare) in its defaults. Its tests run provision.sh only as
// an unprivileged user, on a copy of the repository's files, and only with
// options that must change nothing (--help, a wrong option, --dry-run), so
// they change nothing on the machine. run-suite.sh is tested with the
// decision behind its exit code, in internal/suiteexit.
package scripts
