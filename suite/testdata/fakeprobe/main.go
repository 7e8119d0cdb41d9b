// Command fakeprobe stands in for nsprobe in the specs that check how the
// suite copes with a probe that misbehaves. Its first argument (the
// subcommand spawn passes on) chooses how it misbehaves:
//
//	hang       print its pid on stderr, then sleep for an hour
//	hang-fork  start a copy of itself that hangs, print both pids, then hang
//	crash      panic
//	segv       send itself SIGSEGV
//	exit3      print a message on stderr and exit 3
//	badjson    print something that is not JSON
//	nothing    print nothing and exit 0
//	two        print two JSON objects
//	ok         print a valid report
//
// Whatever it is asked, if FAKEPROBE_MARKER names a path it first creates
// that file, so a spec can tell whether it was started at all.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/nsverify/nsverify/probes"
)

func main() {
	if marker := os.Getenv("FAKEPROBE_MARKER"); marker != "" {
		if f, err := os.OpenFile(marker, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "hang":
		fmt.Fprintf(os.Stderr, "fakeprobe: pid %d hanging\n", os.Getpid())
		time.Sleep(time.Hour)
	case "hang-fork":
		// The grandchild stays in this process group and has no parent
		// death signal: only a kill of the whole group ends it.
		child := exec.Command("/proc/self/exe", "hang")
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "fakeprobe: start grandchild: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "fakeprobe: pid %d hanging with grandchild pid %d\n", os.Getpid(), child.Process.Pid)
		time.Sleep(time.Hour)
	case "crash":
		panic("fakeprobe: crashing on purpose")
	case "segv":
		_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
		time.Sleep(time.Hour)
	case "exit3":
		fmt.Fprintln(os.Stderr, "fakeprobe: giving up with status 3")
		os.Exit(3)
	case "badjson":
		fmt.Printf("{\"schema\": %d, \"pid\": \n", probes.Schema)
	case "nothing":
	case "two":
		fmt.Printf("{\"schema\": %d}\n", probes.Schema)
		fmt.Printf("{\"schema\": %d}\n", probes.Schema)
	case "ok":
		fmt.Printf("{\"schema\": %d, \"pid\": %d, \"ppid\": %d}\n", probes.Schema, os.Getpid(), os.Getppid())
	default:
		fmt.Fprintf(os.Stderr, "fakeprobe: unknown behaviour %q\n", mode)
		os.Exit(2)
	}
}
