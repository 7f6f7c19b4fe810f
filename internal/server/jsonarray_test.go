package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSplitArray(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"empty", `[]`, nil},
		{"spaces", " \n[ \t]\r\n", nil},
		{"objects", `[{"a":1},{"b":[1,2,{"c":"]"}]}]`, []string{`{"a":1}`, `{"b":[1,2,{"c":"]"}]}`}},
		{"padded", "[ {\"a\" : 1} ,\n\t{ } ]", []string{`{"a" : 1}`, `{ }`}},
		{"scalars", `[1, -2.5e3, true, null, "x,y", [], {}]`, []string{`1`, `-2.5e3`, `true`, `null`, `"x,y"`, `[]`, `{}`}},
		{"escapes", `["a\"],[", "\\", "\\\"", {"k\\":"v\""}]`, []string{`"a\"],["`, `"\\"`, `"\\\""`, `{"k\\":"v\""}`}},
		{"unicode", `[{"名":"データ,]"}, "\u00e9"]`, []string{`{"名":"データ,]"}`, `"\u00e9"`}},
		{"nested", `[[[1,2],[3]],[{"a":[{"b":{}}]}]]`, []string{`[[1,2],[3]]`, `[{"a":[{"b":{}}]}]`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitArray([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d items %q, want %q", len(got), got, tc.want)
			}
			for i := range got {
				if string(got[i]) != tc.want[i] {
					t.Errorf("item %d = %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestSplitArrayRefuses(t *testing.T) {
	for _, body := range []string{``, `   `, `[`, `[1,]`, `[1 2]`, `[{"a":1}`, `["x]`, `[1]]`, `[1] [2]`} {
		_, err := splitArray([]byte(body))
		if err == nil || err == errNotArray {
			t.Errorf("splitArray(%q) = %v, want a syntax error", body, err)
		} else if !strings.Contains(err.Error(), "malformed JSON") {
			t.Errorf("splitArray(%q): message %q does not say the JSON is malformed", body, err)
		}
	}
	for _, body := range []string{`{}`, `"[1,2]"`, `12`, `null`, ` {"a":[1]} `} {
		if _, err := splitArray([]byte(body)); err != errNotArray {
			t.Errorf("splitArray(%q) = %v, want errNotArray", body, err)
		}
	}
}

// FuzzSplitArray checks the split against encoding/json: the same
// elements for every array it accepts, and a refusal exactly when
// Unmarshal into []json.RawMessage refuses (or finds null).
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, `[1,"a",{"b":[null]}]`, `[ {"x":"\"]"} , [ ] ]`, `{"a":1}`, `[1,]`, `["\\",2]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := splitArray(body)
		var want []json.RawMessage
		wantErr := json.Unmarshal(body, &want)
		if wantErr == nil && want == nil && string(bytes.TrimSpace(body)) == "null" {
			wantErr = errNotArray // Unmarshal takes null as an empty slice; a batch must be an array
		}
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("splitArray(%q) err = %v, Unmarshal err = %v", body, err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("splitArray(%q): %d items, Unmarshal %d", body, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], bytes.TrimSpace(want[i])) {
				t.Fatalf("splitArray(%q) item %d = %q, Unmarshal %q", body, i, got[i], want[i])
			}
		}
	})
}
