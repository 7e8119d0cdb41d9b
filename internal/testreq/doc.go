// Package testreq lets a Go test skip, with the reason, where the machine
// does not give it what it needs. It is test support: only _test.go files
// import it, and it changes nothing on the machine.
//
// Two kinds of need: a capability over a namespace (Require, given one of
// spawn.Privilege's checks), and new namespaces to start a child in
// (Clone). The second is decided by the preflight alone, the one a test
// binary installs with UsePreflight: every helper of a test that starts a
// child in new namespaces calls Clone before it clones, so no test can
// reach a clone the machine refuses (a user namespace at
// user.max_user_namespaces=0, one that holds no capability under Ubuntu's
// AppArmor restriction) and fail there instead of skipping with the
// preflight's reason and remedy.
//
// It cannot import spawn, whose own tests use it; a test binary hands it
// spawn's preflight as a function instead.
package testreq
