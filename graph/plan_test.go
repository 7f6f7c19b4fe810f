package graph

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOverlayMergesInOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first := Props{"a": "x", "b": int64(1)}
	var o Overlay
	if err := o.Add(first, Facets{"schema": []byte(`{"v":1}`)}, Provenance{FirstSeen: t0.Add(time.Hour), LastOffset: 3}); err != nil {
		t.Fatal(err)
	}
	if err := o.Add(Props{"b": nil, "c": 2}, Facets{"schema": []byte(`{"v":2}`), "x": []byte(`[]`)}, Provenance{FirstSeen: t0, LastOffset: 2}); err != nil {
		t.Fatal(err)
	}
	want := Overlay{
		Patch:  Props{"a": "x", "b": nil, "c": int64(2)},
		Facets: map[string]string{"schema": `{"v":2}`, "x": `[]`},
		Prov:   Provenance{FirstSeen: t0, LastOffset: 3},
	}
	if !cmp.Equal(want.Patch, o.Patch) || !cmp.Equal(want.Facets, o.Facets) || !o.Prov.FirstSeen.Equal(t0) || o.Prov.LastOffset != 3 {
		t.Errorf("overlay = %+v, want %+v", o, want)
	}
	if d := cmp.Diff(Props{"a": "x", "b": int64(1)}, first); d != "" {
		t.Errorf("Add modified the caller's props (-want +got):\n%s", d)
	}
}

func TestOverlayRefusals(t *testing.T) {
	for _, tc := range []struct {
		props  Props
		facets Facets
		field  string
	}{
		{Props{"m": map[string]any{}}, nil, "props.m"},
		{nil, Facets{"bad\xff": []byte(`{}`)}, "facets"},
		{nil, Facets{"schema": []byte(`{`)}, "facets.schema"},
		{nil, Facets{"schema": []byte("\"\xff\"")}, "facets.schema"},
	} {
		var o Overlay
		err := o.Add(tc.props, tc.facets, Provenance{})
		if ErrorCode(err) != EINVALID || ErrorField(err) != tc.field {
			t.Errorf("Add(%v, %q) = %v, want EINVALID at %s", tc.props, tc.facets, err, tc.field)
		}
	}
}

func TestCheckStoreKey(t *testing.T) {
	if err := CheckStoreKey("f", "dataset:ns:名"); err != nil {
		t.Errorf("a unicode key refused: %v", err)
	}
	for key, msg := range map[string]string{
		"":       "empty key",
		"a\xffb": `key "a\xffb" is not valid UTF-8`,
		"a\x00b": `key "a\x00b" holds a NUL byte`,
	} {
		err := CheckStoreKey("batches[0].mutations[1].node.key", key)
		if ErrorCode(err) != EINVALID || ErrorField(err) != "batches[0].mutations[1].node.key" || err.(*Error).Message != msg {
			t.Errorf("CheckStoreKey(%q) = %v, want EINVALID %q", key, err, msg)
		}
	}
}
