package verify

import (
	"fmt"

	"github.com/nsverify/nsverify/probes"
)

// Identity returns the child's namespace of kind as the host read it
// (outside), and fails when the host could not read it, or when the
// probe's own reading (report) is missing or differs. Each error starts
// with the kind.
func Identity(kind string, outside *probes.Outside, report *probes.Report) (probes.NSID, error) {
	read, err := HostRead(kind, outside)
	if err != nil {
		return read, err
	}
	silent, err := ProbeAgrees(kind, read, report)
	if err != nil {
		return read, err
	}
	if silent != "" {
		return read, fmt.Errorf("%s: %s", kind, silent)
	}
	return read, nil
}

// ProbeAgrees compares the probe's reading of its own namespace of kind
// with the host's (read). err is a disagreement: the probe reports another
// namespace than the one the host reads it in. silent, when not empty,
// says why the probe has no reading to compare (no report, or it could not
// read its own /proc): a failure where the probe always can read (the
// suite's children), a note for a sandbox that may hide /proc from it.
func ProbeAgrees(kind string, read probes.NSID, report *probes.Report) (silent string, err error) {
	if report == nil {
		return fmt.Sprintf("the probe sent no report, the host reads %s", read), nil
	}
	said, ok := report.NS[kind]
	if !ok {
		return fmt.Sprintf("the probe reports no %s namespace, the host reads %s; probe errors: %v", kind, read, report.Errors), nil
	}
	if said != read {
		return "", fmt.Errorf("%s: the probe reports %s, the host reads %s", kind, said, read)
	}
	return "", nil
}

// HostRead returns the child's namespace of kind as the host read it, or
// why the host has no reading.
func HostRead(kind string, outside *probes.Outside) (probes.NSID, error) {
	if outside == nil {
		return probes.NSID{}, fmt.Errorf("%s: the host did not read the child: it never said hello", kind)
	}
	read, ok := outside.NS[kind]
	if !ok {
		why := outside.Errors["ns"]
		if why == "" {
			why = "this kernel has no " + kind + " namespaces"
		}
		return probes.NSID{}, fmt.Errorf("%s: the host could not read /proc/%d/ns/%s: %s", kind, outside.PID, kind, why)
	}
	return read, nil
}
