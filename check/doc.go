// Package check verifies a sandbox started by a command line nsverify did
// not write: the user's own (`unshare …`, `bwrap …`, `docker run …`), with
// {probe}, {args} and {hello} substituted. The probe connects to the host's
// unix socket at {hello}; the kernel tells the host its pid (SO_PEERCRED);
// while the probe waits, the host reads it from its own /proc and mounts
// the mount canary; then the probe tries the canaries, observes, and sends
// its report back on the socket. Each kind is judged by package verify
// from the host's reading, the probe's agreement and the canaries, against
// what the user expects (--expect, or an expectation file), and the
// outcome is printed as a table, Markdown or JSON.
//
// The namespaces compared with are those nsverify itself runs in: run it
// where the sandbox's host is (on the host, not inside a container).
package check
