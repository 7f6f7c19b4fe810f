package graph

import (
	"reflect"
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

// TestOverlaySkipsPropsItHolds checks the shortcut for props the patch
// already holds: they leave the patch as it was (not even copied) while
// provenance still merges, and anything else, a value of another type
// included, takes the general path.
func TestOverlaySkipsPropsItHolds(t *testing.T) {
	first := Props{"name": "x", "n": int64(1), "tags": []string{"a"}, "ok": true, "gone": nil}
	var o Overlay
	if err := o.Add(first, nil, Provenance{LastOffset: 1}); err != nil {
		t.Fatal(err)
	}
	same := func(p Props) bool {
		return reflect.ValueOf(p).UnsafePointer() == reflect.ValueOf(first).UnsafePointer()
	}
	if err := o.Add(Props{"name": "x", "n": int64(1), "tags": []string{"a"}, "ok": true}, nil, Provenance{LastOffset: 2}); err != nil {
		t.Fatal(err)
	}
	if !same(o.Patch) || o.patchOwned || o.Prov.LastOffset != 2 {
		t.Fatalf("held props: patch copied %v, owned %v, last offset %d", !same(o.Patch), o.patchOwned, o.Prov.LastOffset)
	}
	for _, tc := range []struct {
		props Props
		want  Props
	}{
		{Props{"n": 1}, Props{"name": "x", "n": int64(1), "tags": []string{"a"}, "ok": true, "gone": nil}},
		{Props{"tags": []string{"a", "b"}}, Props{"name": "x", "n": int64(1), "tags": []string{"a", "b"}, "ok": true, "gone": nil}},
		{Props{"tags": []string{"a", "c"}}, Props{"name": "x", "n": int64(1), "tags": []string{"a", "c"}, "ok": true, "gone": nil}},
		{Props{"gone": nil, "ok": false}, Props{"name": "x", "n": int64(1), "tags": []string{"a", "c"}, "ok": false, "gone": nil}},
		{Props{"new": "y"}, Props{"name": "x", "n": int64(1), "tags": []string{"a", "c"}, "ok": false, "gone": nil, "new": "y"}},
	} {
		if err := o.Add(tc.props, nil, Provenance{}); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, o.Patch); d != "" {
			t.Fatalf("after %v (-want +got):\n%s", tc.props, d)
		}
	}
	if same(o.Patch) || first["n"] != int64(1) || len(first) != 5 {
		t.Fatalf("the general path wrote to the caller's props: %v", first)
	}
}

// TestMutationRefField checks the field names stores give in errors, for a
// mutation and for an upsert of a group.
func TestMutationRefField(t *testing.T) {
	r := MutationRef{Batch: 2, Mutation: 5}
	for _, c := range []struct{ got, want string }{
		{r.Field(".edge.type"), "batches[2].mutations[5].edge.type"},
		{r.Field(".kind"), "batches[2].mutations[5].kind"},
		{r.Entry(0).Field(".node.label"), "batches[2].mutations[5].group.nodes[0].label"},
		{r.Entry(3).Field(".edge.props.x"), "batches[2].mutations[5].group.edges[3].props.x"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
