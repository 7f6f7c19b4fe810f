package workload

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// specDir holds the OpenLineage JSON Schemas (shared reference data).
const specDir = "../../../shared/openlineage-spec"

const specPrefix = "https://openlineage.io/spec/"

// specLoader serves https://openlineage.io/spec/… from specDir, so that
// validation needs no network. Facet files are stored without their
// version directory.
type specLoader struct{ dir string }

func (l specLoader) Load(url string) (any, error) {
	rest, ok := strings.CutPrefix(url, specPrefix)
	if !ok {
		return nil, fmt.Errorf("refusing to fetch %s", url)
	}
	file := filepath.Join(l.dir, path.Base(rest))
	if strings.HasPrefix(rest, "facets/") {
		file = filepath.Join(l.dir, "facets", path.Base(rest))
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

// facetSchemas maps the standard facets the generator writes to the schema
// URL ($id) of their definition.
var facetSchemas = map[string]string{
	"nominalTime":       schemaURLNominal,
	"parent":            schemaURLParent,
	"processing_engine": schemaURLEngine,
	"errorMessage":      schemaURLError,
	"jobType":           schemaURLJobType,
	"sql":               schemaURLSQL,
	"schema":            schemaURLSchema,
	"version":           schemaURLVersion,
	"columnLineage":     schemaURLColumns,
	"datasetType":       schemaURLDatasetType,
	"outputStatistics":  schemaURLOutStats,
}

// customFacets are producer-specific; the core schema checks them as
// BaseFacets only.
var customFacets = map[string]bool{"airflow": true, "airflowDagRun": true, TrainingFacetName: true}

func TestValidatesAgainstOpenLineageSpec(t *testing.T) {
	if _, err := os.Stat(filepath.Join(specDir, "OpenLineage.json")); err != nil {
		t.Fatalf("OpenLineage spec not found: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(specLoader{specDir})
	c.AssertFormat()
	core, err := c.Compile(specPrefix + "2-0-2/OpenLineage.json")
	if err != nil {
		t.Fatal(err)
	}
	facets := map[string]*jsonschema.Schema{}
	for name, url := range facetSchemas {
		id, _, _ := strings.Cut(url, "#")
		if facets[name], err = c.Compile(id); err != nil {
			t.Fatalf("facet %s: %v", name, err)
		}
	}

	// The checks bite: a malformed runId and a version facet without its
	// required member are rejected.
	events := all(t, Config{Seed: 9, Nodes: 2000})
	bad, _ := jsonschema.UnmarshalJSON(bytes.NewReader(events[0]))
	bad.(map[string]any)["run"].(map[string]any)["runId"] = "not-a-uuid"
	if core.Validate(bad) == nil {
		t.Error("core schema accepted a runId that is not a UUID")
	}
	if facets["version"].Validate(map[string]any{"version": map[string]any{"_producer": "x:y", "_schemaURL": "x:y"}}) == nil {
		t.Error("version facet without datasetVersion accepted")
	}

	seen := map[string]int{}
	for i, raw := range events {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if err := core.Validate(doc); err != nil {
			t.Fatalf("event %d does not validate against OpenLineage.json: %v\n%s", i, err, raw)
		}
		forEachFacet(doc, func(name string, facet map[string]any) {
			seen[name]++
			if customFacets[name] {
				return
			}
			sch, ok := facets[name]
			if !ok {
				t.Errorf("event %d: facet %q has no schema in this test", i, name)
				return
			}
			if err := sch.Validate(map[string]any{name: facet}); err != nil {
				t.Errorf("event %d: facet %s: %v", i, name, err)
			}
			if got := facet["_schemaURL"]; got != facetSchemas[name] {
				t.Errorf("event %d: facet %s _schemaURL %v, want %s", i, name, got, facetSchemas[name])
			}
		})
		if t.Failed() {
			t.FailNow()
		}
	}
	for name := range facetSchemas {
		if seen[name] == 0 {
			t.Errorf("no event carried facet %s", name)
		}
	}
	for name := range customFacets {
		if seen[name] == 0 {
			t.Errorf("no event carried facet %s", name)
		}
	}
}

// forEachFacet calls fn for every facet of the event: run, job, dataset
// and output-dataset facets.
func forEachFacet(doc any, fn func(string, map[string]any)) {
	obj := func(v any, k string) map[string]any {
		m, _ := v.(map[string]any)
		r, _ := m[k].(map[string]any)
		return r
	}
	each := func(facets map[string]any) {
		for name, f := range facets {
			if m, ok := f.(map[string]any); ok {
				fn(name, m)
			}
		}
	}
	each(obj(obj(doc, "run"), "facets"))
	each(obj(obj(doc, "job"), "facets"))
	for _, list := range []string{"inputs", "outputs"} {
		ds, _ := doc.(map[string]any)[list].([]any)
		for _, d := range ds {
			each(obj(d, "facets"))
			each(obj(d, "outputFacets"))
		}
	}
}
