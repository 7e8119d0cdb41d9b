package spawn

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nsverify/nsverify/probes"
)

// envLauncher is a launcher of the plainest program: env, which makes no
// namespace and execs the probe with the descriptors it was given. It
// records what Run asked of it.
type envLauncher struct {
	path string
	// cannot, when not empty, is why it expresses nothing.
	cannot string
	// fail, when not nil, is what Command returns.
	fail error
	// commands and done count the calls of Command and of its Done.
	commands, done int
}

func (l *envLauncher) Name() string { return "env" }

func (l *envLauncher) Expresses(Options) (bool, string) { return l.cannot == "", l.cannot }

func (l *envLauncher) Command(opts Options, args []string) (*Command, error) {
	l.commands++
	if l.fail != nil {
		return nil, l.fail
	}
	return &Command{Argv: append([]string{l.path, opts.Probe}, args...), Done: func() { l.done++ }}, nil
}

func newEnvLauncher(t *testing.T) *envLauncher {
	t.Helper()
	path, err := exec.LookPath("env")
	if err != nil {
		t.Skipf("no env program: %v", err)
	}
	return &envLauncher{path: path}
}

// TestRunThroughALauncher: Run starts the command a launcher gives, hands
// the probe the hello socket through it, names the launcher in the result
// and removes what the command needed, once.
func TestRunThroughALauncher(t *testing.T) {
	l := newEnvLauncher(t)
	var held int
	res, err := runChild(t, context.Background(), Options{Probe: probePath, Set: None, Launcher: l, WhileHeld: func(pid int) { held = pid }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Launcher != "env" || res.Report == nil {
		t.Errorf("result names launcher %q, report %v", res.Launcher, res.Report)
	}
	// env execs the probe: the pid Run started is the probe's, and the
	// hello came from it.
	if res.HostPID != res.PID || held != res.PID || res.Report.PID != res.PID {
		t.Errorf("started pid %d, hello from %d, held %d, probe says %d; want one pid", res.PID, res.HostPID, held, res.Report.PID)
	}
	if len(res.Args) < 2 || res.Args[0] != l.path || res.Args[1] != probePath || !slices.Contains(res.Args, "-"+probes.FlagHelloFD) {
		t.Errorf("args %q: want the launcher's command, with the probe told of its hello", res.Args)
	}
	if l.commands != 1 || l.done != 1 {
		t.Errorf("Command called %d times, Done %d; want once each", l.commands, l.done)
	}
}

// TestRunAsksTheLauncherFirst: a set the launcher cannot express is a
// *NotExpressibleError with its reason, and its Command is never asked; a
// *TrialError from Command fails the kind it names; a launcher named
// BuiltinLauncher is the built-in clone, asked nothing.
func TestRunAsksTheLauncherFirst(t *testing.T) {
	l := newEnvLauncher(t)
	l.cannot = "env makes no namespace"
	_, err := Run(context.Background(), Options{Probe: probePath, Set: SetOf(UTS), Launcher: l})
	var ne *NotExpressibleError
	if !errors.As(err, &ne) || !errors.Is(err, ErrNotExpressible) || ne.Launcher != "env" || ne.Reason != l.cannot || l.commands != 0 {
		t.Errorf("a set env cannot express: %v, Command called %d times", err, l.commands)
	}

	l = newEnvLauncher(t)
	l.fail = &TrialError{Launcher: "env", Kind: IPC, Reason: "its trial printed no report"}
	_, err = Run(context.Background(), Options{Probe: probePath, Set: None, Launcher: l})
	var e *Error
	var te *TrialError
	if !errors.As(err, &e) || e.Kind != IPC || !errors.As(err, &te) || !strings.Contains(err.Error(), "prepare env") {
		t.Errorf("a failed trial: %v; want an *Error of kind ipc wrapping the *TrialError", err)
	}

	l = newEnvLauncher(t)
	l.fail = errors.New("no bundle")
	if _, err = Run(context.Background(), Options{Probe: probePath, Set: None, Launcher: l}); !errors.As(err, &e) || e.Kind != "" || !strings.Contains(err.Error(), "no bundle") {
		t.Errorf("a failed command: %v; want an *Error of no kind", err)
	}

	res, err := runChild(t, context.Background(), Options{Probe: probePath, Set: None, Launcher: builtinNamed{}})
	if err != nil || res.Launcher != BuiltinLauncher {
		t.Errorf("a launcher named %q: %+v, %v; want the built-in clone", BuiltinLauncher, res, err)
	}
}

// builtinNamed is a launcher named as the built-in one: any use of it
// but its name fails the test run.
type builtinNamed struct{}

func (builtinNamed) Name() string { return BuiltinLauncher }

func (builtinNamed) Expresses(Options) (bool, string) {
	panic("the built-in launcher was asked what it expresses")
}

func (builtinNamed) Command(Options, []string) (*Command, error) {
	panic("the built-in launcher was asked for a command")
}
