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
//	lie-ns, lie-pid, lie-owners
//	           say the hello, run the real probe (FAKEPROBE_REAL) with the
//	           other arguments, and relay its report with its own pid, and
//	           one lie: the namespaces FAKEPROBE_HOST_NS names
//	           ("kind=dev:ino,…") as its own, a pid one above its own, or
//	           an error for the owners of its namespaces
//
// Whatever it is asked, if FAKEPROBE_MARKER names a path it first creates
// that file, so a spec can tell whether it was started at all.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
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
		sayHello()
		fmt.Printf("{\"schema\": %d, \"pid\": %d, \"ppid\": %d}\n", probes.Schema, os.Getpid(), os.Getppid())
	case "lie-ns", "lie-pid", "lie-owners":
		relay(mode)
	default:
		fmt.Fprintf(os.Stderr, "fakeprobe: unknown behaviour %q\n", mode)
		os.Exit(2)
	}
}

// sayHello does what nsprobe does with -hello-fd: one byte on descriptor
// 3, whose credentials the kernel adds, then a wait for the answer.
func sayHello() {
	if !slices.Contains(os.Args, "-"+probes.FlagHelloFD) {
		return
	}
	if err := syscall.Sendmsg(3, []byte{'h'}, nil, nil, 0); err != nil {
		fmt.Fprintf(os.Stderr, "fakeprobe: say hello: %v\n", err)
		os.Exit(1)
	}
	var answer [1]byte
	if _, err := syscall.Read(3, answer[:]); err != nil {
		fmt.Fprintf(os.Stderr, "fakeprobe: wait for the answer: %v\n", err)
		os.Exit(1)
	}
	syscall.Close(3)
}

// relay says the hello itself, so that the host reads this process, runs
// the real probe in the same namespaces for a report, and prints that
// report with this process's pids and the lie mode names.
func relay(mode string) {
	sayHello()
	var args []string
	for i := 2; i < len(os.Args); i++ {
		if os.Args[i] == "-"+probes.FlagHelloFD {
			i++
			continue
		}
		args = append(args, os.Args[i])
	}
	cmd := exec.Command(os.Getenv("FAKEPROBE_REAL"), args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakeprobe: run the real probe: %v\n", err)
		os.Exit(1)
	}
	var r probes.Report
	if err := json.Unmarshal(out, &r); err != nil {
		fmt.Fprintf(os.Stderr, "fakeprobe: read the real probe's report: %v\n", err)
		os.Exit(1)
	}
	// The relay's own pids, which the host reads: only the lie differs.
	r.PID, r.PPID = os.Getpid(), os.Getppid()
	if f, err := os.Open("/proc/self/status"); err == nil {
		r.NSpid, _ = probes.ParseNSpid(f)
		f.Close()
	}
	switch mode {
	case "lie-ns":
		ids, err := probes.ParseKindNSIDs(os.Getenv("FAKEPROBE_HOST_NS"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "fakeprobe: FAKEPROBE_HOST_NS: %v\n", err)
			os.Exit(2)
		}
		for _, id := range ids {
			r.NS[id.Kind] = id.ID
		}
	case "lie-pid":
		r.PID++
	case "lie-owners":
		r.Owners = nil
		if r.Errors == nil {
			r.Errors = map[string]string{}
		}
		r.Errors["owners"] = "ask who owns a namespace: inappropriate ioctl for device; this kernel predates NS_GET_USERNS and NS_GET_PARENT (Linux 4.9)"
	}
	if err := json.NewEncoder(os.Stdout).Encode(&r); err != nil {
		os.Exit(1)
	}
}
