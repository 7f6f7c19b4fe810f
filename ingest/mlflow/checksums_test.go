package mlflow

import (
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseChecksums(t *testing.T) {
	h1 := strings.Repeat("ab", 32)
	h2 := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		name string
		dir  string
		doc  string
		want map[string]string // nil: not a checksums file
	}{
		{"flat", "", `{"model/model.onnx": "` + h1 + `", "sbom/sbom.json": "sha256:` + h2 + `"}`,
			map[string]string{"model/model.onnx": h1, "sbom/sbom.json": h2}},
		{"files object", "", `{"files": {"./model/model.onnx": "` + strings.ToUpper(h1) + `"}}`,
			map[string]string{"model/model.onnx": h1}},
		{"list", "", `[{"path": "/model/model.onnx", "sha256": "SHA256:` + h1 + `"}, {"path": "a", "sha256": "` + h2 + `"}]`,
			map[string]string{"model/model.onnx": h1, "a": h2}},
		{"files list", "", `{"files": [{"path": "a", "sha256": "` + h2 + `"}]}`,
			map[string]string{"a": h2}},
		{"relative to its directory", "reports", `{"hygiene/h.json": "` + h1 + `", "../top.txt": "` + h2 + `"}`,
			map[string]string{"reports/hygiene/h.json": h1, "top.txt": h2}},
		{"bad entries dropped", "", `{"short": "abc", "md5": "d41d8cd98f00b204e9800998ecf8427e", "num": 3, "": "` + h1 + `", "../out": "` + h1 + `", ".": "` + h1 + `", "ok": "` + h1 + `", "nothex": "` + strings.Repeat("zz", 32) + `"}`,
			map[string]string{"ok": h1}},
		{"file named files", "", `{"files": "` + h1 + `"}`, map[string]string{"files": h1}},
		{"first of duplicates", "", `[{"path": "a", "sha256": "` + h1 + `"}, {"path": "./a", "sha256": "` + h2 + `"}]`,
			map[string]string{"a": h1}},
		{"empty object", "", `{}`, map[string]string{}},
		{"not json", "", `model.onnx ` + h1, nil},
		{"truncated", "", `{"a": "` + h1, nil},
		{"scalar", "", `"` + h1 + `"`, nil},
		{"empty", "", ``, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseChecksums(tc.dir, []byte(tc.doc))
			if ok != (tc.want != nil) {
				t.Fatalf("ok = %v, want %v", ok, tc.want != nil)
			}
			if diff := cmp.Diff(tc.want, got); ok && diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func FuzzParseChecksums(f *testing.F) {
	f.Add("", `{"files": {"a": "sha256:`+strings.Repeat("ab", 32)+`"}}`)
	f.Add("d", `[{"path": "../x", "sha256": "`+strings.Repeat("AB", 32)+`"}]`)
	f.Fuzz(func(t *testing.T, dir, doc string) {
		// dir is path.Dir of an artifact path: clean and relative.
		if dir != "" && (path.Clean(dir) != dir || strings.HasPrefix(dir, "/") || dir == ".." || strings.HasPrefix(dir, "../")) {
			return // not a directory an artifact walk yields
		}
		sums, _ := parseChecksums(dir, []byte(doc))
		for p, s := range sums {
			if p == "" || p == "." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") || len(s) != 64 || strings.ToLower(s) != s {
				t.Errorf("bad entry %q: %q", p, s)
			}
		}
	})
}
