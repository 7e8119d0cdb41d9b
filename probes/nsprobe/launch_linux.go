//go:build linux

package nsprobe

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/nsverify/nsverify/probes"
)

// launchStaged starts the observer from a single-threaded stage that
// joins the namespaces -join and -join-pidfd name, then makes the time
// namespace -timens asks for, and relays the observer's report with what
// the launcher knows of it. It returns the exit code.
//
// The observer's report comes back through this process, which adds the
// observer's pid here, how many threads the stage had, and the kinds it
// joined. If a join fails, no observer starts and the probe fails: a report
// from here would describe namespaces nobody asked about. If only the time
// namespace cannot be made, this process observes in place and says why
// under clock.
func launchStaged(cfg *config, stdout, stderr io.Writer) int {
	// Pdeathsig of the stage follows the thread that forks it.
	runtime.LockOSThread()
	joining := cfg.joining()
	fallback := func(err error) int {
		if joining {
			fmt.Fprintf(stderr, "nsprobe: %v; no observer started\n", err)
			return 1
		}
		return observeInPlace(cfg, stdout, stderr, err)
	}
	lead, _ := commandLine()
	args := append(lead, cfg.observerArgs()...)
	if cfg.timens {
		from, err := probes.StatNSID("/proc/self/ns/time")
		if err != nil {
			return fallback(err)
		}
		args = append(args, "-"+probes.FlagTimensFrom+"="+from.String())
	}
	plan, err := newStagePlan(args, os.Environ())
	if err != nil {
		return fallback(err)
	}
	defer plan.close()
	joined, release, err := addJoinSteps(plan, cfg)
	if err != nil {
		return fallback(err)
	}
	defer release()
	if cfg.timens {
		if err := addTimensSteps(plan, cfg); err != nil {
			return fallback(err)
		}
	}
	out, err := runStage(plan)
	if err != nil {
		fmt.Fprintf(stderr, "nsprobe: %v\n", err)
		return 1
	}
	switch {
	case out.notStarted != nil:
		return fallback(out.notStarted)
	case out.code != 0:
		// The observer said what went wrong on stderr; pass on what it
		// printed, if anything.
		_, _ = stdout.Write(out.raw)
		return out.code
	}
	out.report.Launcher.Joined = joined
	return emit(stdout, stderr, out.report)
}

// staged reports whether the probe must observe from a stage.
func (cfg *config) staged() bool { return cfg.timens || cfg.joining() }
