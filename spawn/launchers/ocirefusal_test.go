package launchers

import (
	"testing"

	"github.com/nsverify/nsverify/spawn"
)

// TestStatesKindRefused runs the classifier on what runtimes printed: a
// kind is n/a only where the runtime names it and refuses it.
func TestStatesKindRefused(t *testing.T) {
	for _, c := range []struct {
		msg  string
		kind spawn.Kind
		want bool
	}{
		// runc 1.1.5, a config with a time namespace and a made-up one.
		{`runc run failed: namespace {"time" ""} does not exist`, spawn.Time, true},
		{`runc run failed: namespace {"bogus" ""} does not exist`, spawn.IPC, false},
		{`runc run failed: namespace {"ipcx" ""} does not exist`, spawn.IPC, false},
		// runc's validator, on a kernel without the kind.
		{"USER namespaces aren't enabled in the kernel", spawn.User, true},
		{"time namespaces aren't enabled in the kernel", spawn.Time, true},
		{"cgroup namespaces aren't enabled in the kernel", spawn.Cgroup, true},
		// crun 1.8.1, a made-up type and one it does not know.
		{"invalid namespace type: `bogus`", spawn.UTS, false},
		{"invalid namespace type: `time`", spawn.Time, true},
		{"invalid namespace type: `network`", spawn.Net, true},
		// Messages that refuse something else or name the kind without
		// refusing it: failures, not n/a.
		{"cgroups in hybrid mode not supported, drop all controllers from cgroupv2", spawn.Cgroup, false},
		{"runc run failed: spawn.User namespaces enabled, but no uid mappings found.", spawn.User, false},
		{"spawn.User namespace mappings specified, but USER namespace isn't enabled in the config", spawn.User, false},
		{`runc run failed: unable to start container process: error during container init: error mounting "x" to rootfs at "relative": mount x:relative (via /proc/self/fd/6): no such device`, spawn.IPC, false},
		{"write to sync socket: Broken pipe", spawn.Time, false},
		{"its container printed no report: decode probe report: EOF", spawn.Net, false},
		{"signal: killed, with nothing on stderr or stdout", spawn.UTS, false},
		{`invalid configuration: mount destination not absolute`, spawn.MNT, false},
		{"", spawn.PID, false},
	} {
		if got := statesKindRefused(c.msg, c.kind); got != c.want {
			t.Errorf("statesKindRefused(%q, %s) = %v, want %v", c.msg, c.kind, got, c.want)
		}
	}
}

// TestStatesMachineRefused: only a runtime's refusal of this machine makes
// the whole launcher n/a; a failed trial is a failure.
func TestStatesMachineRefused(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want bool
	}{
		{"cgroups in hybrid mode not supported, drop all controllers from cgroupv2", true},
		{`runc run failed: unable to start container process: exec: "/nsprobe": permission denied`, false},
		{"its container printed no report: decode probe report: EOF", false},
		{"exit status 1, with nothing on stderr or stdout", false},
	} {
		if got := statesMachineRefused(c.msg); got != c.want {
			t.Errorf("statesMachineRefused(%q) = %v, want %v", c.msg, got, c.want)
		}
	}
}

func TestRuntimeMessage(t *testing.T) {
	runc := `time="2026-12-02T02:02:44Z" level=error msg="runc run failed: namespace {\"time\" \"\"} does not exist"`
	if got := runtimeMessage("warning\n" + runc + "\n"); got != `runc run failed: namespace {"time" ""} does not exist` {
		t.Errorf("runc: %q", got)
	}
	if got := runtimeMessage("cgroups in hybrid mode not supported, drop all controllers from cgroupv2\n"); got != "cgroups in hybrid mode not supported, drop all controllers from cgroupv2" {
		t.Errorf("crun: %q", got)
	}
}
