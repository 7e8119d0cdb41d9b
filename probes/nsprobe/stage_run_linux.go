//go:build linux

package nsprobe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nsverify/nsverify/probes"
)

// stageRecord is what the stage writes on its status pipe: the 1-based
// index of the step that failed (0: none, the observer started) with its
// errno, the observer's pid, then the stage's /proc/self/stat.
type stageRecord struct {
	Failed uint32
	Errno  uint32
	PID    uint32
}

// stageStatus is the decoded status.
type stageStatus struct {
	// failed says which step failed and why; empty when the observer
	// started.
	failed      string
	observerPID int
	threads     int
}

// parseStageStatus decodes what the stage wrote on its status pipe; what
// names its steps, the observer's fork last.
func parseStageStatus(b []byte, what []string) (stageStatus, error) {
	var rec stageRecord
	if err := binary.Read(bytes.NewReader(b), binary.NativeEndian, &rec); err != nil {
		return stageStatus{}, fmt.Errorf("decode stage record (%d bytes): %w", len(b), err)
	}
	if rec.Failed > 0 {
		if int(rec.Failed) > len(what) {
			return stageStatus{}, fmt.Errorf("decode stage record: step %d failed, and the stage has %d", rec.Failed, len(what))
		}
		return stageStatus{failed: fmt.Sprintf("%s: %v", what[rec.Failed-1], syscall.Errno(rec.Errno))}, nil
	}
	threads, err := statThreads(b[binary.Size(rec):])
	if err != nil {
		return stageStatus{}, err
	}
	return stageStatus{observerPID: int(rec.PID), threads: threads}, nil
}

// statThreads returns num_threads, field 20 of /proc/PID/stat. The fields
// after the command name, which ends at the last ')', start at field 3.
func statThreads(stat []byte) (int, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse stage stat: no command name in %q", stat)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 18 {
		return 0, fmt.Errorf("parse stage stat: %d fields after the command name, want at least 18", len(fields))
	}
	n, err := strconv.Atoi(fields[17])
	if err != nil {
		return 0, fmt.Errorf("parse stage stat num_threads: %w", err)
	}
	return n, nil
}

// stageOutcome is what runStage learnt: the observer's report, or why
// there is none.
type stageOutcome struct {
	// notStarted is the failed step, when no observer started.
	notStarted error
	// code is the observer's exit code when it is not 0; its output is
	// then in raw.
	code   int
	raw    []byte
	report *probes.Report
}

// runStage starts the stage, collects the observer's output and the
// stage's status, and waits for it. The caller has locked its OS thread.
func runStage(p *stagePlan) (stageOutcome, error) {
	stagePID, err := p.start()
	if err != nil {
		return stageOutcome{notStarted: err}, nil
	}
	// The stage and the observer hold the write ends now.
	p.closeChildEnds()
	var out bytes.Buffer
	_, copyErr := io.Copy(&out, p.stdoutR)
	status, statusErr := io.ReadAll(p.statusR)
	var ws unix.WaitStatus
	_, waitErr := unix.Wait4(stagePID, &ws, 0, nil)
	if err := errors.Join(copyErr, statusErr, waitErr); err != nil {
		return stageOutcome{}, fmt.Errorf("run the stage: %w", err)
	}
	rec, err := parseStageStatus(status, p.what)
	if err != nil {
		return stageOutcome{}, fmt.Errorf("read the stage's status: %w", err)
	}
	if rec.failed != "" {
		return stageOutcome{notStarted: errors.New(rec.failed)}, nil
	}
	if code := exitCode(ws); code != 0 {
		return stageOutcome{code: code, raw: out.Bytes()}, nil
	}
	r, err := probes.DecodeReport(&out)
	if err != nil {
		return stageOutcome{}, fmt.Errorf("read the observer's report: %w", err)
	}
	r.Launcher = &probes.Launcher{ObserverPID: rec.observerPID, StageThreads: rec.threads}
	return stageOutcome{report: r}, nil
}

func exitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 1
}
