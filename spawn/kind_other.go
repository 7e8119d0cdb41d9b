//go:build !linux

package spawn

// cloneFlags is empty: only Linux has namespaces, so no kind has a clone
// flag here and CloneFlag returns 0.
var cloneFlags = map[Kind]uintptr{}
