package nsprobe

import (
	"os"
	"slices"
)

// Command is the word that, right after the binary's name, makes a binary
// holding the probe among its commands run it: "nsverify probe -ns".
const Command = "probe"

// commandLine splits this process's command line into the words that
// start the probe (the binary's name, and Command where it came first) and
// the probe's own arguments. The probe starts itself again (a stage's
// observer, an exec into a time namespace, a descendant) with the same
// leading words, whichever binary it is. The nsprobe binary has no
// subcommand or flag named Command, so the split is never ambiguous.
func commandLine() (lead, args []string) {
	if len(os.Args) > 1 && os.Args[1] == Command {
		return slices.Clone(os.Args[:2]), os.Args[2:]
	}
	return slices.Clone(os.Args[:1]), os.Args[1:]
}
