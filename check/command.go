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
// is made: it must have a program, and {args} as a word of its own where
// the sandbox starts its command; or, with an OCI config (withConfig),
// {bundle} where the runtime takes its bundle, the {args} being the
// config's.
func ValidateCommand(argv []string, withConfig bool) error {
	if len(argv) == 0 {
		return errors.New("no command given; give the sandbox's command line after --, with {probe} {args} where it starts its command, e.g. nsverify check -- unshare -n {probe} {args}")
	}
	args, bundle := false, false
	for _, w := range argv {
		switch {
		case w == PlaceArgs:
			args = true
		case strings.Contains(w, PlaceArgs):
			return fmt.Errorf("%q holds {args} inside a word; {args} is several words, so give it as a word of its own", w)
		case strings.Contains(w, PlaceBundle):
			bundle = true
		}
	}
	switch {
	case withConfig && args:
		return errors.New("with --oci-config, {args} goes in the config's process.args, not on the command line")
	case withConfig && !bundle:
		return errors.New("with --oci-config, the command line needs {bundle} where the runtime takes its bundle, e.g. runc run --bundle {bundle} nsverify-check")
	case !withConfig && bundle:
		return errors.New("{bundle} is the bundle nsverify writes from --oci-config, and none was given")
	case !withConfig && !args:
		return errors.New("the command line has no {args}: the probe needs them (the hello socket, the canaries); write {probe} {args} where the sandbox starts its command")
	}
	return nil
}

// Expand substitutes the placeholders of argv: {args} (a word of its own)
// becomes the words of args, and {probe}, {hello} and {bundle} are
// replaced wherever they stand, inside words too (docker's -v
// {probe}:{probe}:ro).
func Expand(argv []string, probe string, args []string, hello, bundle string) []string {
	out := make([]string, 0, len(argv)+len(args))
	r := strings.NewReplacer(PlaceProbe, probe, PlaceHello, hello, PlaceBundle, bundle)
	for _, w := range argv {
		if w == PlaceArgs {
			out = append(out, args...)
			continue
		}
		out = append(out, r.Replace(w))
	}
	return out
}
