//go:build linux

package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/internal/kindcheck"
	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// Root in a user namespace that maps every id to itself and shares every
// other namespace with the host (a rootless container with host
// networking, `unshare --user` with a full map) holds every capability
// over that user namespace and none over the host's network, IPC, UTS,
// mount, pid, cgroup or time namespaces, which it does not own. The specs
// below start this suite binary there, as such a root, and it does there
// what a suite run there does: spawn's preflight and the bare unshare(2)
// cross-check, the host baseline, and, for a few sets per kind, a child
// started with the actions that prove each kind, judged by the suite's own
// oracles against that baseline (RunChild and ExpectKind, as the kind files
// and the matrix run them). It reports all of it as JSON and exits; the
// specs judge the report here, kind by kind, beside the host's own view.
//
// Only the decisions a suite there takes differently are taken there:
// what it may create, whose namespaces it may change (and the reasons its
// specs skip with), which user namespace owns what its children make, and
// the oracles' branches that follow from it (a child in mnt without pid is
// refused a /proc mount, since the host's pid namespace is not its
// user namespace's). The rest of the suite decides nothing on that, and is
// not run again.

// rootThereEnv makes the suite binary act as that root instead of running
// the suite: it reads a rootThereRequest on stdin, writes a rootThereReport
// on stdout and exits.
const rootThereEnv = "NSVERIFY_ROOT_IN_SHARED_USERNS"

func init() {
	if os.Getenv(rootThereEnv) == "" {
		return
	}
	report, err := actAsRootThere(os.Stdin)
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(report)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "as root in a user namespace sharing the host's others:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// rootThereRequest is what the suite hands root there: the probe, the
// host's marker queue and link (made here, where root may make them), and
// the sets to start a child in, each with the markers its actions use,
// chosen here so that this side removes whatever a dropped clone flag
// would leave on the host.
type rootThereRequest struct {
	Probe        string         `json:"probe"`
	HostQueueKey int32          `json:"host_queue_key"`
	HostLink     string         `json:"host_link,omitempty"`
	Sets         []rootThereSet `json:"sets"`
}

type rootThereSet struct {
	Set     string  `json:"set"`
	Markers Markers `json:"markers"`
}

// rootThereReport is what root there found.
type rootThereReport struct {
	// Features is spawn's preflight there, and Summary its heading line.
	Features *spawn.Features `json:"features"`
	Summary  string          `json:"summary"`
	// CrossCheck lists where spawn's detection and a bare unshare(2)
	// disagree there (crossCheckKinds): each would fail a suite run there.
	CrossCheck []string `json:"cross_check,omitempty"`
	// Host is the suite's baseline of the host as root there reads it.
	Host *Host `json:"host"`
	// NoHostLink is why root there may not add the host's marker link, as
	// TryHostLink would say; empty if it may.
	NoHostLink string             `json:"no_host_link,omitempty"`
	Sets       []rootThereOutcome `json:"sets"`
}

// rootThereOutcome is one child's: not started, with the preflight's
// reason, or judged, with the first failure of an oracle (empty when every
// kind passed), the namespaces the host read of it, and the report entries
// a spec would have attached.
type rootThereOutcome struct {
	Set     string                 `json:"set"`
	NotRun  string                 `json:"not_run,omitempty"`
	Failure string                 `json:"failure,omitempty"`
	NS      map[string]probes.NSID `json:"ns,omitempty"`
	Entries []rootThereReportEntry `json:"entries,omitempty"`
}

type rootThereReportEntry struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// oracleFailure is the panic that ends one child's judgement at its first
// failed assertion, as a failure ends a spec.
type oracleFailure string

// actAsRootThere does what a suite run as root there does, for the sets
// of the request read from r: the suite's own setup, then each set as the
// kind files judge one. It runs outside Ginkgo, as the matrix benchmark
// does: assertions fail the set they judge, cleanups run after it.
func actAsRootThere(r io.Reader) (*rootThereReport, error) {
	var req rootThereRequest
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		return nil, fmt.Errorf("read request: %w", err)
	}
	ctx := context.Background()
	probePath = req.Probe
	features = spawn.Detect(probePath)
	if features.Error != "" {
		return nil, fmt.Errorf("detect what root here may create: %s", features.Error)
	}
	report := &rootThereReport{Features: features, Summary: preflightSummary(features)}
	kinds, err := kindcheck.Check(ctx)
	if err != nil {
		return nil, fmt.Errorf("check what root here may create without spawn: %w", err)
	}
	report.CrossCheck = crossCheckKinds(features, kinds)
	if host, err = ReadHost(probePath); err != nil {
		return nil, err
	}
	report.Host = host
	if ok, reason := canAddHostLink(); !ok {
		report.NoHostLink = reason
	}
	// Markers root here can read but not make: the host's.
	sharedMarkers = Markers{HostQueueKey: req.HostQueueKey, HostLink: req.HostLink}
	// Every child starts in the cgroup this process runs in, the suite's
	// (inherited): named here, the cgroup kind is judged by what the child
	// sees, and nothing makes a cgroup.
	suiteCgroup, _ = ownCgroup2Path()
	RegisterFailHandler(func(message string, _ ...int) { panic(oracleFailure(message)) })
	for _, s := range req.Sets {
		set, err := spawn.ParseSet(s.Set)
		if err != nil {
			return nil, err
		}
		report.Sets = append(report.Sets, judgeAsRootThere(ctx, set, s.Markers))
	}
	return report, nil
}

// judgeAsRootThere starts a child in set with the actions that prove each
// of its kinds, reads the host around it, and judges every kind on it with
// the suite's oracles, as the files of the kinds do. A set the preflight
// says root here cannot make is not started: the reason is what a spec
// there would skip with.
func judgeAsRootThere(ctx context.Context, set spawn.Set, m Markers) (out rootThereOutcome) {
	out.Set = set.String()
	if ok, reason := features.Supports(set); !ok {
		out.NotRun = reason
		return out
	}
	var cleanups []func()
	deferCleanup = func(f func()) { cleanups = append(cleanups, f) }
	addReportEntry = func(name string, value any) {
		data, err := json.Marshal(value)
		if err != nil {
			data, _ = json.Marshal("encode the entry: " + err.Error())
		}
		out.Entries = append(out.Entries, rootThereReportEntry{name, data})
	}
	out.Failure = failureOf(func() {
		m.HostQueueKey, m.HostLink = sharedMarkers.HostQueueKey, sharedMarkers.HostLink
		opts := PlanFor(set, m)
		hostPath := childCgroup(&opts)
		c := RunChild(ctx, opts, m)
		c.CgroupHostPath = hostPath
		out.NS = c.Result.Outside.NS
		for _, k := range spawn.All.Kinds() {
			if !features.Present[k] {
				notChecked(k)
				continue
			}
			ExpectKind(c, k)
		}
	})
	for i := len(cleanups) - 1; i >= 0; i-- {
		if failure := failureOf(cleanups[i]); failure != "" && out.Failure == "" {
			out.Failure = failure
		}
	}
	return out
}

// failureOf runs f and returns the message of the assertion that failed in
// it, or of its panic; empty when f returned.
func failureOf(f func()) (failure string) {
	defer func() {
		switch r := recover().(type) {
		case nil:
		case oracleFailure:
			failure = string(r)
		default:
			failure = fmt.Sprintf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	f()
	return ""
}

// rootThere starts this suite binary as uid 0 in a new user namespace that
// maps every id to itself and shares every other namespace with this
// process, hands it the sets, and returns what it found. It must end
// within nestedRunTimeout, as a nested suite run must: its process group is
// killed at the deadline, and its children die with it.
func rootThere(ctx context.Context, sets []spawn.Set) *rootThereReport {
	GinkgoHelper()
	req := rootThereRequest{Probe: probePath, HostQueueKey: sharedMarkers.HostQueueKey, HostLink: sharedMarkers.HostLink}
	for _, set := range sets {
		m := NewMarkers()
		// Had a clone flag been dropped, the child's queue, link or
		// hostname would be the host's: removed here, where root may.
		undoIfLeaked(PlanFor(set, m))
		req.Sets = append(req.Sets, rootThereSet{Set: set.String(), Markers: m})
	}
	in, err := json.Marshal(req)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithTimeout(ctx, nestedRunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), rootThereEnv+"=1")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	identity := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: math.MaxUint32}}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: identity, GidMappings: identity, GidMappingsEnableSetgroups: true,
		Pdeathsig: syscall.SIGKILL, Setpgid: true,
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = nestedRunGrace
	out, err := cmd.Output()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		Fail("root in the user namespace did not finish within " + nestedRunTimeout.String() + "; its process group was killed:\n" + stderr.String())
	}
	Expect(err).NotTo(HaveOccurred(), "start this suite as root in a user namespace that shares the host's other namespaces:\n%s", stderr.String())
	var report rootThereReport
	Expect(json.Unmarshal(out, &report)).To(Succeed(), "read what root in the user namespace found: %s", out)
	return &report
}

// outcome returns the outcome of set in r, failing the spec if there is none.
func (r *rootThereReport) outcome(set spawn.Set) rootThereOutcome {
	GinkgoHelper()
	for _, o := range r.Sets {
		if o.Set == set.String() {
			return o
		}
	}
	Fail(fmt.Sprintf("root in the user namespace reports nothing of the child in %s", set))
	return rootThereOutcome{}
}

// sharedRootSets are the children root there starts for kind k: one whose
// namespace of k its own user namespace owns, and one with a user
// namespace of its own as well (for pid, also one that mounts a /proc for
// its own pid namespace).
func sharedRootSets(k spawn.Kind) []spawn.Set {
	switch k {
	case spawn.User:
		return []spawn.Set{spawn.SetOf(spawn.User)}
	case spawn.PID:
		return []spawn.Set{spawn.SetOf(spawn.PID), spawn.SetOf(spawn.PID, spawn.User), spawn.SetOf(spawn.PID, spawn.MNT)}
	}
	return []spawn.Set{spawn.SetOf(k), spawn.SetOf(k, spawn.User)}
}

// hostChange is, for each kind but user, what changing the host's
// namespace of it takes (capabilities(7), user_namespaces(7)), and a change
// that a spec of the suite would make there, in the words of its skip.
var hostChange = map[spawn.Kind]struct {
	cap  spawn.Capability
	what string
}{
	spawn.UTS:    {spawn.CapSysAdmin, "set its hostname"},
	spawn.IPC:    {spawn.CapSysAdmin, "list its POSIX queues through an mqueue mount of its own"},
	spawn.PID:    {spawn.CapSysAdmin, "mount a /proc for it"},
	spawn.MNT:    {spawn.CapSysAdmin, "mount the mount canary in it"},
	spawn.Net:    {spawn.CapNetAdmin, "add a marker link to it"},
	spawn.Cgroup: {spawn.CapSysAdmin, "mount a cgroup file system for it"},
	spawn.Time:   {spawn.CapSysTime, "set its clocks"},
}

var _ = Describe("root in a user namespace that maps every id to itself and shares the host's other namespaces", Label("preflight"), Ordered, ContinueOnFailure, func() {
	var there *rootThereReport

	BeforeAll(func(ctx SpecContext) {
		needsKinds(spawn.SetOf(spawn.User))
		needs(features.CanMapIDs(identityMap(), identityMap()))
		sets := []spawn.Set{spawn.None, spawn.All}
		for _, k := range spawn.All.Kinds() {
			sets = append(sets, sharedRootSets(k)...)
		}
		there = rootThere(ctx, sets)
		var summary []string
		for _, o := range there.Sets {
			switch {
			case o.NotRun != "":
				summary = append(summary, o.Set+": not started: "+o.NotRun)
			case o.Failure != "":
				summary = append(summary, o.Set+": failed: "+o.Failure)
			default:
				summary = append(summary, o.Set+": passed")
			}
		}
		AddReportEntry("root in a user namespace sharing the host's", there.Summary+"\n"+strings.Join(summary, "\n"))
	}, NodeTimeout(nestedSpecTimeout))

	// expectJudged asserts that the child in set passed every oracle as
	// root there judged it, and that, as this process reads the host, the
	// kinds of set are not the host's while the others are, but for user:
	// root there runs in a user namespace of its own.
	expectJudged := func(set spawn.Set) {
		GinkgoHelper()
		o := there.outcome(set)
		if o.NotRun != "" {
			// Only what this machine cannot make at all may be missing.
			ok, _ := features.Supports(set)
			Expect(ok).To(BeFalse(), "root in the user namespace did not start a child in %s, which this process can: %s", set, o.NotRun)
			Skip(o.NotRun)
		}
		for _, e := range o.Entries {
			AddReportEntry(e.Name+", as root in the user namespace", string(e.Value), ReportEntryVisibilityFailureOrVerbose)
		}
		Expect(o.Failure).To(BeEmpty(), "the suite's oracles, run as root in the user namespace, failed the child in %s", set)
		for _, k := range spawn.All.Kinds() {
			if !features.Present[k] {
				continue
			}
			got, want := o.NS[string(k)], host.NS[string(k)]
			switch {
			case k == spawn.User:
				Expect(got).NotTo(Equal(want), "user: the child of root in the user namespace, in %s, is in the host's user namespace", set)
			case set.Has(k):
				Expect(got).NotTo(Equal(want), "%s: the child of root in the user namespace, in %s, has the host's %s namespace", k, set, k)
			default:
				Expect(got).To(Equal(want), "%s: the child of root in the user namespace, in %s, does not share the host's %s namespace", k, set, k)
			}
		}
	}

	It("is seen so by spawn's preflight and by a bare unshare(2) alike: it creates every kind without a new user namespace, and may change none of the host's", func() {
		h := there.Host
		for _, k := range spawn.All.Kinds() {
			if !features.Present[k] {
				continue
			}
			if k == spawn.User {
				Expect(h.NS["user"]).NotTo(Equal(host.NS["user"]), "user: root in the new user namespace reads the host's as its own")
				continue
			}
			Expect(h.NS[string(k)]).To(Equal(host.NS[string(k)]), "%s: root in the new user namespace does not share the host's %s namespace", k, k)
		}
		Expect(h.UID).To(Equal(0), "user: the process in the new user namespace is not uid 0 there")
		f := there.Features
		Expect(f.InitialUserNS).To(BeFalse(), "user: spawn's preflight, in a user namespace of its own, says it runs in the initial one (%s)", f.Who())
		Expect(f.EUID).To(Equal(0), "user: spawn's preflight reads %s", f.Who())
		Expect(f.Has(spawn.CapSysAdmin)).To(BeTrue(), "user: spawn's preflight says root in a user namespace of its own lacks CAP_SYS_ADMIN over it (%s)", f.Who())
		Expect(f.Changeable()).To(BeEmpty(), "spawn's preflight says root in a user namespace sharing the host's others may change the host's %v", f.Changeable())
		Expect(there.Summary).To(ContainSubstring("may change none of the host's namespaces"), "the preflight's heading line")
		Expect(there.CrossCheck).To(BeEmpty(), "spawn's detection and a bare unshare(2) disagree, as root in the user namespace, on what it can create")
		for _, k := range spawn.All.Kinds() {
			if !features.Kind(k).Supported() {
				continue
			}
			ks := f.Kind(k)
			Expect(ks.Supported()).To(BeTrue(), "%s: root in the user namespace cannot create %s namespaces, which this process can: %s", k, k, ks.Reason)
			Expect(ks.InUserNS).To(BeFalse(), "%s: root in the user namespace was tried inside a new user namespace, as if it lacked CAP_SYS_ADMIN over its own", k)
		}
	})

	It("starts a child in none of its own namespaces and one in all of them, each judged by the suite's oracles", func() {
		expectJudged(spawn.None)
		expectJudged(spawn.All)
	})

	entries := []TableEntry{}
	for _, k := range spawn.All.Kinds() {
		text := fmt.Sprintf("isolates %s in namespaces that its own user namespace owns, and spawn's preflight refuses the host's, naming %s", k, hostChange[k].cap)
		if k == spawn.User {
			text = "isolates user in a user namespace below its own"
		}
		entries = append(entries, Entry(text, Label("ns:"+string(k)), k))
	}
	DescribeTable("a child of it",
		func(k spawn.Kind) {
			needsKinds(spawn.SetOf(k))
			for _, set := range sharedRootSets(k) {
				expectJudged(set)
			}
			f := there.Features
			switch k {
			case spawn.User:
				// It may map every id into a new user namespace, since
				// its own maps them all.
				ok, reason := f.CanMapIDs(identityMap(), identityMap())
				Expect(ok).To(BeTrue(), "user: spawn's preflight says root in a user namespace mapping every id may not map them into a new one: %s", reason)
				return
			case spawn.PID:
				// The oracle of mnt expects a child in mnt without pid
				// to be refused a /proc mount by this reading.
				Expect(there.Host.OwnsPIDNamespace).To(BeFalse(), "pid: root in the user namespace reads the host's pid namespace as owned by its own user namespace")
			case spawn.Net:
				Expect(there.NoHostLink).To(ContainSubstring("needs CAP_NET_ADMIN over the host's net namespace to add a marker link to it"),
					"net: root in the user namespace would add a marker link to the host's network namespace, which it cannot")
			}
			c := hostChange[k]
			ok, reason := f.NeedOver(k, c.cap, c.what)
			Expect(ok).To(BeFalse(), "%s: spawn's preflight says root in a user namespace sharing the host's %s namespace holds %s over it", k, k, c.cap)
			Expect(f.CanChange(k)).To(BeFalse(), "%s: spawn's preflight says root in a user namespace sharing the host's %s namespace may change it", k, k)
			Expect(reason).To(And(
				ContainSubstring(fmt.Sprintf("needs %s over the host's %s namespace to %s", c.cap, k, c.what)),
				ContainSubstring("owned by a user namespace above this process's own"),
				ContainSubstring("run as root in the initial user namespace")),
				"%s: the skip a spec would take there names no capability, namespace, cause or remedy", k)
			if features.InitialUserNS && features.Has(c.cap) {
				// The control: the same question, answered where the
				// capability is held over the host's namespace.
				ok, reason := features.NeedOver(k, c.cap, c.what)
				Expect(ok).To(BeTrue(), "%s: spawn's preflight, as %s, says it lacks %s over the host's %s namespace: %s", k, features.Who(), c.cap, k, reason)
			}
		},
		entries,
	)
})

// identityMap maps every id to itself, so root in the new user namespace
// is root outside too. Specs that need it run as root already.
func identityMap() []spawn.IDMap {
	return []spawn.IDMap{{Inside: 0, Outside: 0, Count: math.MaxUint32}}
}
