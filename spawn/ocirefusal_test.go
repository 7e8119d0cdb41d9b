package spawn

import "testing"

// TestStatesKindRefused runs the classifier on what runtimes printed: a
// kind is n/a only where the runtime names it and refuses it.
func TestStatesKindRefused(t *testing.T) {
	for _, c := range []struct {
		msg  string
		kind Kind
		want bool
	}{
		// runc 1.1.5, a config with a time namespace and a made-up one.
		{`runc run failed: namespace {"time" ""} does not exist`, Time, true},
		{`runc run failed: namespace {"bogus" ""} does not exist`, IPC, false},
		{`runc run failed: namespace {"ipcx" ""} does not exist`, IPC, false},
		// runc's validator, on a kernel without the kind.
		{"USER namespaces aren't enabled in the kernel", User, true},
		{"time namespaces aren't enabled in the kernel", Time, true},
		{"cgroup namespaces aren't enabled in the kernel", Cgroup, true},
		// crun 1.8.1, a made-up type and one it does not know.
		{"invalid namespace type: `bogus`", UTS, false},
		{"invalid namespace type: `time`", Time, true},
		{"invalid namespace type: `network`", Net, true},
		// Messages that refuse something else or name the kind without
		// refusing it: failures, not n/a.
		{"cgroups in hybrid mode not supported, drop all controllers from cgroupv2", Cgroup, false},
		{"runc run failed: User namespaces enabled, but no uid mappings found.", User, false},
		{"User namespace mappings specified, but USER namespace isn't enabled in the config", User, false},
		{`runc run failed: unable to start container process: error during container init: error mounting "x" to rootfs at "relative": mount x:relative (via /proc/self/fd/6): no such device`, IPC, false},
		{"write to sync socket: Broken pipe", Time, false},
		{"its container printed no report: decode probe report: EOF", Net, false},
		{"signal: killed, with nothing on stderr or stdout", UTS, false},
		{`invalid configuration: mount destination not absolute`, MNT, false},
		{"", PID, false},
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
