package check

import (
	"errors"
	"fmt"
	"strings"
)

// The placeholders of a command line.
const (
	// PlaceProbe is the path of the binary that is the probe, on the host.
	PlaceProbe = "{probe}"
	// PlaceArgs is the probe's arguments, one word each: it must stand as a
	// word of its own.
	PlaceArgs = "{args}"
	// PlaceHello is the path of the host's hello socket, on the host; bind
	// it into the sandbox at the same path.
	PlaceHello = "{hello}"
)

// ValidateCommand says what is wrong with a command line before anything
// is made: it must have a program, and {args} as a word of its own, where
// the sandbox starts its command.
func ValidateCommand(argv []string) error {
	if len(argv) == 0 {
		return errors.New("no command given; give the sandbox's command line after --, with {probe} {args} where it starts its command, e.g. nsverify check -- unshare -n {probe} {args}")
	}
	found := false
	for _, w := range argv {
		if w == PlaceArgs {
			found = true
			continue
		}
		if strings.Contains(w, PlaceArgs) {
			return fmt.Errorf("%q holds {args} inside a word; {args} is several words, so give it as a word of its own", w)
		}
	}
	if !found {
		return errors.New("the command line has no {args}: the probe needs them (the hello socket, the canaries); write {probe} {args} where the sandbox starts its command")
	}
	return nil
}

// Expand substitutes the placeholders of argv: {args} (a word of its own)
// becomes the words of args, and {probe} and {hello} are replaced wherever
// they stand, inside words too (docker's -v {probe}:{probe}:ro).
func Expand(argv []string, probe string, args []string, hello string) []string {
	out := make([]string, 0, len(argv)+len(args))
	r := strings.NewReplacer(PlaceProbe, probe, PlaceHello, hello)
	for _, w := range argv {
		if w == PlaceArgs {
			out = append(out, args...)
			continue
		}
		out = append(out, r.Replace(w))
	}
	return out
}
