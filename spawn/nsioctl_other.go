//go:build !linux

package spawn

// HasNSIoctls is false: elsewhere there are no namespaces to ask about.
func HasNSIoctls() bool { return false }
