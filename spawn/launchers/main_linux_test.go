package launchers

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/nsverify/nsverify/internal/testbuild"
	"github.com/nsverify/nsverify/internal/testreq"
	"github.com/nsverify/nsverify/spawn"
)

// probePath is the nsprobe binary built once for these tests.
var probePath string

func TestMain(m *testing.M) {
	var err error
	if probePath, err = testbuild.Static(context.Background(), testbuild.Probe); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Every test that starts a child asks the preflight first (runChild):
	// a set this machine cannot make skips with its reason and remedy.
	testreq.UsePreflight(func(flags uintptr) (bool, string) { return spawn.Detect(probePath).Supports(setOfFlags(flags)) })
	code := m.Run()
	if err := testbuild.Remove(probePath); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// setOfFlags is the set whose clone flags flags holds.
func setOfFlags(flags uintptr) spawn.Set {
	var set spawn.Set
	for _, k := range spawn.All.Kinds() {
		if f := k.CloneFlag(); f != 0 && flags&f == f {
			set = set.With(k)
		}
	}
	return set
}

// runChild runs spawn.Run for a test, once the preflight says this machine
// can make opts.Set (testreq.Clone), and skips the test with the
// preflight's reason otherwise. Only a test that proves a refusal calls
// spawn.Run itself, and says why.
func runChild(t testing.TB, ctx context.Context, opts spawn.Options) (*spawn.Result, error) {
	t.Helper()
	testreq.Clone(t, opts.Set.CloneFlags())
	return spawn.Run(ctx, opts)
}

// requireRoot skips a test that creates namespaces other than user outside
// a new user namespace where this process lacks CAP_SYS_ADMIN over its own.
func requireRoot(t testing.TB) {
	t.Helper()
	if ok, reason := spawn.ReadPrivilege().CanCreate(spawn.All.Without(spawn.User)); !ok {
		t.Skip(reason)
	}
}
