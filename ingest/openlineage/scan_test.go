package openlineage

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fast path must give exactly what encoding/json gives whenever it
// takes an input on; these tests compare the two.

// facetTargets makes a fresh value of every facet type scanFacet reads.
var facetTargets = []func() any{
	func() any { return new(ParentRunFacet) },
	func() any { return new(NominalTimeRunFacet) },
	func() any { return new(ErrorMessageRunFacet) },
	func() any { return new(TagsFacet) },
	func() any { return new(JobTypeJobFacet) },
	func() any { return new(SourceCodeLocationJobFacet) },
	func() any { return new(SQLJobFacet) },
	func() any { return new(OwnershipFacet) },
	func() any { return new(DocumentationFacet) },
	func() any { return new(SchemaDatasetFacet) },
	func() any { return new(DatasourceDatasetFacet) },
	func() any { return new(ColumnLineageDatasetFacet) },
	func() any { return new(DatasetVersionDatasetFacet) },
	func() any { return new(SymlinksDatasetFacet) },
	func() any { return new(LifecycleStateChangeDatasetFacet) },
	func() any { return new(DatasetTypeDatasetFacet) },
	func() any { return new(StorageDatasetFacet) },
	func() any { return new(StatisticsFacet) },
}

// checkScanMatchesJSON compares scanWire, and scanFacet for every facet
// type, with encoding/json on body, and reports whether the fast path took
// the wire event on.
func checkScanMatchesJSON(t *testing.T, body []byte) bool {
	t.Helper()
	var fast wireEvent
	took := scanWire(body, &fast) == nil
	if took {
		var slow wireEvent
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("fast path took %q, encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("wire event of %q differs from encoding/json's (-json +fast):\n%s", body, cmp.Diff(slow, fast))
		}
	}
	for _, mk := range facetTargets {
		f := mk()
		if scanFacet(body, f) != nil {
			continue
		}
		g := mk()
		if err := json.Unmarshal(body, g); err != nil {
			t.Fatalf("fast path took %q as %T, encoding/json refuses it: %v", body, f, err)
		}
		if !reflect.DeepEqual(f, g) {
			t.Fatalf("%T of %q differs from encoding/json's (-json +fast):\n%s", f, body, cmp.Diff(g, f))
		}
	}
	return took
}

var scanSeeds = []string{
	`{"eventTime":"t","run":{"runId":"r","facets":{"a":null,"b":[1,2.5e3,-0,true,false,{"x":"\u00e9\n"}],"c":"x"}},"job":null,"inputs":[null,{"namespace":"n"}],"outputs":[]}`,
	`{"EventTime":"t"}`,
	`{"eventTime":"t","eventTime":"u"}`,
	`{"eventTime":5}`,
	`{"eventTime":"t"} x`,
	`{"eventTime":"caf\u00e9","producer":"\xff"}`,
	`{"run":{"facets":{"caf\u00e9":{},"\xff":1}}}`,
	`{"fields":[{"name":"a","ordinal_position":1,"fields":[]},{"name":"b","ordinal_position":1.5}]}`,
	`{"fields":[null,{"name":"a","ordinal_position":null,"fields":null}]}`,
	`{"fields":{"o":{"inputFields":[{"namespace":"n","name":"d","field":"f","transformations":[{"type":"DIRECT","masking":true}]}]},"p":null},"dataset":[]}`,
	`{"run":{"runId":"r"},"job":{"namespace":"n","name":"j"},"root":{"run":{"runId":"q"},"job":{"namespace":"n","name":"k"}}}`,
	`{"rowCount":1,"size":99999999999999999999,"fileCount":null}`,
	`{"lifecycleStateChange":"RENAME","previousIdentifier":{"namespace":"a","name":"b"}}`,
	`{"_producer":"p","_schemaURL":"s","_deleted":true,"tags":[{"key":"k","value":"v"}],"owners":[{"name":"o"}]}`,
	`{"_deleted":"yes"}`,
	`{"identifiers":[{"namespace":"a","name":"b","type":"TABLE"}],"NAME":"x"}`,
	` { "datasetVersion" : "v1" , "x" : [ ] } `,
	`{"a":01}`, `{"a":1.}`, `{"a":"\x01"}`, `{"a":"\q"}`, `{"a":tru}`, `{"a":[1,]}`, `{"a":1,}`, `{`, `[`, ``,
}

func scanCorpus(t testing.TB) [][]byte {
	var all [][]byte
	for _, file := range fixtures(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b)
		// Every facet of the fixture, for the facet readers.
		var w wireEvent
		if json.Unmarshal(b, &w) != nil {
			continue
		}
		add := func(fs map[string]json.RawMessage) {
			for _, f := range fs {
				all = append(all, f)
			}
		}
		if w.Run != nil {
			add(w.Run.Facets)
		}
		if w.Job != nil {
			add(w.Job.Facets)
		}
		if w.Dataset != nil {
			add(w.Dataset.Facets)
		}
		for _, d := range append(w.Inputs, w.Outputs...) {
			add(d.Facets)
			add(d.InputFacets)
			add(d.OutputFacets)
		}
	}
	for _, s := range scanSeeds {
		all = append(all, []byte(s))
	}
	return all
}

func TestScanMatchesJSON(t *testing.T) {
	for _, b := range scanCorpus(t) {
		checkScanMatchesJSON(t, b)
	}
	// The fixtures stay on the fast path.
	for _, file := range fixtures(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !checkScanMatchesJSON(t, b) {
			t.Errorf("%s leaves the fast path", file)
		}
	}
}

func FuzzScanMatchesJSON(f *testing.F) {
	for _, b := range scanCorpus(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkScanMatchesJSON(t, body) })
}
