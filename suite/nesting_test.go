//go:build linux

package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nsverify/nsverify/probes"
	"github.com/nsverify/nsverify/spawn"
)

// nestEnv, when set, makes this test binary the outer level of a nesting
// spec: already cloned into a new pid or user namespace, it runs the
// probe through spawn in a new namespace of the same kind below its own,
// prints the report and exits.
const nestEnv = "NSVERIFY_NEST"

var _ = role(nestEnv, func(v string) int { return nestOuter(v, os.Stdout) })

// nestTask is what the outer level runs.
type nestTask struct {
	Probe      string        `json:"probe"`
	Kind       spawn.Kind    `json:"kind"`
	UIDMap     []spawn.IDMap `json:"uid_map,omitempty"`
	CreateFile string        `json:"create_file,omitempty"`
}

// nestResult is what the outer level prints.
type nestResult struct {
	Report *probes.Report `json:"report,omitempty"`
	Error  string         `json:"error,omitempty"`
}

func nestOuter(spec string, out io.Writer) int {
	var t nestTask
	var res nestResult
	err := json.Unmarshal([]byte(spec), &t)
	if err == nil {
		opts := spawn.Options{Probe: t.Probe, Set: spawn.SetOf(t.Kind), UIDMap: t.UIDMap, GIDMap: t.UIDMap}
		opts.Actions.CreateFile = t.CreateFile
		var r *spawn.Result
		if r, err = spawn.Run(context.Background(), opts); err == nil {
			res.Report = r.Report
		}
	}
	if err != nil {
		res.Error = err.Error()
	}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		return 1
	}
	return 0
}

// runNested starts exe as the outer level, cloned with attr, and returns
// the inner probe's report.
func runNested(ctx context.Context, exe string, t nestTask, attr *syscall.SysProcAttr) *probes.Report {
	GinkgoHelper()
	spec, err := json.Marshal(t)
	Expect(err).NotTo(HaveOccurred(), "%s: encode the task", t.Kind)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = []string{nestEnv + "=" + string(spec)}
	attr.Pdeathsig, attr.Setpgid = syscall.SIGKILL, true
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, GinkgoWriter
	Expect(cmd.Run()).To(Succeed(), "%s: run the outer level", t.Kind)
	var res nestResult
	Expect(json.Unmarshal(stdout.Bytes(), &res)).To(Succeed(), "%s: read the outer level's %q", t.Kind, stdout.String())
	Expect(res.Error).To(BeEmpty(), "%s: the probe below the outer level failed", t.Kind)
	addReportEntry("nested "+string(t.Kind), res.Report)
	return res.Report
}

// worldDir makes a directory every id may enter and write, removed when
// the spec ends: ids of a nested user namespace are nobody's on the host.
func worldDir() string {
	GinkgoHelper()
	dir, err := os.MkdirTemp("", "nsverify-nest-")
	Expect(err).NotTo(HaveOccurred(), "user: make a directory every id may write")
	DeferCleanup(os.RemoveAll, dir)
	Expect(os.Chmod(dir, 0o777)).To(Succeed(), "user: open %s to every id", dir)
	return dir
}

// copyExe copies this test binary where an id of a nested user namespace
// may execute it.
func copyExe(dir string) string {
	GinkgoHelper()
	src, err := os.Open(os.Args[0])
	Expect(err).NotTo(HaveOccurred(), "user: open this test binary")
	defer src.Close()
	path := filepath.Join(dir, "nest.test")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	Expect(err).NotTo(HaveOccurred(), "user: create %s", path)
	_, err = io.Copy(dst, src)
	Expect(err).NotTo(HaveOccurred(), "user: copy this test binary")
	Expect(dst.Close()).To(Succeed(), "user: write %s", path)
	return path
}

func ownerOf(path string) (uid, gid uint32) {
	GinkgoHelper()
	var st syscall.Stat_t
	Expect(syscall.Stat(path, &st)).To(Succeed(), "user: stat %s", path)
	return st.Uid, st.Gid
}

var _ = Describe("namespaces nested in namespaces of their kind", Label("nesting"), func() {
	It("makes the probe pid 1 of a pid namespace inside another, with NSpid listing all three levels, where a single level lists two", Label("ns:pid"), func(ctx SpecContext) {
		needsCreate(spawn.SetOf(spawn.PID))
		needsKinds(spawn.SetOf(spawn.PID))
		r := runNested(ctx, os.Args[0], nestTask{Probe: probePath, Kind: spawn.PID}, &syscall.SysProcAttr{Cloneflags: spawn.SetOf(spawn.PID).CloneFlags()})
		Expect(r.PID).To(Equal(1), "pid: the probe is not pid 1 of the inner namespace")
		Expect(r.PPID).To(Equal(0), "pid: the probe's parent is inside its pid namespace")
		Expect(r.NSpid).To(HaveLen(3), "pid: NSpid does not list the host's, the outer and the inner level")
		Expect(r.NSpid[2]).To(Equal(1), "pid: NSpid's innermost entry is not 1")
		Expect(r.NSpid[1]).To(BeNumerically(">", 1), "pid: at the outer level the probe is pid 1, the outer process's own number")
		Expect(r).To(BeIsolatedFrom(host, spawn.PID))

		single := RunChild(ctx, spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.PID)}, NewMarkers()).Report
		Expect(single.NSpid).To(HaveLen(2), "pid: a probe one level down lists other than two levels")
	})

	It("composes the maps of a user namespace inside another: a file the inner root makes is owned on the host by the composed id, where one level maps it directly", Label("ns:user"), func(ctx SpecContext) {
		needsKinds(spawn.SetOf(spawn.User))
		const outerBase, innerID = 100000, 1000
		outer := []spawn.IDMap{{Inside: 0, Outside: outerBase, Count: 65536}}
		needs(features.CanMapIDs(outer, outer))
		dir := worldDir()
		inner := []spawn.IDMap{{Inside: 0, Outside: innerID, Count: 1}}
		nestedFile := filepath.Join(dir, "nested")
		attr := &syscall.SysProcAttr{
			Cloneflags:  spawn.SetOf(spawn.User).CloneFlags(),
			UidMappings: sysProcMaps(outer), GidMappings: sysProcMaps(outer),
			Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
		}
		r := runNested(ctx, copyExe(dir), nestTask{Probe: probePath, Kind: spawn.User, UIDMap: inner, CreateFile: nestedFile}, attr)
		Expect(r.User).NotTo(BeNil(), "user: no user observation; errors: %v", r.Errors)
		Expect(r.User.UIDMap).To(Equal([]probes.IDRange{{0, innerID, 1}}), "user: the inner probe does not read its map relative to the outer level")
		Expect(r.Errors).NotTo(HaveKey("user"), "user: the inner probe could not create its file")
		uid, gid := ownerOf(nestedFile)
		Expect([]uint32{uid, gid}).To(Equal([]uint32{outerBase + innerID, outerBase + innerID}), "user: the host does not see the composed ids %d", outerBase+innerID)

		singleFile := filepath.Join(dir, "single")
		opts := spawn.Options{Probe: probePath, Set: spawn.SetOf(spawn.User), UIDMap: inner, GIDMap: inner}
		opts.Actions.CreateFile = singleFile
		RunChild(ctx, opts, NewMarkers())
		uid, gid = ownerOf(singleFile)
		Expect([]uint32{uid, gid}).To(Equal([]uint32{innerID, innerID}), "user: one level with the same map does not give the host id %d", innerID)
	})
})
