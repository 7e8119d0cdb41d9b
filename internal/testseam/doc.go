// Package testseam carries the few things that nsverify's own tests ask
// of spawn and that a production caller must never ask: a child whose new
// user namespace gets no id maps, or one that leaves setgroups allowed.
// They reproduce failures (the walk-through's "operation not permitted")
// and prove refusals, so they are not options of spawn.Options.
//
// A test puts them in the context it passes to spawn.Run (WithUserNS);
// spawn reads them back (UserNSFrom) where it builds the clone. Being
// internal, the package is importable only from this module, so the
// public API of spawn stays what a caller outside may use. It holds no
// state and changes nothing on the machine: it only carries two booleans.
//
// Platforms: all; only spawn on Linux reads the values.
package testseam
