package matrixreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/onsi/ginkgo/v2/types"
)

// ErrNotGinkgoReport is returned for input that decodes as JSON but is not
// what `ginkgo --json-report` writes.
var ErrNotGinkgoReport = errors.New("not a Ginkgo JSON report")

// ErrNotMatrix is returned for input that is neither a matrix written by
// WriteJSON nor a Ginkgo JSON report.
var ErrNotMatrix = errors.New("neither a matrix JSON nor a Ginkgo JSON report")

// makeReport says how to get the input these readers expect; it ends every
// error about bad input so that the reader knows what to do next.
const makeReport = "make one with `go tool ginkgo --json-report=report.json ./suite`"

// ReadGinkgo decodes a Ginkgo JSON report: the array of suite reports that
// `ginkgo --json-report` writes (one element per suite run).
func ReadGinkgo(r io.Reader) ([]types.Report, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read Ginkgo report: %w", err)
	}
	return decodeGinkgo(data)
}

func decodeGinkgo(data []byte) ([]types.Report, error) {
	switch firstByte(data) {
	case 0:
		return nil, fmt.Errorf("decode Ginkgo report: the input is empty; %s", makeReport)
	case '[':
	case '{':
		// The likeliest mix-up: a matrix JSON given where its report is
		// wanted.
		return nil, fmt.Errorf("decode Ginkgo report: %w (it is a JSON object, while Ginkgo writes an array of suite reports; a matrix JSON goes to `nsreport combine`); %s", ErrNotGinkgoReport, makeReport)
	case '<':
		return nil, fmt.Errorf("decode Ginkgo report: %w (it looks like XML, perhaps the JUnit report); pass the file given to --json-report, or %s", ErrNotGinkgoReport, makeReport)
	default:
		return nil, fmt.Errorf("decode Ginkgo report: %w (it is not JSON); %s", ErrNotGinkgoReport, makeReport)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("decode Ginkgo report: %w (%w); %s", ErrNotGinkgoReport, err, makeReport)
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("decode Ginkgo report: the report holds no suite; %s", makeReport)
	}
	for i, rep := range reports {
		// json.Unmarshal ignores unknown fields, so an array of anything
		// decodes; a suite report always names its suite.
		if rep.SuitePath == "" && rep.SuiteDescription == "" && len(rep.SpecReports) == 0 {
			return nil, fmt.Errorf("decode Ginkgo report: %w (element %d has no SuitePath, SuiteDescription or SpecReports); %s", ErrNotGinkgoReport, i, makeReport)
		}
	}
	return reports, nil
}

// Read decodes either a matrix that WriteJSON wrote or a Ginkgo JSON report,
// which it turns into a matrix with opts. It lets a command take both kinds
// of file wherever it takes one.
func Read(r io.Reader, opts Options) (*Matrix, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	switch firstByte(data) {
	case '[':
		reports, err := decodeGinkgo(data)
		if err != nil {
			return nil, err
		}
		return FromReports(reports, opts)
	case '{':
		m, err := decodeMatrix(data)
		if err != nil {
			return nil, err
		}
		if m.Name == "" {
			m.Name = opts.Name
		}
		return m, nil
	case 0:
		return nil, fmt.Errorf("read report: the input is empty; pass a matrix JSON written by `nsreport matrix -json`, or a Ginkgo JSON report (%s)", makeReport)
	default:
		return nil, fmt.Errorf("read report: %w (it is not JSON); pass a matrix JSON written by `nsreport matrix -json`, or a Ginkgo JSON report (%s)", ErrNotMatrix, makeReport)
	}
}

// ReadAll is Read for a file that may hold several launchers' matrices: a
// Ginkgo report gives one matrix per launcher whose matrix specs it holds
// (only opts.Launcher's, when that is given); a matrix JSON gives itself.
func ReadAll(r io.Reader, opts Options) ([]*Matrix, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if firstByte(data) != '[' || opts.Launcher != "" {
		m, err := Read(bytes.NewReader(data), opts)
		if err != nil {
			return nil, err
		}
		return []*Matrix{m}, nil
	}
	reports, err := decodeGinkgo(data)
	if err != nil {
		return nil, err
	}
	names := Launchers(reports)
	if len(names) == 0 {
		names = []string{BuiltinLauncher}
	}
	var ms []*Matrix
	for _, name := range names {
		o := opts
		o.Launcher = name
		m, err := FromReports(reports, o)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func decodeMatrix(data []byte) (*Matrix, error) {
	var m Matrix
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode matrix: %w (%w); write one with `nsreport matrix -json`", ErrNotMatrix, err)
	}
	if m.Schema == 0 || m.Rows == nil || len(m.Kinds) == 0 {
		return nil, fmt.Errorf("decode matrix: %w (no schema, kinds or rows); write one with `nsreport matrix -json`", ErrNotMatrix)
	}
	if m.Schema < oldestSchema || m.Schema > Schema {
		return nil, fmt.Errorf("decode matrix: schema %d, and this nsreport reads schemas %d to %d; rewrite the matrix from its Ginkgo report with this nsreport", m.Schema, oldestSchema, Schema)
	}
	m.count()
	return &m, nil
}

// firstByte returns the first non-space byte of data, or 0 if there is none.
func firstByte(data []byte) byte {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return 0
	}
	return data[0]
}
