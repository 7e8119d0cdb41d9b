package suite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

// probePath is the nsprobe binary, built once on process 1 and shared.
var probePath string

// host is this process's baseline of the host, read in BeforeSuite.
var host *Host

func TestSuite(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "nsverify")
}

var _ = SynchronizedBeforeSuite(func() []byte {
	path, err := gexec.BuildWithEnvironment("github.com/nsverify/nsverify/probes/cmd/nsprobe", []string{"CGO_ENABLED=0"})
	Expect(err).NotTo(HaveOccurred(), "build nsprobe")
	// A child in a user namespace runs as a mapped id (100000, say) that
	// must still reach the probe: open up the directories gexec made.
	Expect(openUpTo(path, os.TempDir())).To(Succeed())
	return []byte(path)
}, func(path []byte) {
	probePath = string(path)
	var err error
	host, err = ReadHost(probePath)
	Expect(err).NotTo(HaveOccurred(), "read the host baseline")
	AddReportEntry("host baseline", host.Report, ReportEntryVisibilityNever)
	if isRoot() {
		sharedMarkers = Markers{}.WithHostQueue().WithHostLink()
	}
})

var _ = SynchronizedAfterSuite(func() {}, func() {
	gexec.CleanupBuildArtifacts()
})

// openUpTo makes the binary at path and every directory between it and
// stop readable and traversable by everyone.
func openUpTo(path, stop string) error {
	if err := os.Chmod(path, 0o755); err != nil {
		return err
	}
	stop = filepath.Clean(stop)
	for dir := filepath.Dir(path); strings.HasPrefix(dir, stop) && dir != stop; dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
	}
	return nil
}
