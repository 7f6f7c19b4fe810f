package graph_test

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
)

// TestNormalizeProps covers graph.NormalizeProps, the canonical form every
// store returns and graph/storetest compares stores against.
func TestNormalizeProps(t *testing.T) {
	ok := []struct {
		name string
		in   any
		want any
	}{
		{"nil stays, meaning remove", nil, nil},
		{"int", 3, int64(3)},
		{"uint64 that fits", uint64(7), int64(7)},
		{"uint64 that does not", uint64(math.MaxUint64), float64(math.MaxUint64)},
		{"integral float", 4.0, int64(4)},
		{"float beyond int64", 1e19, 1e19},
		{"json.Number int", json.Number("12"), int64(12)},
		{"json.Number float", json.Number("1.5"), 1.5},
		{"json.Number integral float", json.Number("2.0"), int64(2)},
		{"json.Number huge int", json.Number("123456789012345678901"), 123456789012345678901.0},
		{"invalid UTF-8 replaced", "a\xffb", "a\uFFFDb"},
		{"array", [2]string{"x", "y"}, []any{"x", "y"}},
		{"ints with a float become floats", []any{1, json.Number("2.5"), int64(3)}, []any{1.0, 2.5, 3.0}},
		{"empty list", []int{}, []any{}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := graph.NormalizePropValue(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	bad := []struct {
		name string
		in   any
	}{
		{"map", map[string]any{"a": 1}},
		{"bytes", []byte("x")},
		{"time", time.Now()},
		{"struct", struct{ A int }{1}},
		{"+Inf", math.Inf(1)},
		{"NaN in a list", []float64{1, math.NaN()}},
		{"nil in a list", []any{"a", nil}},
		{"list of lists", []any{[]any{1}}},
		{"strings and bools", []any{"a", true}},
		{"bad json.Number", json.Number("1x")},
		{"pointer", new(int)},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := graph.NormalizePropValue(tc.in); graph.ErrorCode(err) != graph.EINVALID {
				t.Errorf("NormalizePropValue(%#v) = %v, want EINVALID", tc.in, err)
			}
			_, err := graph.NormalizeProps(graph.Props{"k": tc.in})
			if graph.ErrorCode(err) != graph.EINVALID || graph.ErrorField(err) != "props.k" {
				t.Errorf("NormalizeProps: %v (field %q), want EINVALID on props.k", err, graph.ErrorField(err))
			}
		})
	}
	if got, err := graph.NormalizeProps(nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("NormalizeProps(nil) = %#v, %v; want an empty map", got, err)
	}
}

func TestNormalizePropsShared(t *testing.T) {
	canonical := graph.Props{"s": "x", "n": int64(1), "f": 2.5, "l": []string{"a"}, "gone": nil}
	got, copied, err := graph.NormalizePropsShared(canonical)
	if err != nil || copied || reflect.ValueOf(got).Pointer() != reflect.ValueOf(canonical).Pointer() {
		t.Errorf("canonical props: copied %v, err %v; want the same map back", copied, err)
	}
	rewritten := graph.Props{"i": 3, "f": 3.0}
	got, copied, err = graph.NormalizePropsShared(rewritten)
	if err != nil || !copied || got["i"] != int64(3) || got["f"] != int64(3) {
		t.Errorf("non-canonical props: %v copied %v err %v", got, copied, err)
	}
	if _, _, err := graph.NormalizePropsShared(graph.Props{"m": map[string]any{}}); graph.ErrorCode(err) != graph.EINVALID {
		t.Errorf("a map value: err %v, want INVALID", err)
	}
}
