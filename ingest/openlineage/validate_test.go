package openlineage

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/redthread/redthread/graph"
)

// specDir is the OpenLineage schema directory shipped beside the repo
// (shared/openlineage-spec), relative to this package's directory.
var specDir = filepath.Join("..", "..", "..", "shared", "openlineage-spec")

var (
	validatorOnce sync.Once
	validator     *Validator
	validatorErr  error
)

// testValidator compiles the spec once per test binary. Without the spec
// directory the strict-mode tests skip locally and fail in CI.
func testValidator(t testing.TB) *Validator {
	t.Helper()
	if _, err := os.Stat(filepath.Join(specDir, "OpenLineage.json")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("OpenLineage spec directory missing: %v", err)
		}
		t.Skipf("OpenLineage spec directory missing: %v", err)
	}
	validatorOnce.Do(func() { validator, validatorErr = NewValidator(specDir) })
	if validatorErr != nil {
		t.Fatalf("NewValidator: %v", validatorErr)
	}
	return validator
}

// strictEvent is a spec-valid RunEvent with facets the table edits.
const strictEvent = `{
  "eventType": "COMPLETE",
  "eventTime": "2025-06-14T03:00:00.123Z",
  "producer": "https://example.com/producer",
  "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
  "run": {
    "runId": "01976c2e-5b1a-7d3e-8f40-2a9c1d7e6b55",
    "facets": {
      "parent": {
        "_producer": "https://example.com/producer",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet",
        "run": {"runId": "01976c2d-0c00-7a11-b3c4-5e6f70819a2b"},
        "job": {"namespace": "airflow", "name": "dag"}
      },
      "custom": {"_producer": "https://example.com/producer", "_schemaURL": "https://example.com/schemas/custom.json", "anything": [1, {"x": null}]}
    }
  },
  "job": {"namespace": "ns", "name": "job"},
  "inputs": [
    {"namespace": "s3://b", "name": "in0"},
    {"namespace": "s3://b", "name": "in1"}
  ],
  "outputs": [{
    "namespace": "s3://b",
    "name": "out0",
    "facets": {
      "schema": {
        "_producer": "https://example.com/producer",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}]
      },
      "lifecycleStateChange": {
        "_producer": "https://example.com/producer",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/LifecycleStateChangeDatasetFacet.json#/$defs/LifecycleStateChangeDatasetFacet",
        "lifecycleStateChange": "CREATE"
      }
    }
  }]
}`

func TestValidatorAcceptsFixtures(t *testing.T) {
	v := testValidator(t)
	if err := v.Validate([]byte(strictEvent)); err != nil {
		t.Fatalf("strictEvent: %v", err)
	}
	for _, file := range fixtures(t) {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		err = v.Validate(body)
		// The lenient fixture is out of spec on purpose.
		if strings.Contains(file, "lenient") {
			if graph.ErrorCode(err) != graph.EINVALID {
				t.Errorf("%s: strict mode accepted it (%v)", file, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

func TestValidatorRejects(t *testing.T) {
	v := testValidator(t)
	cases := []struct {
		name   string
		body   []byte
		field  string
		reason string // a substring of the message
	}{
		{"not JSON", []byte(`{"run": `), "", "JSON"},
		{"not an object", []byte(`[]`), "", "object"},
		{"no kind", []byte(`{"eventTime": "2025-06-14T03:00:00Z"}`), "job", "missing"},
		{"runId not a UUID", edit(t, strictEvent, func(m map[string]any) { obj(m, "run")["runId"] = "spark-42" }), "run.runId", "uuid"},
		{"zone-less eventTime", edit(t, strictEvent, func(m map[string]any) { m["eventTime"] = "2025-06-14T03:00:00" }), "eventTime", "date-time"},
		{"missing producer", edit(t, strictEvent, func(m map[string]any) { delete(m, "producer") }), "producer", "missing"},
		{"producer not a URI", edit(t, strictEvent, func(m map[string]any) { m["producer"] = "my producer" }), "producer", "uri"},
		{"unknown eventType", edit(t, strictEvent, func(m map[string]any) { m["eventType"] = "DONE" }), "eventType", "DONE"},
		{"lower-case eventType", edit(t, strictEvent, func(m map[string]any) { m["eventType"] = "complete" }), "eventType", "complete"},
		{"input without namespace", edit(t, strictEvent, func(m map[string]any) { delete(obj(m, "inputs", 1), "namespace") }), "inputs[1].namespace", "missing"},
		{"job name number", edit(t, strictEvent, func(m map[string]any) { obj(m, "job")["name"] = 5 }), "job.name", "string"},
		{"custom facet without _producer", edit(t, strictEvent, func(m map[string]any) {
			delete(obj(m, "run", "facets", "custom"), "_producer")
		}), "run.facets.custom._producer", "missing"},
		{"dotted facet name", edit(t, strictEvent, func(m map[string]any) {
			obj(m, "run", "facets")["spark.logicalPlan"] = map[string]any{"_schemaURL": "https://example.com/x.json"}
		}), `run.facets["spark.logicalPlan"]._producer`, "missing"},
		{"parent facet without job", edit(t, strictEvent, func(m map[string]any) {
			delete(obj(m, "run", "facets", "parent"), "job")
		}), "run.facets.parent.job", "missing"},
		{"parent runId not a UUID", edit(t, strictEvent, func(m map[string]any) {
			obj(m, "run", "facets", "parent", "run")["runId"] = "dag-run-1"
		}), "run.facets.parent.run.runId", "uuid"},
		{"facet named by an older core URL", edit(t, strictEvent, func(m map[string]any) {
			p := obj(m, "run", "facets", "parent")
			p["_schemaURL"] = "https://openlineage.io/spec/1-0-2/OpenLineage.json#/$defs/ParentRunFacet"
			delete(p, "job")
		}), "run.facets.parent.job", "missing"},
		{"facet named by file only", edit(t, strictEvent, func(m map[string]any) {
			p := obj(m, "run", "facets", "parent")
			p["_schemaURL"] = "https://openlineage.io/spec/facets/1-0-0/ParentRunFacet.json"
			delete(p, "job")
		}), "run.facets.parent.job", "missing"},
		{"schema field without name", edit(t, strictEvent, func(m map[string]any) {
			delete(obj(m, "outputs", 0, "facets", "schema", "fields", 1), "name")
		}), "outputs[0].facets.schema.fields[1].name", "missing"},
		{"lifecycle state outside the enum", edit(t, strictEvent, func(m map[string]any) {
			obj(m, "outputs", 0, "facets", "lifecycleStateChange")["lifecycleStateChange"] = "MOVE"
		}), "outputs[0].facets.lifecycleStateChange.lifecycleStateChange", "MOVE"},
		{"dataset and job without run", []byte(`{"eventTime": "2025-06-14T03:00:00Z", "producer": "https://p.example", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
			"job": {"namespace": "n", "name": "j"}, "dataset": {"namespace": "n", "name": "d"}}`), "", "exactly one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := v.Validate(c.body)
			if err == nil {
				t.Fatalf("strict mode accepted %s", c.body)
			}
			if code := graph.ErrorCode(err); code != graph.EINVALID {
				t.Fatalf("code %q (%v)", code, err)
			}
			if f := graph.ErrorField(err); f != c.field {
				t.Fatalf("field %q, want %q (%v)", f, c.field, err)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("message %q does not say %q", err.Error(), c.reason)
			}
		})
	}
}

func TestValidatorIgnoresUnknownFacetSchemas(t *testing.T) {
	v := testValidator(t)
	// A custom facet whose own schema would forbid it: the validator never
	// fetches non-spec URLs, so only the base-facet rules apply.
	body := edit(t, strictEvent, func(m map[string]any) {
		obj(m, "run", "facets")["remote"] = map[string]any{
			"_producer":  "https://example.com/p",
			"_schemaURL": "https://schemas.example.com/RemoteFacet.json#/$defs/SchemaDatasetFacet",
			"fields":     "not a list",
		}
	})
	if err := v.Validate(body); err != nil {
		t.Fatal(err)
	}
}

func TestNewValidatorErrors(t *testing.T) {
	if _, err := NewValidator(t.TempDir()); err == nil {
		t.Fatal("NewValidator accepted a directory without OpenLineage.json")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "OpenLineage.json"), []byte(`{"$id": "https://elsewhere.example/x.json"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewValidator(dir); err == nil {
		t.Fatal("NewValidator accepted a core schema outside the spec URL")
	}
}

func TestValidatorConcurrent(t *testing.T) {
	v := testValidator(t)
	body := readFixture(t, "airflow_task_complete.json")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- v.Validate(body)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestValidatorOfflineVersions: a reference to another version of the core
// schema, or to a facet file under another version, resolves to the local
// copy; anything outside the spec prefix is refused, never fetched.
func TestValidatorOfflineVersions(t *testing.T) {
	testValidator(t) // skips without the spec directory
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "facets"), 0o755); err != nil {
		t.Fatal(err)
	}
	core, err := os.ReadFile(filepath.Join(specDir, "OpenLineage.json"))
	if err != nil {
		t.Fatal(err)
	}
	sql, err := os.ReadFile(filepath.Join(specDir, "facets", "SQLJobFacet.json"))
	if err != nil {
		t.Fatal(err)
	}
	sql = []byte(strings.ReplaceAll(string(sql), "/spec/2-0-2/OpenLineage.json", "/spec/2-0-1/OpenLineage.json"))
	for name, b := range map[string][]byte{"OpenLineage.json": core, "facets/SQLJobFacet.json": sql} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v, err := NewValidator(dir)
	if err != nil {
		t.Fatalf("NewValidator with a reference to another core version: %v", err)
	}
	body := edit(t, strictEvent, func(m map[string]any) {
		obj(m, "job")["facets"] = map[string]any{"sql": map[string]any{
			"_producer":  "https://example.com/p",
			"_schemaURL": "https://openlineage.io/spec/facets/1-0-0/SQLJobFacet.json#/$defs/SQLJobFacet",
		}}
	})
	if f := graph.ErrorField(v.Validate(body)); f != "job.facets.sql.query" {
		t.Fatalf("field %q, want job.facets.sql.query", f)
	}

	l := offlineLoader{dir: dir}
	if _, err := l.Load("https://openlineage.io/spec/facets/9-9-9/SQLJobFacet.json"); err != nil {
		t.Errorf("versioned facet URL: %v", err)
	}
	for _, u := range []string{"https://example.com/schema.json", "https://openlineage.io/spec/facets/1-0-0/Missing.json", "https://openlineage.io/spec/other.json"} {
		if _, err := l.Load(u); err == nil {
			t.Errorf("Load(%q) succeeded", u)
		}
	}
}
