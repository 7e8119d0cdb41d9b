// Package testseam carries the few things that nsverify's own tests ask
// of spawn and that a production caller must never ask: a child whose new
// user namespace gets no id maps, or one that leaves setgroups allowed;
// and a time namespace made one chosen way of those spawn has, rather
// than the way spawn picks for the kernel it runs on.
//
// The first two reproduce failures (the walk-through's "operation not
// permitted") and prove refusals. The third lets every way of making a
// time namespace run on a kernel that would otherwise take only some of
// them: spawn picks its way by the kernel release, so on Linux 6.2 and
// later the probe's stage, which older kernels need, would never run
// here, and a fault in it would first show on a user's kernel.
//
// A test puts them in the context it passes to spawn.Run (WithUserNS,
// WithTimeNS); spawn reads them back (UserNSFrom, TimeNSFrom) where it
// builds the clone. Being internal, the package is importable only from
// this module, so the public API of spawn stays what a caller outside may
// use. It holds no state and changes nothing on the machine: it only
// carries values in a context.
//
// Platforms: all; only spawn on Linux reads the values.
package testseam
