//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

func TestConfineFlagsRejectBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-nest", "net=3"},
		{"-nest", "user=0"},
		{"-nest", "user=65"},
		{"-nest", "user"},
		{"-remove-msgq", "0"},
		{"-signal-pid", "0"},
		{"-try-link", "a/b"},
		{"-try-hostname", strings.Repeat("h", 65)},
		{"-timens", "-try-setgroups"},
	} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("parseArgs(%q) succeeded, want a usage error", args)
		}
	}
}

func TestTryActionsAreNotTriedOnNamespacesTheProbeOwns(t *testing.T) {
	// Where the test's namespaces belong to its own user namespace, the
	// kernel might allow the attempts: the probe must not try. Where they
	// belong to one above it (the test runs in a user namespace of its
	// own), the probe tries and the kernel must refuse.
	p := spawn.ReadPrivilege()
	rep := runReport(t, nil, "pid", "-try-hostname", "nsprobe-never", "-try-link", "nsvnever0", "-try-mount-proc").report
	for _, c := range []struct {
		name string
		kind spawn.Kind
	}{{"sethostname", spawn.UTS}, {"add link", spawn.Net}, {"mount proc", spawn.MNT}} {
		a := rep.Confine.Attempts[c.name]
		// Ownership, not capability, decides: an ordinary user in the
		// initial user namespace owns its namespaces without a capability
		// in them, and the probe does not try there either.
		owned := false
		for _, o := range p.Owners {
			if o.Kind == c.kind {
				owned = o.Held
			}
		}
		switch {
		case owned && a.Result != probes.NotTried:
			t.Errorf("%s in the test's own namespaces, which its user namespace owns: %+v, want not tried", c.name, a)
		case !owned && a.Result != "EPERM":
			t.Errorf("%s in the test's own namespaces, owned above its user namespace: %+v, want EPERM", c.name, a)
		}
	}
}

func TestSetnsHostRefusesEveryJoinAndAllowsTheControls(t *testing.T) {
	requireNS(t, "user")
	rep := runReport(t, nil, "pid", "-setns-host").report
	for _, k := range setnsKinds {
		if _, err := probes.StatNSID("/proc/self/ns/" + k.name); err != nil {
			continue
		}
		if a := rep.Confine.Attempts["setns "+k.name]; a.Result != "EPERM" {
			t.Errorf("setns %s: %+v, want EPERM", k.name, a)
		}
		if a, ok := rep.Confine.Attempts["setns own "+k.name]; k.control && (!ok || a.Result != probes.Allowed) {
			t.Errorf("setns own %s: %+v, want allowed", k.name, a)
		}
	}
}

func TestNestMakesTheDepthAsked(t *testing.T) {
	requireNS(t, "user")
	for _, kind := range []string{"user"} {
		rep := runReport(t, nil, "pid", "-nest", kind+"=3").report
		if n := rep.Confine.Nest; n == nil || n.Created != 4 || n.Next != "" {
			t.Errorf("nest %s=3: %+v, errors %v; want 4 created (3 and the one more), none refused", kind, n, rep.Errors)
		}
	}
}

func TestRewriteUIDMapIsRefused(t *testing.T) {
	rep := runReport(t, nil, "pid", "-rewrite-uid-map").report
	if a := rep.Confine.Attempts["rewrite uid_map"]; a.Result != "EPERM" {
		t.Errorf("rewrite uid_map: %+v, want EPERM", a)
	}
}
