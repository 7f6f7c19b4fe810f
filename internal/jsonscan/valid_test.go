package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/redthread/redthread/internal/jsonscan"
	"github.com/redthread/redthread/internal/workload"
)

// cases are inputs on each side of the grammar's edges. Each one's answer
// is encoding/json's, which TestValid checks too.
var cases = []struct {
	in   string
	want bool
}{
	{`{}`, true},
	{` [ ] `, true},
	{`{"a":[1,-2.5e+3,0,true,false,null,"x"],"b":{"c":{}}}`, true},
	{`"\u00e9\n\"\\\/\b\f\r\t"`, true},
	{`"é ✓ 😀"`, true},
	{"\"\xff\xfe\"", true}, // not UTF-8: encoding/json does not check it either
	{`0`, true},
	{`-0.0E-0`, true},
	{`1e5`, true},
	{``, false},
	{` `, false},
	{`{`, false},
	{`}`, false},
	{`[1,]`, false},
	{`[,1]`, false},
	{`{"a":1,}`, false},
	{`{"a" 1}`, false},
	{`{a:1}`, false},
	{`{"a":1 "b":2}`, false},
	{`[1 2]`, false},
	{`[1}`, false},
	{`{"a":1]`, false},
	{`{} {}`, false},
	{`01`, false},
	{`-`, false},
	{`1.`, false},
	{`.5`, false},
	{`1e`, false},
	{`1e+`, false},
	{`+1`, false},
	{`tru`, false},
	{`nul`, false},
	{`True`, false},
	{`"abc`, false},
	{`"\x"`, false},
	{`"\u12"`, false},
	{`"\u12g4"`, false},
	{"\"a\tb\"", false}, // a raw control character in a string
	{"\"a\x00b\"", false},
	{`"\`, false},
	{`[1,2`, false},
	{`{"a":`, false},
	{`{"a"`, false},
	{"\v1", false}, // not JSON whitespace
}

func TestValid(t *testing.T) {
	for _, tc := range cases {
		if got := jsonscan.Valid([]byte(tc.in)); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if std := json.Valid([]byte(tc.in)); std != tc.want {
			t.Errorf("the test case is wrong: json.Valid(%q) = %v", tc.in, std)
		}
	}
}

// TestValidDepth checks the nesting limit against encoding/json's.
func TestValidDepth(t *testing.T) {
	for _, depth := range []int{1, 63, 64, 65, 9999, 10000, 10001, 20000} {
		for _, open := range []string{"[", `{"k":`} {
			end := "]"
			if open != "[" {
				end = "}"
			}
			in := []byte(strings.Repeat(open, depth) + "0" + strings.Repeat(end, depth))
			if got, want := jsonscan.Valid(in), json.Valid(in); got != want {
				t.Errorf("depth %d of %q: Valid = %v, json.Valid = %v", depth, open, got, want)
			}
		}
	}
}

// events are typical bodies of the bench workload.
func events(tb testing.TB, n int) [][]byte {
	tb.Helper()
	gen := workload.New(workload.Config{Seed: 1, Nodes: 1000})
	var out [][]byte
	for len(out) < n {
		e, ok := gen.Next()
		if !ok {
			break
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		tb.Fatal("the workload generated no event")
	}
	return out
}

// TestValidEvents checks every event of a workload, and each with its last
// byte cut off.
func TestValidEvents(t *testing.T) {
	for _, e := range events(t, 200) {
		if !jsonscan.Valid(e) {
			t.Fatalf("Valid refused a generated event: %.200s", e)
		}
		if jsonscan.Valid(e[:len(e)-1]) {
			t.Fatalf("Valid accepted an event cut short: %.200s", e)
		}
	}
}

// FuzzValid checks that Valid answers as encoding/json.Valid does.
func FuzzValid(f *testing.F) {
	for _, tc := range cases {
		f.Add([]byte(tc.in))
	}
	for _, e := range events(f, 3) {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b)
		if got := jsonscan.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid = %v", b, got, want)
		}
		elems, ok := jsonscan.Elements(b)
		if ok != want {
			t.Fatalf("Elements(%q) ok = %v, json.Valid = %v", b, ok, want)
		}
		var raw []json.RawMessage
		if !ok || json.Unmarshal(b, &raw) != nil {
			if elems != nil {
				t.Fatalf("Elements(%q) = %q for input that is not an array", b, elems)
			}
			return
		}
		if len(elems) != len(raw) {
			t.Fatalf("Elements(%q): %d elements, encoding/json %d", b, len(elems), len(raw))
		}
		for i := range raw {
			if !bytes.Equal(elems[i], bytes.TrimSpace(raw[i])) {
				t.Fatalf("Elements(%q)[%d] = %q, encoding/json %q", b, i, elems[i], raw[i])
			}
		}
	})
}

// TestElements checks the split on the shapes a batch body takes, and
// that input of other kinds gives no elements.
func TestElements(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{`[]`, nil, true},
		{` [ 1 , "a,]" ,{"b":[2,{}]}, [] ] `, []string{`1`, `"a,]"`, `{"b":[2,{}]}`, `[]`}, true},
		{`[[1],[2,[3]]]`, []string{`[1]`, `[2,[3]]`}, true},
		{`{"a":[1,2]}`, nil, true},
		{`"[1,2]"`, nil, true},
		{`[1,]`, nil, false},
		{`[1] x`, nil, false},
	} {
		got, ok := jsonscan.Elements([]byte(tc.in))
		if ok != tc.ok || len(got) != len(tc.want) {
			t.Errorf("Elements(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			continue
		}
		for i := range got {
			if string(got[i]) != tc.want[i] {
				t.Errorf("Elements(%q)[%d] = %q, want %q", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

func BenchmarkValid(b *testing.B) {
	evs := events(b, 100)
	var size int64
	for _, e := range evs {
		size += int64(len(e))
	}
	for _, bc := range []struct {
		name  string
		valid func([]byte) bool
	}{{"jsonscan", jsonscan.Valid}, {"encoding-json", json.Valid}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				for _, e := range evs {
					if !bc.valid(e) {
						b.Fatal("invalid")
					}
				}
			}
		})
	}
}
