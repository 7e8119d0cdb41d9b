package spawn

import (
	"os"
	"syscall"
	"testing"

	"github.com/nsverify/nsverify/internal/testreq"
)

// requireIdentityMaps skips t unless it may re-execute itself in a user
// namespace mapping every id to itself.
func requireIdentityMaps(t testing.TB) {
	t.Helper()
	testreq.Require(t)(ReadPrivilege().CanMapIDs(identityMap(), identityMap()))
}

// TestReadPrivilegeSeesWhoOwnsEachNamespace reads the privilege as root in
// the initial user namespace, then in a re-executed child that is root in a
// user namespace mapping every id to itself and shares every other
// namespace with the host (it must hold nothing over them), and in one that
// also has a network namespace of its own (which it must hold).
func TestReadPrivilegeSeesWhoOwnsEachNamespace(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "privilege-shared":
		checkPrivilegeInUserNS(t, false)
		return
	case "privilege-own-net":
		checkPrivilegeInUserNS(t, true)
		return
	}
	requireIdentityMaps(t)
	requireKind(t, User)
	p := readMachine().Privilege
	if !p.InitialUserNS {
		t.Skipf("this test runs in a user namespace other than the initial one (%s), so it cannot tell what root there holds", p.UserNS)
	}
	for _, o := range p.Owners {
		if !o.Held || o.Owner != p.UserNS {
			t.Errorf("%s: root in the initial user namespace does not own it: %+v", o.Kind, o)
		}
	}
	if len(p.Changeable()) != len(p.Owners) {
		t.Errorf("root in the initial user namespace may change only %v", p.Changeable())
	}
	identity := func(flags uintptr) *syscall.SysProcAttr {
		return &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER | flags,
			UidMappings: toSysProcIDMaps(identityMap()), GidMappings: toSysProcIDMaps(identityMap()),
			GidMappingsEnableSetgroups: true,
		}
	}
	t.Log(reexec(t, "privilege-shared", identity(0)))
	t.Log(reexec(t, "privilege-own-net", identity(syscall.CLONE_NEWNET)))
}

func checkPrivilegeInUserNS(t *testing.T, ownNet bool) {
	p := readMachine().Privilege
	t.Logf("%+v", p)
	if p.InitialUserNS || p.EUID != 0 || !p.Has(CapSysAdmin) || !p.Has(CapNetAdmin) {
		t.Errorf("in a user namespace of its own: %s", p.Who())
	}
	for _, o := range p.Owners {
		want := ownNet && o.Kind == Net
		if o.Held != want || o.Error != "" {
			t.Errorf("%s: held %v (owner %q, error %q), want %v", o.Kind, o.Held, o.Owner, o.Error, want)
		}
		if want && o.Owner != p.UserNS {
			t.Errorf("%s: owner %s, want this process's user namespace %s", o.Kind, o.Owner, p.UserNS)
		}
	}
	if ok, reason := p.CanCreate(SetOf(UTS, Net)); !ok {
		t.Errorf("root in a user namespace of its own may not create namespaces: %s", reason)
	}
	if ok, reason := p.NeedOver(Net, CapNetAdmin, "add a link"); ok != ownNet {
		t.Errorf("NeedOver(net) = %v, %s", ok, reason)
	}
	shifted := []IDMap{{Inside: 0, Outside: 100000, Count: 65536}}
	if ok, reason := p.CanMapIDs(shifted, shifted); !ok {
		t.Errorf("a user namespace mapping every id may not map 100000-165535: %s", reason)
	}
	t.Log(childDone(os.Getenv(childEnv)))
}
