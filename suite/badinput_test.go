//go:build linux

package suite

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/spawn"
)

var _ = Describe("bad input", Label("badinput"), Ordered, func() {
	var fake string

	BeforeAll(func() {
		fake = buildFakeProbe()
	})

	// options returns options that start the stand-in in set, which
	// creates marker if it is ever started.
	options := func(set spawn.Set, marker string) spawn.Options {
		return spawn.Options{Probe: fake, Set: set, Subcommand: "ok", Env: []string{"FAKEPROBE_MARKER=" + marker}}
	}

	It("starts the stand-in when the input is good, so a missing marker below means nothing was cloned", func(ctx SpecContext) {
		marker := filepath.Join(GinkgoT().TempDir(), "started")
		_, err := spawn.Run(ctx, options(spawn.None, marker))
		Expect(err).NotTo(HaveOccurred())
		Expect(marker).To(BeAnExistingFile(), "the stand-in ran but left no marker")
	})

	DescribeTable("is refused by spawn.Run before anything is cloned, with a message that says what is wrong and what to do",
		func(ctx SpecContext, set spawn.Set, change func(*spawn.Options), phrases ...string) {
			marker := filepath.Join(GinkgoT().TempDir(), "started")
			opts := options(set, marker)
			change(&opts)
			res, err := spawn.Run(ctx, opts)
			Expect(err).To(HaveOccurred(), "bad input was accepted: %+v", res)
			msg := err.Error()
			Expect(msg).To(HavePrefix("spawn "+set.String()+": "), "the error does not name the set")
			Expect(msg).NotTo(ContainSubstring("clone probe"), "the input was refused only by the kernel")
			for _, p := range phrases {
				Expect(msg).To(ContainSubstring(p))
			}
			Expect(marker).NotTo(BeAnExistingFile(), "a child was started despite the bad input")
		},
		Entry("a hostname over 64 bytes", spawn.SetOf(spawn.UTS), func(o *spawn.Options) {
			o.Actions.Hostname = strings.Repeat("h", 65)
		}, "hostname", "is 65 bytes", "the kernel takes at most 64"),
		Entry("a domain name over 64 bytes", spawn.SetOf(spawn.UTS), func(o *spawn.Options) {
			o.Actions.Domainname = strings.Repeat("d", 100)
		}, "domainname", "is 100 bytes", "the kernel takes at most 64"),
		Entry("a link name over 15 bytes", spawn.SetOf(spawn.Net), func(o *spawn.Options) {
			o.Actions.MarkerLink = "nsv-much-too-long"
		}, `link name "nsv-much-too-long" is 17 bytes`, "the kernel takes at most 15"),
		Entry("time offsets without time", spawn.SetOf(spawn.UTS), func(o *spawn.Options) {
			o.Actions.MonotonicOffset = time.Hour
		}, "time offsets need the time kind", "the set is uts", "add time to the set"),
		Entry("a hostname without uts, which would rename the host", spawn.SetOf(spawn.Net), func(o *spawn.Options) {
			o.Actions.Hostname = "nsv-not-the-host"
		}, "needs the uts kind", "it would change the host's"),
		Entry("an overlapping uid map", spawn.SetOf(spawn.User), func(o *spawn.Options) {
			o.UIDMap = []spawn.IDMap{{Inside: 0, Outside: 0, Count: 10}, {Inside: 5, Outside: 100, Count: 10}}
		}, "uid map", "overlap inside the namespace", "make them disjoint"),
		Entry("a gid map overlapping outside", spawn.SetOf(spawn.User), func(o *spawn.Options) {
			o.GIDMap = []spawn.IDMap{{Inside: 0, Outside: 1000, Count: 10}, {Inside: 100, Outside: 1005, Count: 1}}
		}, "gid map", "overlap outside the namespace", "make them disjoint"),
		Entry("an out-of-range uid map", spawn.SetOf(spawn.User), func(o *spawn.Options) {
			o.UIDMap = []spawn.IDMap{{Inside: 0, Outside: math.MaxUint32 - 10, Count: 100}}
		}, "uid map", "goes past id 4294967294", "shorten it"),
		Entry("a uid map range of no ids", spawn.SetOf(spawn.User), func(o *spawn.Options) {
			o.UIDMap = []spawn.IDMap{{Inside: 0, Outside: 0, Count: 0}}
		}, "uid map", "has a count of 0", "every range maps at least one id"),
		Entry("id maps without user", spawn.SetOf(spawn.UTS), func(o *spawn.Options) {
			o.UIDMap = spawn.RootMap(0)
		}, "id maps given but the set uts has no user kind", "add user to the set"),
		Entry("no probe path", spawn.SetOf(spawn.UTS), func(o *spawn.Options) {
			o.Probe = ""
		}, "no probe path given", "build probes/cmd/nsprobe and pass its path"),
	)

	DescribeTable("is refused by spawn.ParseSet with a message that says what is wrong and what to do",
		func(input string, phrases ...string) {
			set, err := spawn.ParseSet(input)
			Expect(err).To(HaveOccurred(), "%q was parsed as %s", input, set)
			Expect(set).To(Equal(spawn.None))
			Expect(err.Error()).To(HavePrefix("parse set "), "the error does not say what failed")
			for _, p := range phrases {
				Expect(err.Error()).To(ContainSubstring(p))
			}
		},
		Entry("an unknown kind", "uts+bogus", `"bogus"`, "unknown namespace kind", "use one of uts"),
		Entry("a misspelt kind", "uts,ipx", `"ipx"`, "unknown namespace kind"),
		Entry("a duplicate kind", "uts+ipc+uts", `kind "uts" is given twice`, "name each kind once"),
		Entry("separators with no kind", "+,+", "no kind given", "use kinds such as uts+ipc"),
	)

	DescribeTable("is refused by spawn.ValidateIDMaps with a message that says what is wrong and what to do",
		func(maps []spawn.IDMap, phrases ...string) {
			err := spawn.ValidateIDMaps(maps)
			Expect(err).To(HaveOccurred(), "the map %v was accepted", maps)
			for _, p := range phrases {
				Expect(err.Error()).To(ContainSubstring(p))
			}
		},
		Entry("an empty map", []spawn.IDMap{}, "the map is empty", "give at least one range such as 0 0 1"),
		Entry("an overlapping map", []spawn.IDMap{{Inside: 0, Outside: 0, Count: 2}, {Inside: 1, Outside: 10, Count: 1}}, "overlap inside", "make them disjoint"),
		Entry("an out-of-range map", []spawn.IDMap{{Inside: math.MaxUint32 - 1, Outside: 0, Count: 2}}, "goes past id", "shorten it"),
	)

	DescribeTable("is refused by nsprobe itself with status 2 and a message that says what is wrong and what to do",
		func(ctx context.Context, args []string, phrases ...string) {
			cmd := exec.CommandContext(ctx, probePath, args...)
			cmd.Env = []string{}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			Expect(errors.As(err, &exit)).To(BeTrue(), "nsprobe %v did not fail: %v", args, err)
			Expect(exit.ExitCode()).To(Equal(2), "nsprobe %v: bad usage must exit 2; stderr: %s", args, stderr.String())
			Expect(stdout.String()).To(BeEmpty(), "nsprobe %v printed a report despite bad usage", args)
			for _, p := range phrases {
				Expect(stderr.String()).To(ContainSubstring(p))
			}
			Expect(stderr.String()).To(ContainSubstring("nothing was done; run nsprobe -h for the subcommands and flags"))
		},
		Entry("an IPC key of 0", []string{"-msgq", "0"}, "-msgq", "0 is IPC_PRIVATE", "give a non-zero key such as 4242"),
		Entry("an IPC key that is not a number", []string{"-msgq", "key"}, "-msgq", "not a 32-bit decimal integer"),
		Entry("an unknown flag", []string{"-bogus"}, "flag provided but not defined: -bogus"),
		Entry("an unknown subcommand", []string{"bogus"}, `unknown subcommand "bogus"`, "use one of ns"),
		Entry("a hostname over 64 bytes", []string{"-hostname", strings.Repeat("h", 65)}, "65 bytes; the kernel takes at most 64, so shorten it"),
		Entry("a time offset without -timens", []string{"-monotonic-offset", "1h"}, "-monotonic-offset is given without -timens", "so add -timens"),
	)

	It("leaves no stand-in running", func() {
		Expect(processesOf(fake)).To(BeEmpty())
	})
})
