package gqlmodel

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/redthread/redthread/graph"
)

func TestTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2024-05-01T12:00:00Z":             time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		"2024-05-01T14:00:00.5+02:00":      time.Date(2024, 5, 1, 12, 0, 0, 5e8, time.UTC),
		"2024-05-01":                       time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		"2024-05-01T12:00:00.123456789Z":   time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC),
		"2024-05-01T09:00:00.000000-03:00": time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
	} {
		got, err := UnmarshalTime(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("UnmarshalTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []any{"yesterday", "2024-13-01", 1714564800, nil} {
		if _, err := UnmarshalTime(in); graph.ErrorCode(err) != graph.EINVALID {
			t.Errorf("UnmarshalTime(%v) error %v, want EINVALID", in, err)
		}
	}

	var b bytes.Buffer
	MarshalTime(time.Date(2024, 5, 1, 14, 0, 0, 0, time.FixedZone("x", 2*3600))).MarshalGQL(&b)
	if b.String() != `"2024-05-01T12:00:00Z"` {
		t.Errorf("MarshalTime wrote %s", b.String())
	}
	b.Reset()
	MarshalTime(time.Time{}).MarshalGQL(&b)
	if b.String() != "null" {
		t.Errorf("zero time wrote %s, want null", b.String())
	}
}

func TestPropsJSON(t *testing.T) {
	got, err := PropsJSON(graph.Props{
		"n": int64(3), "x": math.NaN(), "tags": []any{"a", math.Inf(1)}, "fs": []float64{1.5, math.Inf(-1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"fs":[1.5,"-Infinity"],"n":3,"tags":["a","Infinity"],"x":"NaN"}`
	if string(got) != want {
		t.Fatalf("PropsJSON = %s, want %s", got, want)
	}
	if got, _ := PropsJSON(nil); string(got) != "{}" {
		t.Fatalf("PropsJSON(nil) = %s", got)
	}
}

func TestFacetsJSON(t *testing.T) {
	got, err := FacetsJSON(graph.Facets{"b": json.RawMessage(`{ "x" : 1 }`), "a": json.RawMessage(`[]`)})
	if err != nil || string(got) != `{"a":[],"b":{"x":1}}` {
		t.Fatalf("FacetsJSON = %s, %v", got, err)
	}
	if _, err := FacetsJSON(graph.Facets{"bad": json.RawMessage(`{`)}); err == nil {
		t.Fatal("invalid facet JSON accepted")
	}
}
