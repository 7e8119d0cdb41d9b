//go:build ignore

// Scrub turns the Ginkgo JSON report of a real suite run into a fixture: it
// keeps every spec, its labels, state, failure message, the namespace
// identities and capability sets in its report entries and the kinds it
// judged by the identity read by the host alone or did not check, and drops what describes the machine
// rather than the run (hostnames, pids, cgroup paths, links, captured output,
// stack traces, absolute paths).
//
// Run it from the module's root, whose path it cuts from file names:
//
//	go run suite/matrixreport/testdata/scrub.go < reports/x/report.json | gzip -9n > suite/matrixreport/testdata/real.json.gz
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/nsverify/nsverify/probes"
)

// root is the module's root, cut from file names.
var root string

func main() {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scrub:", err)
		os.Exit(1)
	}
	root = wd + "/"
	if err := scrub(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scrub:", err)
		os.Exit(1)
	}
}

// nsOnly is what a fixture keeps of a probe report: the namespaces and
// the capabilities, without the security label.
type nsOnly struct {
	Schema int                    `json:"schema"`
	NS     map[string]probes.NSID `json:"ns"`
	Caps   *probes.Caps           `json:"caps,omitempty"`
}

func scrub(r io.Reader, w io.Writer) error {
	var reports []types.Report
	if err := json.NewDecoder(r).Decode(&reports); err != nil {
		return fmt.Errorf("decode report: %w", err)
	}
	for i := range reports {
		rep := &reports[i]
		rep.SuitePath = "./suite"
		rep.SuiteConfig.ParallelHost = ""
		for j := range rep.SpecReports {
			sr := &rep.SpecReports[j]
			sr.CapturedGinkgoWriterOutput, sr.CapturedStdOutErr = "", ""
			sr.ProgressReports = nil
			sr.Failure.Location.FullStackTrace = ""
			sr.Failure.ProgressReport = types.ProgressReport{}
			for k := range sr.AdditionalFailures {
				sr.AdditionalFailures[k].Failure.Location.FullStackTrace = ""
				sr.AdditionalFailures[k].Failure.ProgressReport = types.ProgressReport{}
			}
			sr.LeafNodeLocation = location(sr.LeafNodeLocation)
			sr.Failure.Location = location(sr.Failure.Location)
			sr.Failure.FailureNodeLocation = location(sr.Failure.FailureNodeLocation)
			for k := range sr.ContainerHierarchyLocations {
				sr.ContainerHierarchyLocations[k] = location(sr.ContainerHierarchyLocations[k])
			}
			for k := range sr.SpecEvents {
				sr.SpecEvents[k].CodeLocation = location(sr.SpecEvents[k].CodeLocation)
			}
			var kept types.ReportEntries
			for _, e := range sr.ReportEntries {
				e.Location = location(e.Location)
				switch {
				case e.Name == "kernel" || e.Name == "identity only" || e.Name == "not checked" || e.Name == "not expressible":
				case e.Name == "launchers":
					// A launcher's path is where this machine keeps it.
					var v []map[string]any
					if err := json.Unmarshal([]byte(e.Value.AsJSON), &v); err != nil {
						return fmt.Errorf("decode %q entry: %w", e.Name, err)
					}
					for _, l := range v {
						delete(l, "path")
					}
					e.Value = wrap(v)
				case e.Name == "preflight":
					// The probe's path names a temporary directory of
					// the machine that ran the suite.
					var text string
					var v map[string]any
					if json.Unmarshal([]byte(e.Value.AsJSON), &text) != nil || json.Unmarshal([]byte(text), &v) != nil {
						continue
					}
					if _, ok := v["exe"]; ok {
						v["exe"] = "nsprobe"
					}
					b, err := json.Marshal(v)
					if err != nil {
						return fmt.Errorf("encode %q entry: %w", e.Name, err)
					}
					e.Value = wrap(string(b))
				case e.Name == "host baseline":
					var v nsOnly
					if err := json.Unmarshal([]byte(e.Value.AsJSON), &v); err != nil {
						return fmt.Errorf("decode %q entry: %w", e.Name, err)
					}
					e.Value = wrap(v)
				case strings.HasPrefix(e.Name, "child "):
					var v struct {
						Set    string `json:"set"`
						Report nsOnly `json:"report"`
					}
					if err := json.Unmarshal([]byte(e.Value.AsJSON), &v); err != nil {
						return fmt.Errorf("decode %q entry: %w", e.Name, err)
					}
					if v.Report.Caps != nil {
						v.Report.Caps.LSM = ""
					}
					e.Value = wrap(v)
				default:
					continue
				}
				kept = append(kept, e)
			}
			sr.ReportEntries = kept
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(reports)
}

// wrap stores v as Ginkgo stores a report entry's value.
func wrap(v any) types.ReportEntryValue {
	data, err := json.Marshal(types.WrapEntryValue(v))
	if err != nil {
		panic(err)
	}
	var out types.ReportEntryValue
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

// moduleCache matches the module cache's directory in a file name, so that
// a dependency's file keeps only its module@version path.
var moduleCache = regexp.MustCompile(`^.*/pkg/mod/`)

// location cuts a file name down to its path in its module.
func location(l types.CodeLocation) types.CodeLocation {
	l.FileName = moduleCache.ReplaceAllString(strings.TrimPrefix(l.FileName, root), "")
	l.FullStackTrace = ""
	return l
}
