// Package suiteexit decides the exit code of one run of the suite from the
// Ginkgo JSON report of that run, with the codes that every front door
// shares (internal/exitcode):
//
//   - 1, a verdict differs: a spec failed, panicked or timed out, or a
//     node after the specs did (the check that the host was left as it was
//     found);
//   - 2, could not verify: the report holds no suite, the suite did not
//     compile or start, its setup before any spec failed, the run was
//     interrupted or ran out of time, or Ginkgo's own status says it failed
//     where its report names no failure;
//   - 3, nothing verified: the run went through but verified nothing: every
//     matrix set of every launcher asked for was skipped or n/a (the
//     launcher is not installed, or refuses this machine; the machine
//     cannot create the kinds), or, in a run whose filter left out the
//     matrix, no spec passed;
//   - 0, verified: otherwise.
//
// A failure outranks everything else: what differs must be seen even in a
// run that was then interrupted. The matrix decides what was verified
// because it is what a run answers (which sets each launcher isolates);
// the other specs run beside it whatever the launchers, so they cannot say
// that a launcher asked for was verified. A launcher that verified no set
// while another did leaves the code at 0, and its tally says so.
//
// scripts/run-suite.sh decides its exit code with the command in
// cmd/suiteexit. The package reads a report only: it needs no privilege,
// starts no process and changes nothing.
package suiteexit
