package probes

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseNSID parses "dev:ino", the text NSID.String writes.
func ParseNSID(s string) (NSID, error) {
	dev, ino, ok := strings.Cut(s, ":")
	d, err1 := strconv.ParseUint(dev, 10, 64)
	i, err2 := strconv.ParseUint(ino, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return NSID{}, fmt.Errorf("%q is not DEV:INO (decimal device and inode of a /proc/PID/ns file, as stat -L -c %%d:%%i prints them)", s)
	}
	return NSID{Dev: d, Ino: i}, nil
}

// KindNSID is one namespace named by its kind and its identity.
type KindNSID struct {
	Kind string
	ID   NSID
}

// FormatKindNSIDs writes ids as "kind=dev:ino,kind=dev:ino", the text of
// the probe's -parent-ns, in the order given.
func FormatKindNSIDs(ids []KindNSID) string {
	parts := make([]string, len(ids))
	for i, k := range ids {
		parts[i] = k.Kind + "=" + k.ID.String()
	}
	return strings.Join(parts, ",")
}

// ParseKindNSIDs parses the text FormatKindNSIDs writes. It checks the
// syntax only: which kinds are valid is the caller's to say.
func ParseKindNSIDs(s string) ([]KindNSID, error) {
	var ids []KindNSID
	for part := range strings.SplitSeq(s, ",") {
		kind, id, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not KIND=DEV:INO", part)
		}
		nsid, err := ParseNSID(id)
		if err != nil {
			return nil, err
		}
		ids = append(ids, KindNSID{Kind: kind, ID: nsid})
	}
	return ids, nil
}
