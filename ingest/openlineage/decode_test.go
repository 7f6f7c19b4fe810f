package openlineage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/redthread/redthread/graph"
)

// minimal is a small valid RunEvent the table tests start from.
const minimal = `{
  "eventType": "START",
  "eventTime": "2025-06-14T03:00:00Z",
  "producer": "https://example.com/producer",
  "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
  "run": {"runId": "01976c2e-5b1a-7d3e-8f40-2a9c1d7e6b55"},
  "job": {"namespace": "ns", "name": "job"},
  "inputs": [
    {"namespace": "s3://b", "name": "in0"},
    {"namespace": "s3://b", "name": "in1"},
    {"namespace": "s3://b", "name": "in2"}
  ],
  "outputs": [{"namespace": "s3://b", "name": "out0"}]
}`

// edit decodes doc into generic JSON, lets change edit it, and encodes it.
func edit(t testing.TB, doc string, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func obj(m map[string]any, path ...any) map[string]any {
	var cur any = m
	for _, p := range path {
		switch k := p.(type) {
		case string:
			cur = cur.(map[string]any)[k]
		case int:
			cur = cur.([]any)[k]
		}
	}
	return cur.(map[string]any)
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name  string
		body  []byte
		field string
	}{
		{"empty body", []byte("  \n"), ""},
		{"not JSON", []byte(`{"eventTime": `), ""},
		{"trailing garbage", []byte(`{"eventTime": "x"} }`), ""},
		{"array", []byte(`[{"eventTime": "2025-06-14T03:00:00Z"}]`), ""},
		{"null", []byte(`null`), ""},
		{"string", []byte(`"event"`), ""},
		{"no run, job or dataset", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "producer": "p"}`), "job"},
		{"missing eventTime", edit(t, minimal, func(m map[string]any) { delete(m, "eventTime") }), "eventTime"},
		{"unparsable eventTime", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "yesterday" }), "eventTime"},
		{"eventTime with bad zone", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14T03:00:00+5" }), "eventTime"},
		{"eventTime month 13", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-13-14T03:00:00Z" }), "eventTime"},
		{"eventTime date only", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14" }), "eventTime"},
		{"eventTime empty fraction", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14T03:00:00.Z" }), "eventTime"},
		{"eventTime number", edit(t, minimal, func(m map[string]any) { m["eventTime"] = 1749870000 }), "eventTime"},
		{"unknown eventType", edit(t, minimal, func(m map[string]any) { m["eventType"] = "DONE" }), "eventType"},
		{"eventType number", edit(t, minimal, func(m map[string]any) { m["eventType"] = 3 }), "eventType"},
		{"producer object", edit(t, minimal, func(m map[string]any) { m["producer"] = map[string]any{} }), "producer"},
		{"missing runId", edit(t, minimal, func(m map[string]any) { delete(obj(m, "run"), "runId") }), "run.runId"},
		{"empty runId", edit(t, minimal, func(m map[string]any) { obj(m, "run")["runId"] = "" }), "run.runId"},
		{"runId number", edit(t, minimal, func(m map[string]any) { obj(m, "run")["runId"] = 7 }), "run.runId"},
		{"run facets string", edit(t, minimal, func(m map[string]any) { obj(m, "run")["facets"] = "x" }), "run.facets"},
		{"run not object", edit(t, minimal, func(m map[string]any) { m["run"] = []any{} }), "run"},
		{"RunEvent without job", edit(t, minimal, func(m map[string]any) { delete(m, "job") }), "job"},
		{"job not object", edit(t, minimal, func(m map[string]any) { m["job"] = "ns/job" }), "job"},
		{"missing job namespace", edit(t, minimal, func(m map[string]any) { delete(obj(m, "job"), "namespace") }), "job.namespace"},
		{"missing job name", edit(t, minimal, func(m map[string]any) { obj(m, "job")["name"] = "" }), "job.name"},
		{"job facets array", edit(t, minimal, func(m map[string]any) { obj(m, "job")["facets"] = []any{} }), "job.facets"},
		{"inputs not array", edit(t, minimal, func(m map[string]any) { m["inputs"] = map[string]any{} }), "inputs"},
		{"input not object", edit(t, minimal, func(m map[string]any) { m["inputs"].([]any)[1] = 5 }), "inputs[1]"},
		{"input namespace missing", edit(t, minimal, func(m map[string]any) { delete(obj(m, "inputs", 2), "namespace") }), "inputs[2].namespace"},
		{"input namespace number", edit(t, minimal, func(m map[string]any) { obj(m, "inputs", 1)["namespace"] = 5 }), "inputs[1].namespace"},
		{"input facets array", edit(t, minimal, func(m map[string]any) { obj(m, "inputs", 2)["facets"] = []any{1} }), "inputs[2].facets"},
		{"input inputFacets string", edit(t, minimal, func(m map[string]any) { obj(m, "inputs", 0)["inputFacets"] = "s" }), "inputs[0].inputFacets"},
		{"output name missing", edit(t, minimal, func(m map[string]any) { delete(obj(m, "outputs", 0), "name") }), "outputs[0].name"},
		{"output facets array", edit(t, minimal, func(m map[string]any) { obj(m, "outputs", 0)["facets"] = []any{} }), "outputs[0].facets"},
		{"JobEvent without job name", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "job": {"namespace": "ns"}}`), "job.name"},
		{"DatasetEvent without name", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "dataset": {"namespace": "ns"}}`), "dataset.name"},
		{"DatasetEvent without namespace", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "dataset": {"name": "n"}}`), "dataset.namespace"},
		{"dataset not object", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "dataset": 1}`), "dataset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := Decode(c.body)
			if err == nil {
				t.Fatalf("Decode accepted %s", c.body)
			}
			if ev != nil {
				t.Fatalf("Decode returned an event with error %v", err)
			}
			if code := graph.ErrorCode(err); code != graph.EINVALID {
				t.Fatalf("code %q, want %q (%v)", code, graph.EINVALID, err)
			}
			if f := graph.ErrorField(err); f != c.field {
				t.Fatalf("field %q, want %q (%v)", f, c.field, err)
			}
		})
	}
}

func TestDecodeLeniency(t *testing.T) {
	cases := []struct {
		name      string
		body      []byte
		kind      Kind
		eventType EventType
		time      string   // RFC 3339 in UTC; "" to skip
		warnings  []string // field of each warning, in order
	}{
		{"valid", []byte(minimal), KindRunEvent, EventStart, "2025-06-14T03:00:00Z", nil},
		{"missing eventType", edit(t, minimal, func(m map[string]any) { delete(m, "eventType") }), KindRunEvent, "", "", []string{"eventType"}},
		{"lower-case eventType", edit(t, minimal, func(m map[string]any) { m["eventType"] = "complete" }), KindRunEvent, EventComplete, "", []string{"eventType"}},
		{"padded eventType", edit(t, minimal, func(m map[string]any) { m["eventType"] = " Fail " }), KindRunEvent, EventFail, "", []string{"eventType"}},
		{"zone-less eventTime", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14T03:00:00.5" }), KindRunEvent, EventStart, "2025-06-14T03:00:00.5Z", []string{"eventTime"}},
		{"nanosecond eventTime", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14T03:00:00.123456789987654Z" }), KindRunEvent, EventStart, "2025-06-14T03:00:00.123456789Z", []string{"eventTime"}},
		{"zone-less nanosecond eventTime", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14T03:00:00.1234567891" }), KindRunEvent, EventStart, "2025-06-14T03:00:00.123456789Z", []string{"eventTime", "eventTime"}},
		{"offset eventTime", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14T00:00:00.25-03:00" }), KindRunEvent, EventStart, "2025-06-14T03:00:00.25Z", nil},
		{"compact offset eventTime", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14T05:00:00+0200" }), KindRunEvent, EventStart, "2025-06-14T03:00:00Z", nil},
		{"hour offset eventTime", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14T05:00:00+02" }), KindRunEvent, EventStart, "2025-06-14T03:00:00Z", nil},
		{"space and comma eventTime", edit(t, minimal, func(m map[string]any) { m["eventTime"] = "2025-06-14 03:00:00,75z" }), KindRunEvent, EventStart, "2025-06-14T03:00:00.75Z", nil},
		{"missing producer and schemaURL", edit(t, minimal, func(m map[string]any) { delete(m, "producer"); delete(m, "schemaURL") }), KindRunEvent, EventStart, "", []string{"producer", "schemaURL"}},
		{"schemaURL names another kind", edit(t, minimal, func(m map[string]any) {
			m["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"
		}), KindRunEvent, EventStart, "", []string{"schemaURL"}},
		{"runId not a UUID", edit(t, minimal, func(m map[string]any) { obj(m, "run")["runId"] = "spark-app-0042" }), KindRunEvent, EventStart, "", []string{"run.runId"}},
		{"MLflow runId", edit(t, minimal, func(m map[string]any) { obj(m, "run")["runId"] = "0A1B2C3D4E5F60718293A4B5C6D7E8F9" }), KindRunEvent, EventStart, "", nil},
		{"RunEvent with a dataset", edit(t, minimal, func(m map[string]any) { m["dataset"] = map[string]any{"namespace": "a", "name": "b"} }), KindRunEvent, EventStart, "", []string{"dataset"}},
		{"null facet", edit(t, minimal, func(m map[string]any) { obj(m, "run")["facets"] = map[string]any{"gone": nil} }), KindRunEvent, EventStart, "", []string{"run.facets.gone"}},
		{"facet of the wrong shape", edit(t, minimal, func(m map[string]any) {
			obj(m, "outputs", 0)["facets"] = map[string]any{"schema": map[string]any{"fields": "id,name"}}
		}), KindRunEvent, EventStart, "", []string{"outputs[0].facets.schema"}},
		{"facet not an object", edit(t, minimal, func(m map[string]any) {
			obj(m, "job")["facets"] = map[string]any{"sql": "SELECT 1", "odd.name": 3}
		}), KindRunEvent, EventStart, "", []string{"job.facets.sql"}},
		{"parent without job", edit(t, minimal, func(m map[string]any) {
			obj(m, "run")["facets"] = map[string]any{"parent": map[string]any{"run": map[string]any{"runId": "x"}}}
		}), KindRunEvent, EventStart, "", []string{"run.facets.parent"}},
		{"column lineage input without field", edit(t, minimal, func(m map[string]any) {
			obj(m, "outputs", 0)["facets"] = map[string]any{"columnLineage": map[string]any{"fields": map[string]any{
				"a b": map[string]any{"inputFields": []any{map[string]any{"namespace": "n", "name": "t"}}}}}}
		}), KindRunEvent, EventStart, "", []string{`outputs[0].facets.columnLineage.fields["a b"].inputFields[0]`}},
		{"JobEvent", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "producer": "p", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent", "job": {"namespace": "ns", "name": "j"}}`),
			KindJobEvent, "", "", nil},
		{"JobEvent with an eventType", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "producer": "p", "schemaURL": "s", "eventType": "START", "job": {"namespace": "ns", "name": "j"}}`),
			KindJobEvent, "", "", []string{"eventType"}},
		{"DatasetEvent", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "producer": "p", "schemaURL": "s", "dataset": {"namespace": "ns", "name": "d"}}`),
			KindDatasetEvent, "", "", nil},
		{"dataset and job, no hint", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "producer": "p", "schemaURL": "s", "job": {"namespace": "ns", "name": "j"}, "dataset": {"namespace": "ns", "name": "d"}}`),
			KindDatasetEvent, "", "", []string{"job"}},
		{"dataset and job, JobEvent hint", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "producer": "p", "schemaURL": "x#/$defs/JobEvent", "job": {"namespace": "ns", "name": "j"}, "dataset": {"namespace": "ns", "name": "d"}}`),
			KindJobEvent, "", "", []string{"dataset"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := Decode(c.body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.Kind() != c.kind {
				t.Errorf("kind %q, want %q", ev.Kind(), c.kind)
			}
			if ev.EventType() != c.eventType {
				t.Errorf("eventType %q, want %q", ev.EventType(), c.eventType)
			}
			if c.time != "" {
				if got := ev.EventTime().Format(time.RFC3339Nano); got != c.time {
					t.Errorf("eventTime %s, want %s", got, c.time)
				}
			}
			if ev.EventTime().Location() != time.UTC {
				t.Errorf("eventTime location %v, want UTC", ev.EventTime().Location())
			}
			var fields []string
			for _, w := range ev.Warnings {
				f, _, _ := strings.Cut(w, ": ")
				fields = append(fields, f)
			}
			if d := cmp.Diff(c.warnings, fields); d != "" {
				t.Errorf("warning fields (-want +got):\n%s\nwarnings: %q", d, ev.Warnings)
			}
		})
	}
}

func TestDecodeAccessors(t *testing.T) {
	ev, err := Decode(readFixture(t, "airflow_task_complete.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind() != KindRunEvent || ev.RunEvent == nil || ev.JobEvent != nil || ev.DatasetEvent != nil {
		t.Fatalf("kind %q, events %v %v %v", ev.Kind(), ev.RunEvent != nil, ev.JobEvent != nil, ev.DatasetEvent != nil)
	}
	got := map[string]any{
		"time":        ev.EventTime().Format(time.RFC3339Nano),
		"producer":    ev.Producer(),
		"schemaURL":   ev.SchemaURL(),
		"eventType":   ev.EventType(),
		"runID":       ev.RunID(),
		"runKey":      ev.RunKey(),
		"jobKey":      ev.JobKey(),
		"datasetKey":  ev.DatasetKey(),
		"correlation": ev.CorrelationID(),
		"inputs":      ev.InputKeys(),
		"outputs":     ev.OutputKeys(),
	}
	want := map[string]any{
		"time":        "2025-06-14T03:17:42.518Z",
		"producer":    "https://github.com/apache/airflow/tree/providers-openlineage/2.3.0",
		"schemaURL":   "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
		"eventType":   EventComplete,
		"runID":       "01976c2e-5b1a-7d3e-8f40-2a9c1d7e6b55",
		"runKey":      "run:01976c2e-5b1a-7d3e-8f40-2a9c1d7e6b55",
		"jobKey":      "job:airflow-prod:credit_risk_daily.build_features",
		"datasetKey":  "",
		"correlation": "z1-2025-06-13-0042",
		"inputs": []string{
			graph.DatasetKey("postgres://warehouse.internal:5432", "analytics.public.transactions"),
			graph.DatasetKey("postgres://warehouse.internal:5432", "analytics.public.customers"),
		},
		"outputs": []string{graph.DatasetVersionKey("postgres://warehouse.internal:5432", "analytics.features.risco_cliente", "2025-06-13")},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("accessors (-want +got):\n%s", d)
	}

	f := ev.RunEvent.Run.Facets
	if f.Parent == nil || f.Parent.Run.RunID != "01976c2d-0c00-7a11-b3c4-5e6f70819a2b" || f.Parent.Job.Name != "credit_risk_daily" ||
		f.Parent.Root == nil || f.Parent.Root.Job.Namespace != "airflow-prod" {
		t.Errorf("parent facet %+v", f.Parent)
	}
	if f.NominalTime == nil || f.NominalTime.NominalStartTime != "2025-06-13T03:00:00+00:00" {
		t.Errorf("nominalTime facet %+v", f.NominalTime)
	}
	jf := ev.RunEvent.Job.Facets
	if jf.SQL == nil || jf.Ownership == nil || len(jf.Ownership.Owners) != 2 || jf.JobType == nil || jf.JobType.Integration != "AIRFLOW" ||
		jf.SourceCodeLocation == nil || jf.Documentation == nil {
		t.Errorf("job facets %+v", jf)
	}
	in := ev.RunEvent.Inputs[0].InputFacets.InputStatistics
	if in == nil || in.RowCount == nil || *in.RowCount != 1843221 || in.Size == nil || *in.Size != 402653184 || in.FileCount != nil {
		t.Errorf("inputStatistics %+v", in)
	}

	for _, k := range []Kind{KindJobEvent, KindDatasetEvent} {
		var nilEvent *Event
		if nilEvent.Kind() != "" || nilEvent.RunKey() != "" || nilEvent.Producer() != "" || nilEvent.InputKeys() != nil {
			t.Fatalf("nil event accessors are not zero (%s)", k)
		}
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeKeepsEveryFacetRaw checks that every facet of every fixture,
// known or custom, reaches the decoded event byte for byte.
func TestDecodeKeepsEveryFacetRaw(t *testing.T) {
	for _, file := range fixtures(t) {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := Decode(body)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var w wireEvent
		if err := json.Unmarshal(body, &w); err != nil {
			t.Fatal(err)
		}
		check := func(where string, want, got graph.Facets) {
			for name, raw := range want {
				if isNull(raw) {
					if _, kept := got[name]; kept {
						t.Errorf("%s: %s.%s: null facet kept", file, where, name)
					}
					continue
				}
				if string(got[name]) != string(raw) {
					t.Errorf("%s: %s.%s not kept verbatim", file, where, name)
				}
			}
			if len(got) > len(want) {
				t.Errorf("%s: %s has facets the body does not", file, where)
			}
		}
		switch {
		case ev.RunEvent != nil:
			check("run.facets", w.Run.Facets, ev.RunEvent.Run.Facets.Raw)
			check("job.facets", w.Job.Facets, ev.RunEvent.Job.Facets.Raw)
			for i, in := range ev.RunEvent.Inputs {
				check("inputs.facets", w.Inputs[i].Facets, in.Facets.Raw)
				check("inputs.inputFacets", w.Inputs[i].InputFacets, in.InputFacets.Raw)
			}
			for i, out := range ev.RunEvent.Outputs {
				check("outputs.facets", w.Outputs[i].Facets, out.Facets.Raw)
				check("outputs.outputFacets", w.Outputs[i].OutputFacets, out.OutputFacets.Raw)
			}
		case ev.JobEvent != nil:
			check("job.facets", w.Job.Facets, ev.JobEvent.Job.Facets.Raw)
		case ev.DatasetEvent != nil:
			check("dataset.facets", w.Dataset.Facets, ev.DatasetEvent.Dataset.Facets.Raw)
		}
	}
}

// TestSpecTypesRoundTrip checks that the spec types marshal their facets
// verbatim and decode them back, typed and raw, without Decode.
func TestSpecTypesRoundTrip(t *testing.T) {
	ev, err := Decode(readFixture(t, "dbt_run_complete.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ev.RunEvent)
	if err != nil {
		t.Fatal(err)
	}
	var back RunEvent
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	// Facets come back compacted (encoding/json compacts raw JSON); the
	// typed view must be the same.
	ignoreRaw := cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		return ok && sf.Name() == "Raw"
	}, cmp.Ignore())
	if d := cmp.Diff(*ev.RunEvent, back, ignoreRaw); d != "" {
		t.Fatalf("round trip (-decoded +unmarshalled):\n%s", d)
	}
	again, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(b) {
		t.Fatal("second marshal differs from the first")
	}
	if back.Inputs[0].InputFacets.DataQualityMetrics == nil || back.Outputs[0].Facets.Schema == nil {
		t.Fatal("typed facets not decoded by UnmarshalJSON")
	}
	if !json.Valid(b) {
		t.Fatal("marshalled event is not valid JSON")
	}
}

func TestFindCorrelationID(t *testing.T) {
	body := edit(t, minimal, func(m map[string]any) {
		obj(m, "run")["facets"] = map[string]any{
			"aaa":         map[string]any{"z1_correlation_id": "from-aaa"},
			"correlation": map[string]any{"z1_correlation_id": "from-correlation"},
			"tags": map[string]any{"tags": []any{
				map[string]any{"key": "z1_correlation_id", "value": "from-correlation"},
				map[string]any{"key": "z1_correlation_id", "value": "from-tags"},
			}},
			"nested": map[string]any{"inner": map[string]any{"z1_correlation_id": "not-top-level"}},
		}
	})
	ev, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.CorrelationID() != "from-correlation" {
		t.Fatalf("correlation id %q, want the named facet's", ev.CorrelationID())
	}
	want := []string{
		`run.facets.aaa.z1_correlation_id: correlation id "from-aaa" differs from "from-correlation" in run.facets.correlation.z1_correlation_id; ignored`,
		`run.facets.tags.tags[1]: correlation id "from-tags" differs from "from-correlation" in run.facets.correlation.z1_correlation_id; ignored`,
	}
	if d := cmp.Diff(want, ev.Warnings); d != "" {
		t.Fatalf("warnings (-want +got):\n%s", d)
	}
}

func TestDecodeBatch(t *testing.T) {
	items, err := DecodeBatch([]byte(" [" + minimal + `, {"eventTime": "x"}, null]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("%d items, want 3", len(items))
	}
	if _, err := Decode(items[0]); err != nil {
		t.Fatalf("item 0: %v", err)
	}
	if _, err := Decode(items[2]); graph.ErrorCode(err) != graph.EINVALID {
		t.Fatalf("null item: %v", err)
	}
	if items, err := DecodeBatch([]byte(`[]`)); err != nil || len(items) != 0 {
		t.Fatalf("empty batch: %v %v", items, err)
	}
	for _, bad := range []string{"", minimal, `[{"a": 1},`, `"x"`, `42`} {
		_, err := DecodeBatch([]byte(bad))
		if graph.ErrorCode(err) != graph.EINVALID {
			t.Errorf("DecodeBatch(%.20q) error %v, want EINVALID", bad, err)
		}
	}
	_, err = DecodeBatch([]byte(minimal))
	if !strings.Contains(graph.ErrorMessage(err), "array") {
		t.Errorf("error for an object does not say an array is wanted: %v", err)
	}
}

func TestJoinPath(t *testing.T) {
	cases := map[[2]string]string{
		{"", "run"}:                     "run",
		{"run", "facets"}:               "run.facets",
		{"run.facets", "spark.logical"}: `run.facets["spark.logical"]`,
		{"f", "with space"}:             `f["with space"]`,
		{"f", "environment-properties"}: "f.environment-properties",
		{"f", ""}:                       `f[""]`,
		{"f", "ção"}:                    `f["ção"]`,
		{"", "x.y"}:                     `["x.y"]`,
		{"outputs[0].facets", "schema"}: "outputs[0].facets.schema",
	}
	for in, want := range cases {
		if got := joinPath(in[0], in[1]); got != want {
			t.Errorf("joinPath(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

func TestEventTypeTerminal(t *testing.T) {
	var terminal []EventType
	for _, et := range []EventType{EventStart, EventRunning, EventComplete, EventAbort, EventFail, EventOther} {
		if et.Terminal() {
			terminal = append(terminal, et)
		}
	}
	if !slices.Equal(terminal, []EventType{EventComplete, EventAbort, EventFail}) {
		t.Fatalf("terminal types %v", terminal)
	}
}

func TestDecodeWarningsCapped(t *testing.T) {
	ev := mustDecode(t, edit(t, minimal, func(m map[string]any) {
		facets := map[string]any{}
		for i := range MaxWarnings + 7 {
			facets[fmt.Sprintf("f%03d", i)] = nil
		}
		obj(m, "run")["facets"] = facets
	}))
	if len(ev.Warnings) != MaxWarnings+1 {
		t.Fatalf("%d warnings, want %d", len(ev.Warnings), MaxWarnings+1)
	}
	if last := ev.Warnings[MaxWarnings]; last != "(event): 7 more warnings not listed" {
		t.Fatalf("last warning %q", last)
	}
}

// TestDecodeOwnedSharesDecodeCopies decodes every fixture both ways: the
// events are equal; overwriting the body afterwards leaves Decode's event
// as it was (it copied) and shows in DecodeOwned's (it shares, as its
// callers are told).
func TestDecodeOwnedSharesDecodeCopies(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			orig, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			copied := mustDecode(t, bytes.Clone(orig))
			ownedBody := bytes.Clone(orig)
			owned, err := DecodeOwned(ownedBody)
			if err != nil {
				t.Fatalf("DecodeOwned: %v", err)
			}
			want := Map(copied, 1)
			if diff := cmp.Diff(want, Map(owned, 1)); diff != "" {
				t.Fatalf("DecodeOwned maps differently: (-Decode +DecodeOwned)\n%s", diff)
			}
			copiedBody := bytes.Clone(orig)
			copied = mustDecode(t, copiedBody)
			for i := range copiedBody {
				copiedBody[i], ownedBody[i] = ' ', ' '
			}
			if diff := cmp.Diff(want, Map(copied, 1)); diff != "" {
				t.Fatalf("Decode's event changed with its body: (-before +after)\n%s", diff)
			}
			if reflect.DeepEqual(want, Map(owned, 1)) && hasFacets(want) {
				t.Fatal("DecodeOwned's facets did not share the body")
			}
		})
	}
}

// hasFacets reports whether any mutation carries a facet.
func hasFacets(muts []graph.Mutation) bool {
	for _, m := range muts {
		if len(m.Node.Facets) > 0 || len(m.Edge.Facets) > 0 {
			return true
		}
	}
	return false
}
