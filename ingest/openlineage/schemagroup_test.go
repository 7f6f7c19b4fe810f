package openlineage

import (
	"reflect"
	"strings"
	"testing"

	"github.com/redthread/redthread/graph"
)

// groupsOf returns the groups of muts' group upserts, in order.
func groupsOf(muts []graph.Mutation) []*graph.Group {
	var gs []*graph.Group
	for _, m := range muts {
		if m.Kind == graph.UpsertGroup {
			gs = append(gs, m.Group.Group)
		}
	}
	return gs
}

func schemaFacet(fields ...map[string]any) map[string]any {
	fs := make([]any, len(fields))
	for i, f := range fields {
		fs[i] = f
	}
	return map[string]any{"schema": map[string]any{"fields": fs}}
}

func field(name, typ string) map[string]any { return map[string]any{"name": name, "type": typ} }

// TestSchemaGroupsShared checks that events sending the same schema for a
// dataset share one group, and that another schema, or the same schema
// of another dataset, gets a group of its own.
func TestSchemaGroupsShared(t *testing.T) {
	withSchema := func(ns string, fields ...map[string]any) *Event {
		return mustDecode(t, edit(t, minimal, func(m map[string]any) {
			obj(m, "outputs", 0)["namespace"] = ns
			obj(m, "outputs", 0)["facets"] = schemaFacet(fields...)
		}))
	}
	a := withSchema("s3://shared-a", field("id", "BIGINT"), field("amount", "DECIMAL"))
	first, again := groupsOf(Map(a, 1)), groupsOf(Map(a, 2))
	if len(first) != 1 || len(again) != 1 || first[0] != again[0] {
		t.Fatalf("the same schema twice: groups %p and %p, want one shared", first, again)
	}
	if n := len(first[0].Nodes); n != 2 {
		t.Fatalf("group of %d nodes, want the 2 fields", n)
	}
	other := groupsOf(Map(withSchema("s3://shared-a", field("id", "BIGINT"), field("amount", "DOUBLE")), 3))
	elsewhere := groupsOf(Map(withSchema("s3://shared-b", field("id", "BIGINT"), field("amount", "DECIMAL")), 4))
	if len(other) != 1 || other[0] == first[0] || len(elsewhere) != 1 || elsewhere[0] == first[0] {
		t.Fatal("another schema, or another dataset, shares the first group")
	}
	for i, ev := range []*Event{a, a} {
		checkMapping(t, ev, Map(ev, int64(i+1)), int64(i+1))
	}
}

// TestSchemaGroupsClash maps events where a dataset's fields are upserted
// by more than its one schema: checkMapping holds each to what mapping
// every field on its own gives, in order.
func TestSchemaGroupsClash(t *testing.T) {
	cases := map[string]func(m map[string]any){
		// The input and the output are the same dataset, sent with two
		// schemas that share a field of another type: the output's wins.
		"one dataset, two schemas": func(m map[string]any) {
			in, out := obj(m, "inputs", 0), obj(m, "outputs", 0)
			in["name"], out["name"] = "same", "same"
			in["facets"] = schemaFacet(field("id", "INT"), field("name", "STRING"))
			out["facets"] = schemaFacet(field("id", "BIGINT"), field("email", "STRING"))
		},
		// The same dataset and schema twice: one group.
		"one dataset, one schema twice": func(m map[string]any) {
			in, out := obj(m, "inputs", 0), obj(m, "outputs", 0)
			in["name"], out["name"] = "same", "same"
			in["facets"] = schemaFacet(field("id", "INT"))
			out["facets"] = schemaFacet(field("id", "INT"))
		},
		// An input's column lineage names fields of a dataset whose schema
		// comes later in the event, with a field of its own.
		"column lineage before the schema": func(m map[string]any) {
			obj(m, "inputs", 0)["facets"] = map[string]any{"columnLineage": map[string]any{"fields": map[string]any{
				"x": map[string]any{"inputFields": []any{map[string]any{"namespace": "s3://b", "name": "out0", "field": "id"}}},
			}}}
			obj(m, "outputs", 0)["facets"] = schemaFacet(field("id", "BIGINT"), field("total", "DOUBLE"))
		},
		// Column lineage after the schema names its fields and one more.
		"column lineage after the schema": func(m map[string]any) {
			obj(m, "inputs", 1)["facets"] = schemaFacet(field("id", "BIGINT"))
			f := schemaFacet(field("id", "BIGINT"), field("total", "DOUBLE"))
			f["columnLineage"] = map[string]any{"fields": map[string]any{
				"total": map[string]any{"inputFields": []any{
					map[string]any{"namespace": "s3://b", "name": "in1", "field": "id"},
					map[string]any{"namespace": "s3://b", "name": "in1", "field": "unlisted"},
				}},
				"extra": map[string]any{"inputFields": []any{map[string]any{"namespace": "s3://b", "name": "in1", "field": "id"}}},
			}}
			obj(m, "outputs", 0)["facets"] = f
		},
	}
	lineage := func(typ string) map[string]any {
		return map[string]any{"columnLineage": map[string]any{"fields": map[string]any{
			"total": map[string]any{"inputFields": []any{map[string]any{
				"namespace": "s3://b", "name": "in1", "field": "amount",
				"transformations": []any{map[string]any{"type": typ, "subtype": "SUM"}},
			}}},
		}}}
	}
	// The same dataset twice with two column lineage facets that derive
	// one edge: its transformations are both facets'.
	cases["one dataset, two column lineages"] = func(m map[string]any) {
		in, out := obj(m, "inputs", 0), obj(m, "outputs", 0)
		in["name"], out["name"] = "same", "same"
		in["facets"], out["facets"] = lineage("DIRECT"), lineage("INDIRECT")
	}
	cases["one dataset, one column lineage twice"] = func(m map[string]any) {
		in, out := obj(m, "inputs", 0), obj(m, "outputs", 0)
		in["name"], out["name"] = "same", "same"
		in["facets"], out["facets"] = lineage("DIRECT"), lineage("DIRECT")
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			ev := mustDecode(t, edit(t, minimal, change))
			muts := Map(ev, 7)
			checkMapping(t, ev, muts, 7)
			t.Logf("%d mutations, %d groups", len(muts), len(groupsOf(muts)))
		})
	}
	ev := mustDecode(t, edit(t, minimal, cases["one dataset, two column lineages"]))
	e := edgeIDs(flatMap(ev, 1))[graph.Edge{From: graph.FieldKey("s3://b", "in1", "amount"), Type: graph.EdgeDerives, To: graph.FieldKey("s3://b", "same", "total")}.ID()]
	if got := e.Props["transformation_types"]; !reflect.DeepEqual(got, []string{"DIRECT", "INDIRECT"}) {
		t.Fatalf("transformation types %v, want both facets'", got)
	}
	// The first case's id field is the output's BIGINT.
	ev = mustDecode(t, edit(t, minimal, cases["one dataset, two schemas"]))
	if got := findNode(t, flatMap(ev, 1), graph.FieldKey("s3://b", "same", "id")).Props["type"]; got != "BIGINT" {
		t.Fatalf("field id has type %v, want the later schema's BIGINT", got)
	}
}

// TestFacetCache checks that events sending the same schema and column
// lineage text share one decoded facet each, and that a facet that does
// not decode is warned about in every event that sends it.
func TestFacetCache(t *testing.T) {
	body := edit(t, minimal, func(m map[string]any) {
		f := schemaFacet(field("id", "BIGINT"))
		f["columnLineage"] = map[string]any{"fields": map[string]any{
			"id": map[string]any{"inputFields": []any{map[string]any{"namespace": "s3://b", "name": "in0", "field": "id"}}},
		}}
		obj(m, "outputs", 0)["facets"] = f
	})
	a, b := mustDecode(t, body), mustDecode(t, body)
	fa, fb := a.RunEvent.Outputs[0].Facets, b.RunEvent.Outputs[0].Facets
	if fa.Schema == nil || fa.Schema != fb.Schema || fa.ColumnLineage == nil || fa.ColumnLineage != fb.ColumnLineage {
		t.Fatal("the same facet texts decoded twice")
	}
	bad := edit(t, minimal, func(m map[string]any) {
		obj(m, "outputs", 0)["facets"] = map[string]any{"schema": map[string]any{"fields": "not a list"}}
	})
	for range 2 {
		ev := mustDecode(t, bad)
		if ev.RunEvent.Outputs[0].Facets.Schema != nil || len(ev.Warnings) != 1 || !strings.Contains(ev.Warnings[0], "schema") {
			t.Fatalf("schema %v, warnings %q", ev.RunEvent.Outputs[0].Facets.Schema, ev.Warnings)
		}
	}
}

// TestEmptyFacetsMakeNoGroup checks that a schema without fields and a
// column lineage without edges add no group upsert.
func TestEmptyFacetsMakeNoGroup(t *testing.T) {
	ev := mustDecode(t, edit(t, minimal, func(m map[string]any) {
		f := schemaFacet()
		f["columnLineage"] = map[string]any{"fields": map[string]any{"id": map[string]any{"inputFields": []any{}}}}
		obj(m, "outputs", 0)["facets"] = f
	}))
	muts := Map(ev, 1)
	checkMapping(t, ev, muts, 1)
	if gs := groupsOf(muts); len(gs) != 0 {
		t.Fatalf("%d groups for empty facets", len(gs))
	}
	if findNode(t, muts, graph.FieldKey("s3://b", "out0", "id")).Label != graph.LabelField {
		t.Fatal("the field column lineage names was not upserted")
	}
}
