// Package probes defines the report that the nsprobe binary prints and the
// parsers it uses to fill it in.
//
// The same types are imported by the probe (which runs inside the namespaces
// under test) and by the suite (which decodes the report and compares it with
// the host), so the two sides can never disagree on field names or units.
// So is the rest of the vocabulary that the probe, spawn and the suite share,
// each fact in one place: a namespace's identity and its "dev:ino" text
// (NSID, ParseNSID, StatNSID, and "kind=dev:ino,…" lists), a mount's
// propagation (Propagation), SysV queues (MsgGet, MsgRemove), the owner and
// parent ioctls (OwnerOf, ParentOf), a time namespace's offsets
// (FormatTimensOffsets, ParseTimensOffsets), the raw fork of a Go process
// that the probe's stages and spawn make (rawfork_linux.go), and the
// probe's flag names and the kernel's limits on what it is asked to make
// (flags.go).
//
// The parsers read from an io.Reader so that their tests run on fixture text
// without privilege; only the probe binary itself (probes/cmd/nsprobe) reads
// the real /proc. Nothing in this package changes the state of the machine
// but MsgGet with IPC_CREAT and MsgRemove, which make and remove the queue
// their caller names, in the caller's ipc namespace; a caller that makes
// one on the host removes it (the suite does in DeferCleanup).
package probes
