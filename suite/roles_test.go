//go:build linux

package suite

import "os"

// The suite's test binary doubles as the helpers some specs start: run
// with one of these environment variables set, it is that helper, does its
// one task and exits, never returning into the test framework. Each helper
// registers itself here, so one place decides, before any spec code runs.
var roles = map[string]func(value string) int{}

// role registers run as the helper that the environment variable env
// selects. It is called from package-level variables, which are all set
// before any init function runs.
func role(env string, run func(value string) int) bool {
	roles[env] = run
	return true
}

func init() {
	for env, run := range roles {
		if v, ok := os.LookupEnv(env); ok && v != "" {
			os.Exit(run(v))
		}
	}
}
