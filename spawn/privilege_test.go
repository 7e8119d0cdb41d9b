package spawn

import (
	"bytes"
	"strings"
	"testing"
)

// userNSRoot is uid 0 with every capability in a user namespace of its own
// that maps only uid and gid 0 (as `unshare --user --map-root-user` makes
// it), sharing every other namespace with the host.
func userNSRoot() Privilege {
	p := rootPrivilege()
	p.InitialUserNS = false
	p.UIDMap, p.GIDMap = RootMap(0), RootMap(0)
	for i := range p.Owners {
		p.Owners[i] = Ownership{Kind: p.Owners[i].Kind}
	}
	return p
}

func TestPrivilegeCountsCapabilitiesOnlyOverOwnedNamespaces(t *testing.T) {
	root, inner := rootPrivilege(), userNSRoot()
	for _, k := range []Kind{UTS, Net, MNT, Cgroup} {
		if !root.CanChange(k) {
			t.Errorf("root in the initial user namespace may not change %s", k)
		}
		if inner.CanChange(k) {
			t.Errorf("root in a user namespace of its own may change the host's %s", k)
		}
	}
	if ok, reason := inner.CanCreate(SetOf(UTS, Net)); !ok {
		t.Errorf("root in a user namespace of its own may not create namespaces: %s", reason)
	}
	ok, reason := inner.NeedOver(Net, CapNetAdmin, "add a marker link")
	want := "needs CAP_NET_ADMIN over the host's net namespace to add a marker link, and this process (uid 0 in a user namespace other than the initial one, with CAP_SYS_ADMIN) lacks it: that namespace is owned by a user namespace above this process's own, so it holds no capability there; run as root in the initial user namespace (sudo)"
	if ok || !strings.HasPrefix(reason, want) {
		t.Errorf("NeedOver(net) = %v, %q; want false, %q…", ok, reason, want)
	}

	// Its own network namespace, made in its user namespace, it may change.
	inner.Owners[4] = Ownership{Kind: Net, Owner: "4:4026532000", Held: true}
	if ok, reason := inner.NeedOver(Net, CapNetAdmin, "add a marker link"); !ok {
		t.Errorf("root over a network namespace its user namespace owns: %s", reason)
	}

	// Owning the namespace is not enough without the capability.
	root.CapEff &^= 1 << CapNetAdmin
	if ok, reason := root.NeedOver(Net, CapNetAdmin, "add a marker link"); ok || !strings.Contains(reason, "CAP_NET_ADMIN is not in its effective set") {
		t.Errorf("NeedOver without CAP_NET_ADMIN = %v, %q", ok, reason)
	}
	nobody := Privilege{EUID: 65534, InitialUserNS: true, Owners: rootPrivilege().Owners}
	if ok, reason := nobody.CanCreate(SetOf(UTS)); ok || !strings.HasPrefix(reason, "needs CAP_SYS_ADMIN over its own user namespace: creating namespaces other than user") {
		t.Errorf("CanCreate as nobody = %v, %q", ok, reason)
	}
}

func TestPrivilegeMapsOnlyIDsItHas(t *testing.T) {
	shifted := []IDMap{{Inside: 0, Outside: 100000, Count: 65536}}
	root, inner := rootPrivilege(), userNSRoot()
	if ok, reason := root.CanMapIDs(shifted, shifted); !ok {
		t.Errorf("root in the initial user namespace may not map 100000-165535: %s", reason)
	}
	ok, reason := inner.CanMapIDs(shifted, shifted)
	want := `needs CAP_SETUID over a user namespace that maps uids 100000-165535, to map them into a new one, and this process's user namespace maps only 0 (uid_map "0 0 1")`
	if ok || !strings.HasPrefix(reason, want) {
		t.Errorf("CanMapIDs in a user namespace mapping only 0 = %v, %q; want %q…", ok, reason, want)
	}
	if ok, reason := inner.CanMapIDs(RootMap(0), RootMap(0)); !ok {
		t.Errorf("mapping its own 0 again: %s", reason)
	}
	nobody := Privilege{EUID: 65534, InitialUserNS: true, UIDMap: identityMap(), GIDMap: identityMap()}
	if ok, reason := nobody.CanMapIDs(shifted, shifted); ok || !strings.HasPrefix(reason, "needs CAP_SETUID over its own user namespace") {
		t.Errorf("CanMapIDs as nobody = %v, %q", ok, reason)
	}
	split := []IDMap{{Inside: 0, Outside: 0, Count: 100050}, {Inside: 100050, Outside: 100050, Count: 70000}}
	if !covers(split, 100000, 65536) || covers(split[:1], 100000, 65536) {
		t.Error("covers does not join adjacent ranges, or joins a gap")
	}
}

func TestPrivilegeCgroup(t *testing.T) {
	p := rootPrivilege()
	if ok, reason := p.CanMakeCgroup(); ok || !strings.Contains(reason, "found none") {
		t.Errorf("CanMakeCgroup without a cgroup v2 directory = %v, %q", ok, reason)
	}
	p.CgroupDir = "/sys/fs/cgroup/user.slice"
	if ok, reason := p.CanMakeCgroup(); ok || !strings.Contains(reason, "needs write access to its cgroup v2 directory /sys/fs/cgroup/user.slice") {
		t.Errorf("CanMakeCgroup without write access = %v, %q", ok, reason)
	}
	p.CgroupWritable = true
	if ok, reason := p.CanMakeCgroup(); !ok {
		t.Error(reason)
	}
}

func TestWriteTableSaysWhoRunsIt(t *testing.T) {
	f := centos7Features()
	f.Privilege = userNSRoot()
	var out bytes.Buffer
	if err := f.WriteTable(&out, false); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", &out)
	for _, want := range []string{
		"  runs as           uid 0 in a user namespace of its own (not the initial one), holding CAP_SYS_ADMIN",
		"  can change        none of the host's namespaces\n",
		"  can create        namespaces of every kind, owned by its user namespace (CAP_SYS_ADMIN over it)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table does not say %q", want)
		}
	}
}
