package sqlite

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
)

// referenceProps decodes stored props the slow, obviously right way.
func referenceProps(s string) (graph.Props, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errTrailing
	}
	return graph.NormalizeProps(raw)
}

var errTrailing = graph.Errorf(graph.EINVALID, "trailing data")

// scanProps is decodeProps without its fallback.
func scanProps(s string) (graph.Props, bool) {
	p := graph.Props{}
	ok := scanFlat(s, func(k string, v any) bool {
		nv, err := graph.NormalizePropValue(v)
		p[k] = nv
		return err == nil
	})
	return p, ok
}

var propsSeeds = []string{
	`{}`,
	` { } `,
	`{"a":1}`,
	`{"a":-1.5e3,"b":0.25,"c":1e+06,"d":-0,"e":9223372036854775807,"f":-9223372036854775808,"g":18446744073709551616}`,
	`{"s":"plain","t":true,"f":false}`,
	`{"esc":"q\"b\\s\/n\nr\rt\tb\bf\f","u":"\u00e9\u4e2d\ud83d\ude42","lone":"\ud800x","pair?":"\ud83dx\ude42"}`,
	`{"ключ":"значение","🙂":"ok"}`,
	`{"l":[1,2,3],"m":[1,2.5],"s":["a","b"],"b":[true,false],"e":[]}`,
	` {"spaced" : [ 1 , 2 ] , "x" : "y" } `,
	`{"dup":1,"dup":2}`,
	`{"nested":{"a":1}}`,
	`{"ll":[[1]]}`,
	`{"null":null}`,
	`{"mixed":[1,"a"]}`,
	`{"a":1}x`,
	`{"a":1,}`,
	`{"a" 1}`,
	`{"a":tru}`,
	`{"a":"unterminated}`,
	`{"a":"ctl` + "\x01" + `"}`,
	`[1,2]`,
	`{"a":01}`,
}

func TestScanFlatMatchesEncodingJSON(t *testing.T) {
	for _, s := range propsSeeds {
		checkScanFlat(t, s)
	}
}

// checkScanFlat checks that wherever encoding/json reads s as props, the
// fast scanner either declines or reads the same.
func checkScanFlat(t *testing.T, s string) {
	t.Helper()
	want, err := referenceProps(s)
	got, ok := scanProps(s)
	if err != nil {
		return // the scanner may be laxer than JSON on text SQLite never writes
	}
	if ok {
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("scanFlat(%q) differs from encoding/json (-want +got):\n%s", s, d)
		}
	}
	viaDecode, err := decodeProps(s)
	if err != nil {
		t.Errorf("decodeProps(%q): %v, but encoding/json reads it", s, err)
	} else if d := cmp.Diff(want, viaDecode); d != "" {
		t.Errorf("decodeProps(%q) (-want +got):\n%s", s, d)
	}
}

func TestScanFlatTakesTheFastPath(t *testing.T) {
	// The inputs SQLite hands back must not fall back to encoding/json.
	for _, s := range []string{
		`{"a":1}`,
		`{"esc":"q\"b\\s\/n\nr\rt\tb\bf\f","u":"\u00e9\ud83d\ude42"}`,
		`{"l":[1,2.5],"s":["a"],"e":[]}`,
		`{"schema":"{\"fields\":[{\"name\":\"id\"}]}"}`,
	} {
		if _, ok := scanProps(s); !ok {
			t.Errorf("scanFlat(%q) declined", s)
		}
	}
}

func TestFacetsRoundTrip(t *testing.T) {
	in := map[string]string{
		"schema": `{ "fields" : [ {"name":"id","type":"BIGINT"} ], "n": null }`,
		"uni":    `{"ключ":"値 🙂","esc":"a\"b\\c\n"}`,
		"s":      `"just a string"`,
		"empty":  `{}`,
	}
	enc, err := encodeFacets(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeFacets(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := graph.Facets{}
	for k, v := range in {
		want[k] = json.RawMessage(v)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestUnescapeJSON(t *testing.T) {
	for _, body := range []string{
		`plain`, `\"`, `\\`, `\/`, `\b\f\n\r\t`, `\u0041\u00e9\u4e2d`, `\ud83d\ude42`,
		`\ud800`, `\ud800\u0041`, `\udc00\ud800`, `\ud83d\ud83d\ude42`, `a\u0000b`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+body+`"`), &want); err != nil {
			t.Fatalf("reference %q: %v", body, err)
		}
		got, ok := unescapeJSON(body)
		if !ok || got != want {
			t.Errorf("unescapeJSON(%q) = %q, %v; want %q", body, got, ok, want)
		}
	}
	for _, bad := range []string{`\`, `\x`, `\u12`, `\u12zz`} {
		if _, ok := unescapeJSON(bad); ok {
			t.Errorf("unescapeJSON(%q) accepted a bad escape", bad)
		}
	}
}

// FuzzScanFlat checks the fast props scanner against encoding/json on
// arbitrary text. Seeds: propsSeeds.
func FuzzScanFlat(f *testing.F) {
	for _, s := range propsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkScanFlat(t, s) })
}
