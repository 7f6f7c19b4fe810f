package mlflow

import (
	"bytes"
	"encoding/json"
	"maps"
	"path"
	"slices"
	"strings"
)

// ChecksumsFile is the base name of the artifact in which a run lists the
// sha256 of its own artifacts (seed layout: at the artifact root).
const ChecksumsFile = "checksums.json"

// maxChecksumsBytes bounds the download of one checksums file.
const maxChecksumsBytes = 4 << 20

// parseChecksums reads a checksums file found in directory dir of a run's
// artifact tree. It accepts
//
//	{"<path>": "<hex>", …}
//	{"files": {"<path>": "<hex>", …}}
//	[{"path": "<path>", "sha256": "<hex>"}, …]
//	{"files": [{"path": "<path>", "sha256": "<hex>"}, …]}
//
// where a value may carry a "sha256:" prefix. Paths are taken relative to
// dir and returned relative to the artifact root; entries whose value is
// not 64 hex digits, or whose path is empty or leaves the tree, are
// dropped. ok is false when the document has none of these shapes. The
// result maps path to lowercase hex; a path listed twice keeps its first
// value in document order for arrays and in key order for objects.
func parseChecksums(dir string, data []byte) (sums map[string]string, ok bool) {
	sums = map[string]string{}
	add := func(p, sum string) {
		p, okPath := artifactPath(dir, p)
		sum, okSum := sha256Hex(sum)
		if !okPath || !okSum {
			return
		}
		if _, dup := sums[p]; !dup {
			sums[p] = sum
		}
	}
	if files, ok := wrappedFiles(data); ok {
		data = files
	}
	switch firstByte(data) {
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil {
			return nil, false
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			var v string
			if json.Unmarshal(obj[k], &v) == nil {
				add(k, v)
			}
		}
	case '[':
		var list []json.RawMessage
		if json.Unmarshal(data, &list) != nil {
			return nil, false
		}
		for _, raw := range list {
			var e struct {
				Path   string `json:"path"`
				SHA256 string `json:"sha256"`
			}
			if json.Unmarshal(raw, &e) == nil {
				add(e.Path, e.SHA256)
			}
		}
	default:
		return nil, false
	}
	return sums, true
}

// artifactPath joins a path read from a checksums file in dir onto dir and
// normalises it; ok is false when it is empty or climbs out of the tree.
func artifactPath(dir, p string) (string, bool) {
	p = strings.TrimSpace(p)
	for strings.HasPrefix(p, "./") || strings.HasPrefix(p, "/") {
		p = strings.TrimPrefix(strings.TrimPrefix(p, "./"), "/")
	}
	if p == "" {
		return "", false
	}
	p = path.Clean(path.Join(dir, p))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// sha256Hex returns s as 64 lowercase hex digits, without a "sha256:"
// prefix; ok is false for anything else.
func sha256Hex(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) != 64 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return s, true
}

// wrappedFiles returns the value of "files" when data is an object whose
// "files" member is an object or an array.
func wrappedFiles(data []byte) (json.RawMessage, bool) {
	if firstByte(data) != '{' {
		return nil, false
	}
	var w struct {
		Files json.RawMessage `json:"files"`
	}
	if json.Unmarshal(data, &w) != nil {
		return nil, false
	}
	switch firstByte(w.Files) {
	case '{', '[':
		return w.Files, true
	}
	return nil, false
}

func firstByte(b []byte) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
