package sqlite

import (
	"encoding/json"
	"strings"
	"testing"
)

var jsonStringSeeds = []string{
	"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x01\x1f",
	"é ✓ 😀", "<a & b>", "\xff", "a\xffb", "\xff\xfe\xfd", "a\xff\xfeb\xfdc",
	"\xe2\x82", "\xe2\x82\xac", "\xed\xa0\x80", "\xf4\x90\x80\x80", "x\xc3", "\xc3(",
}

// TestAppendJSONString checks that encoding/json reads what
// appendJSONString writes back as the valid UTF-8 form of the input, each
// run of other bytes one U+FFFD, with '<', '>' and '&' left as they are.
func TestAppendJSONString(t *testing.T) {
	for _, s := range jsonStringSeeds {
		checkJSONString(t, s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStringSeeds {
		f.Add(s)
	}
	f.Fuzz(checkJSONString)
}

func checkJSONString(t *testing.T, s string) {
	got := string(appendJSONString(nil, s))
	if strings.Count(got, "<")+strings.Count(got, ">")+strings.Count(got, "&") != strings.Count(s, "<")+strings.Count(s, ">")+strings.Count(s, "&") {
		t.Fatalf("appendJSONString(%q) = %s: escaped '<', '>' or '&'", s, got)
	}
	var back string
	if err := json.Unmarshal([]byte(got), &back); err != nil {
		t.Fatalf("appendJSONString(%q) = %s: not JSON: %v", s, got, err)
	}
	if want := strings.ToValidUTF8(s, "\uFFFD"); back != want {
		t.Fatalf("appendJSONString(%q) reads back as %q, want %q", s, back, want)
	}
}
