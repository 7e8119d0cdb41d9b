package exitcode

// The exit codes, the same for every front door.
const (
	// Verified: every verdict was reached and is as expected.
	Verified = 0
	// Differs: at least one verdict differs from what was expected.
	Differs = 1
	// CouldNotVerify: the run could not start or could not be judged (bad
	// usage included); the message says why and what to do.
	CouldNotVerify = 2
	// NothingVerified: the run went through but verified nothing: every
	// kind or set was skipped or not applicable.
	NothingVerified = 3
)

// Describe returns what code means, for usage texts and job summaries.
func Describe(code int) string {
	switch code {
	case Verified:
		return "verified as expected"
	case Differs:
		return "a verdict differs from what was expected"
	case CouldNotVerify:
		return "could not run or could not verify (bad usage included)"
	case NothingVerified:
		return "nothing was verified: everything was skipped or not applicable"
	}
	return "unknown exit code"
}
