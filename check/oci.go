package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// PlaceBundle is the path of the OCI bundle nsverify writes from the
// user's config (--oci-config), for runtimes that take a bundle rather
// than a command line: runc run --bundle {bundle} ID.
const PlaceBundle = "{bundle}"

// ValidateOCIConfig says what is wrong with an OCI config given as a
// template: it must be JSON with "{args}" as an element of its own in an
// array (process.args), where the probe's arguments go.
func ValidateOCIConfig(text []byte) error {
	var v struct {
		Process *struct {
			Args []string `json:"args"`
		} `json:"process"`
	}
	if err := json.Unmarshal(text, &v); err != nil {
		return fmt.Errorf("parse the OCI config: %w", err)
	}
	if v.Process == nil || !contains(v.Process.Args, PlaceArgs) {
		return errors.New(`the OCI config's process.args has no "{args}": write "args": ["{probe}", "{args}"], and bind {probe} and {hello} in its mounts`)
	}
	return nil
}

// ExpandOCIConfig substitutes the placeholders of an OCI config: the
// element "{args}" becomes the probe's arguments, {probe} and {hello}
// their paths, wherever they stand. A relative root.path is made absolute
// against dir, the config's own directory, since the bundle nsverify
// writes is elsewhere.
func ExpandOCIConfig(text []byte, dir, probe string, args []string, hello string) ([]byte, error) {
	quoted := make([]string, len(args))
	for i, a := range args {
		q, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("expand the OCI config: %w", err)
		}
		quoted[i] = string(q)
	}
	// A path may hold what JSON escapes: it goes in escaped, unquoted.
	inString := func(s string) string {
		q, _ := json.Marshal(s)
		return string(q[1 : len(q)-1])
	}
	expanded := strings.NewReplacer(
		`"`+PlaceArgs+`"`, strings.Join(quoted, ", "),
		PlaceProbe, inString(probe),
		PlaceHello, inString(hello),
	).Replace(string(text))
	var config map[string]any
	dec := json.NewDecoder(strings.NewReader(expanded))
	dec.UseNumber()
	if err := dec.Decode(&config); err != nil {
		return nil, fmt.Errorf("expand the OCI config: %w", err)
	}
	if root, ok := config["root"].(map[string]any); ok {
		if p, ok := root["path"].(string); ok && p != "" && !filepath.IsAbs(p) {
			root["path"] = filepath.Join(dir, p)
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "\t")
	if err := enc.Encode(config); err != nil {
		return nil, fmt.Errorf("expand the OCI config: %w", err)
	}
	return out.Bytes(), nil
}

func contains(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}
