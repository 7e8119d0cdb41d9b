package check

import "time"

// Options says what to check and how.
type Options struct {
	// Command is the user's command line, placeholders included.
	Command []string
	// Expect is what the user expects; nil judges only what can escape:
	// a canary reached across a kind the host reads as isolated, and a
	// probe that disagrees with the host.
	Expect *Expectation
	// Probe is the binary that is the probe, and ProbeLead the words
	// before its own flags (["probe"] for nsverify).
	Probe     string
	ProbeLead []string
	// Timeout bounds the whole run; the command's process group is
	// killed when it passes. Linger is how long a hello may still come
	// once the command has exited (a sandbox that starts the probe
	// detached, as systemd-run does without --wait).
	Timeout, Linger time.Duration
	// OCIConfig, when not nil, is an OCI config.json with placeholders,
	// and OCIConfigDir its directory: nsverify writes it expanded as the
	// config of the bundle {bundle}.
	OCIConfig    []byte
	OCIConfigDir string
	// NoCanaries leaves the canaries out.
	NoCanaries bool
}
