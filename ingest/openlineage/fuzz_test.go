package openlineage

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/redthread/redthread/graph"
)

// fuzzSeeds are hand-written edge cases added to the fixtures.
var fuzzSeeds = []string{
	``,
	`{}`,
	`null`,
	`[]`,
	`{"eventTime":"2025-01-01T00:00:00","run":{"runId":"x"},"job":{"namespace":"n","name":"j"}}`,
	`{"eventTime":"2025-01-01T00:00:00Z","dataset":{"namespace":"n","name":"//x@y#z","facets":{"schema":{"fields":[{"name":"a","fields":[{"name":"b"}]}]}}}}`,
	`{"eventTime":"2025-01-01T00:00:00Z","job":{"namespace":"a:b","name":"c"},"outputs":[{"namespace":"n","name":"d","facets":{"columnLineage":{"fields":{"":{"inputFields":[{"namespace":"n","name":"d","field":"x"}]}}}}}]}`,
	`{"eventTime":"2025-01-01T00:00:00.1234567890123+01:00","eventType":"other","run":{"runId":"r","facets":{"parent":{"run":{"runId":"r"},"job":{"namespace":"n","name":"j"}}}},"job":{"namespace":"n","name":"j","facets":{"sourceCodeLocation":{"url":"u","version":"@"}}}}`,
}

// checkDecoded asserts the contract of Decode on any input: no panic
// (the fuzzer reports one), either an EINVALID *graph.Error and no event or
// an event that maps under every invariant of checkMapping.
func checkDecoded(t *testing.T, body []byte) {
	ev, err := Decode(body)
	if err != nil {
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.Code != graph.EINVALID {
			t.Fatalf("error %v is not an EINVALID *graph.Error", err)
		}
		if ev != nil {
			t.Fatal("Decode returned both an event and an error")
		}
		return
	}
	if ev == nil {
		t.Fatal("Decode returned neither an event nor an error")
	}
	if n := btoi(ev.RunEvent != nil) + btoi(ev.JobEvent != nil) + btoi(ev.DatasetEvent != nil); n != 1 || ev.Kind() == "" {
		t.Fatalf("accepted event of kind %q with %d event bodies", ev.Kind(), n)
	}
	checkMapping(t, ev, Map(ev, 3), 3)
}

func addFixtureSeeds(f *testing.F) [][]byte {
	var all [][]byte
	for _, file := range fixtures(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		all = append(all, b)
	}
	for _, s := range fuzzSeeds {
		all = append(all, []byte(s))
	}
	return all
}

func FuzzDecode(f *testing.F) {
	for _, b := range addFixtureSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(checkDecoded)
}

func FuzzDecodeBatch(f *testing.F) {
	seeds := addFixtureSeeds(f)
	for _, b := range seeds {
		f.Add(b)
		f.Add(append(append([]byte("["), b...), ']'))
	}
	f.Add(append(append([]byte("["), bytes.Join(seeds[:3], []byte(","))...), ']'))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeBatch(body)
		if err != nil {
			if graph.ErrorCode(err) != graph.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		for _, it := range items {
			checkDecoded(t, it)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
