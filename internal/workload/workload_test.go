package workload

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
)

// event is what the tests read back from generated JSON.
type event struct {
	EventTime string `json:"eventTime"`
	Producer  string `json:"producer"`
	SchemaURL string `json:"schemaURL"`
	EventType string `json:"eventType"`
	Run       struct {
		RunID  string                     `json:"runId"`
		Facets map[string]json.RawMessage `json:"facets"`
	} `json:"run"`
	Job struct {
		Namespace string                     `json:"namespace"`
		Name      string                     `json:"name"`
		Facets    map[string]json.RawMessage `json:"facets"`
	} `json:"job"`
	Inputs  []dataset `json:"inputs"`
	Outputs []dataset `json:"outputs"`
}

type dataset struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Facets    struct {
		Version *struct {
			DatasetVersion string `json:"datasetVersion"`
		} `json:"version"`
		Schema *struct {
			Fields []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"fields"`
		} `json:"schema"`
		ColumnLineage *struct {
			Fields map[string]struct {
				InputFields []inputField `json:"inputFields"`
			} `json:"fields"`
			Dataset []inputField `json:"dataset"`
		} `json:"columnLineage"`
	} `json:"facets"`
}

type inputField struct {
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	Field           string `json:"field"`
	Transformations []struct {
		Type string `json:"type"`
	} `json:"transformations"`
}

// all returns every event of cfg.
func all(t testing.TB, cfg Config) [][]byte {
	t.Helper()
	g := New(cfg)
	var out [][]byte
	for {
		e, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, e)
	}
}

func decode(t testing.TB, raw []byte) event {
	t.Helper()
	var e event
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("invalid event: %v\n%s", err, raw)
	}
	if dec.More() {
		t.Fatalf("trailing data after event:\n%s", raw)
	}
	return e
}

func digest(events [][]byte) [32]byte {
	h := sha256.New()
	for _, e := range events {
		h.Write(e)
		h.Write([]byte{'\n'})
	}
	return [32]byte(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Nodes: 3000}
	a, b := all(t, cfg), all(t, cfg)
	if digest(a) != digest(b) {
		t.Fatal("two generators with the same Config differ")
	}
	var ndjson bytes.Buffer
	n, err := WriteNDJSON(&ndjson, cfg)
	if err != nil || n != len(a) {
		t.Fatalf("WriteNDJSON = %d, %v; want %d events", n, err, len(a))
	}
	if want := digest(a); sha256.Sum256(ndjson.Bytes()) != want {
		t.Error("WriteNDJSON differs from Next")
	}

	other := all(t, Config{Seed: 43, Nodes: 3000})
	if digest(other) == digest(a) {
		t.Error("different seeds give the same events")
	}
	shifted := all(t, Config{Seed: 42, Nodes: 3000, Start: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Minute})
	if len(shifted) != len(a) {
		t.Errorf("Start/Step changed the event count: %d, want %d", len(shifted), len(a))
	}
	if e := decode(t, shifted[1]); e.EventTime != "2030-01-01T00:01:00.000Z" {
		t.Errorf("second eventTime = %s, want 2030-01-01T00:01:00.000Z", e.EventTime)
	}
}

func TestEventsWellFormed(t *testing.T) {
	cfg := Config{Seed: 7, Nodes: 4000}
	events := all(t, cfg)
	if got, want := len(events), EstimateEvents(cfg); got != want {
		t.Errorf("generated %d events, EstimateEvents says %d", got, want)
	}
	states := map[string][]string{} // runId → event types
	dagRuns := map[string]bool{}
	var last time.Time
	counts := map[string]int{}
	for i, raw := range events {
		e := decode(t, raw)
		ts, err := time.Parse(time.RFC3339Nano, e.EventTime)
		if err != nil {
			t.Fatalf("event %d: eventTime %q: %v", i, e.EventTime, err)
		}
		if !ts.After(last) {
			t.Fatalf("event %d: eventTime %s not after %s", i, ts, last)
		}
		last = ts
		if e.Producer == "" || e.SchemaURL != runEventSchemaURL {
			t.Fatalf("event %d: producer %q schemaURL %q", i, e.Producer, e.SchemaURL)
		}
		if graph.NormalizeRunID(e.Run.RunID) != e.Run.RunID || len(e.Run.RunID) != 36 || e.Run.RunID[14] != '7' {
			t.Fatalf("event %d: runId %q is not a lowercase UUIDv7", i, e.Run.RunID)
		}
		if e.Job.Namespace == "" || e.Job.Name == "" {
			t.Fatalf("event %d: job %+v", i, e.Job)
		}
		counts[e.EventType]++
		states[e.Run.RunID] = append(states[e.Run.RunID], e.EventType)
		if _, ok := e.Run.Facets["nominalTime"]; !ok {
			t.Errorf("event %d: no nominalTime facet", i)
		}
		switch ns := e.Job.Namespace; {
		case strings.HasPrefix(ns, "airflow://") && !strings.Contains(e.Job.Name, "."):
			dagRuns[e.Run.RunID] = true
		case strings.HasPrefix(ns, "airflow://"):
			var parent struct {
				Run struct {
					RunID string `json:"runId"`
				} `json:"run"`
				Job struct{ Namespace, Name string } `json:"job"`
			}
			if err := json.Unmarshal(e.Run.Facets["parent"], &parent); err != nil {
				t.Fatalf("event %d: parent facet: %v", i, err)
			}
			if !dagRuns[parent.Run.RunID] || parent.Job.Namespace != ns || !strings.HasPrefix(e.Job.Name, parent.Job.Name+".") {
				t.Errorf("event %d: parent %+v does not name the running DAG of %s", i, parent, e.Job.Name)
			}
			if len(e.Inputs) == 0 || len(e.Outputs) != 1 {
				t.Errorf("event %d: task with %d inputs, %d outputs", i, len(e.Inputs), len(e.Outputs))
			}
		default:
			if _, ok := e.Run.Facets[TrainingFacetName]; !ok {
				t.Errorf("event %d: training run without %s facet", i, TrainingFacetName)
			}
		}
		for _, in := range e.Inputs {
			if in.Facets.Version == nil {
				t.Errorf("event %d: input %s without version", i, in.Name)
			}
		}
		_, hasErr := e.Run.Facets["errorMessage"]
		if hasErr != (e.EventType == "FAIL") {
			t.Errorf("event %d: %s with errorMessage=%v", i, e.EventType, hasErr)
		}
		for _, out := range e.Outputs {
			if (out.Facets.Version != nil) != (e.EventType == "COMPLETE") {
				t.Errorf("event %d: %s output %s version=%v", i, e.EventType, out.Name, out.Facets.Version != nil)
			}
		}
	}
	for id, s := range states {
		if len(s) != 2 || s[0] != "START" || (s[1] != "COMPLETE" && s[1] != "FAIL") {
			t.Errorf("run %s: events %v, want START then COMPLETE or FAIL", id, s)
		}
	}
	if counts["FAIL"] == 0 || counts["COMPLETE"] == 0 {
		t.Errorf("event types %v: want some FAIL and some COMPLETE", counts)
	}
}

// graphIDs collects the distinct node identifiers that events carry, as the
// projection would key them.
type graphIDs struct {
	jobs, runs, datasets, versions, fields, correlations map[string]bool
}

func collect(t testing.TB, events [][]byte) graphIDs {
	ids := graphIDs{map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}}
	for _, raw := range events {
		e := decode(t, raw)
		ids.jobs[graph.JobKey(e.Job.Namespace, e.Job.Name)] = true
		ids.runs[graph.RunKey(e.Run.RunID)] = true
		// An output without a version facet is recorded as the version
		// "run-<runId>" (ingest/openlineage.OutputVersion, as Marquez does).
		for _, d := range e.Outputs {
			if d.Facets.Version == nil {
				ids.versions[graph.DatasetVersionKey(d.Namespace, d.Name, "run-"+graph.NormalizeRunID(e.Run.RunID))] = true
			}
		}
		for _, d := range slices.Concat(e.Inputs, e.Outputs) {
			ids.datasets[graph.DatasetKey(d.Namespace, d.Name)] = true
			if d.Facets.Version != nil {
				ids.versions[graph.DatasetVersionKey(d.Namespace, d.Name, d.Facets.Version.DatasetVersion)] = true
			}
			if d.Facets.Schema != nil {
				for _, f := range d.Facets.Schema.Fields {
					ids.fields[graph.FieldKey(d.Namespace, d.Name, f.Name)] = true
				}
			}
			if cl := d.Facets.ColumnLineage; cl != nil {
				for name, f := range cl.Fields {
					ids.fields[graph.FieldKey(d.Namespace, d.Name, name)] = true
					for _, in := range f.InputFields {
						ids.fields[graph.FieldKey(in.Namespace, in.Name, in.Field)] = true
					}
				}
				for _, in := range cl.Dataset {
					ids.fields[graph.FieldKey(in.Namespace, in.Name, in.Field)] = true
				}
			}
		}
		if raw, ok := e.Run.Facets[TrainingFacetName]; ok {
			var f struct {
				Z1 string `json:"z1_correlation_id"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			if f.Z1 != "" {
				ids.correlations[graph.CorrelationKey(f.Z1)] = true
			}
		}
	}
	return ids
}

func TestNodeEstimate(t *testing.T) {
	for _, target := range []int{1_000, 5_000} {
		cfg := Config{Seed: uint64(target), Nodes: target}
		ids := collect(t, all(t, cfg))
		got := NodeCounts{
			Jobs: len(ids.jobs), Runs: len(ids.runs), Datasets: len(ids.datasets),
			DatasetVersions: len(ids.versions), Fields: len(ids.fields), Correlations: len(ids.correlations),
		}
		want := EstimateNodes(cfg)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Nodes=%d: distinct identifiers differ from EstimateNodes (-want +got):\n%s", target, diff)
		}
		if got.Total() < target || got.Total() > target*3/2 {
			t.Errorf("Nodes=%d: workload has %d nodes (%+v)", target, got.Total(), got)
		}
		if got.Correlations == 0 || got.Correlations == EstimateShape(cfg).Models*EstimateShape(cfg).Rounds {
			t.Errorf("Nodes=%d: %d correlations; want some training runs with and some without", target, got.Correlations)
		}
	}
}

// TestShapeScales checks the estimate over the documented range without
// generating events.
func TestShapeScales(t *testing.T) {
	for _, target := range []int{1_000, 10_000, 100_000, 1_000_000} {
		s := EstimateShape(Config{Seed: 1, Nodes: target})
		total := s.Nodes.Total()
		if total < target || total > target+target/10+1_000 {
			t.Errorf("Nodes=%d: projected %d", target, total)
		}
		if s.Chains == 0 || s.Models == 0 || s.Sources == 0 {
			t.Errorf("Nodes=%d: shape %+v lacks chains, models or sources", target, s)
		}
		// About two events for three nodes (see the package comment).
		if ratio := float64(s.Events) / float64(total); ratio < 0.4 || ratio > 1 {
			t.Errorf("Nodes=%d: %d events for %d nodes", target, s.Events, total)
		}
	}
}

// TestSampleKeysHaveDepth follows version-level lineage (snapshot → run →
// snapshot) through the generated events from each sample key.
func TestSampleKeysHaveDepth(t *testing.T) {
	cfg := Config{Seed: 3, Nodes: 6000}
	events := all(t, cfg)
	readBy := map[string][]string{} // version key → run ids reading it
	wrote := map[string][]string{}  // run id → version keys it wrote
	for _, raw := range events {
		e := decode(t, raw)
		for _, in := range e.Inputs {
			k := graph.DatasetVersionKey(in.Namespace, in.Name, in.Facets.Version.DatasetVersion)
			readBy[k] = append(readBy[k], e.Run.RunID)
		}
		for _, out := range e.Outputs {
			if out.Facets.Version != nil {
				wrote[e.Run.RunID] = append(wrote[e.Run.RunID], graph.DatasetVersionKey(out.Namespace, out.Name, out.Facets.Version.DatasetVersion))
			}
		}
	}
	g := New(cfg)
	starts := g.SampleStarts(10)
	if len(starts) < 2 {
		t.Fatalf("SampleStarts(10) = %d starts", len(starts))
	}
	if keys := g.SampleDatasetKeys(10); len(keys) != len(starts) || keys[0] != starts[0].Version {
		t.Errorf("SampleDatasetKeys = %v, want the versions of %v", keys, starts)
	}
	if again := New(cfg).SampleStarts(10); !slices.Equal(again, starts) {
		t.Error("SampleStarts is not deterministic")
	}
	for _, s := range starts {
		if p, err := graph.ParseKey(s.Version); err != nil || p.Label != graph.LabelDatasetVersion {
			t.Errorf("%s: not a DatasetVersion key (%v)", s.Version, err)
		}
		if !strings.HasPrefix(s.Version, s.Dataset+"@") {
			t.Errorf("%s is not a version of %s", s.Version, s.Dataset)
		}
		// Breadth-first levels: how deep a lineage query keeps finding new
		// snapshots (shortcuts through other DAGs would make it shallow).
		depth := levels(s.Version, readBy, wrote)
		if depth < 20 || depth < s.Hops {
			t.Errorf("%s: %d hops of downstream lineage, want ≥ %d", s.Version, depth, max(20, s.Hops))
		}
	}
}

// TestSampleEndsHaveDepth follows version-level lineage upstream (snapshot
// ← run ← snapshot) from each provenance start point.
func TestSampleEndsHaveDepth(t *testing.T) {
	cfg := Config{Seed: 3, Nodes: 6000}
	readsOf := map[string][]string{}  // run id → version keys it read
	writerOf := map[string][]string{} // version key → run ids that wrote it
	for _, raw := range all(t, cfg) {
		e := decode(t, raw)
		for _, in := range e.Inputs {
			readsOf[e.Run.RunID] = append(readsOf[e.Run.RunID], graph.DatasetVersionKey(in.Namespace, in.Name, in.Facets.Version.DatasetVersion))
		}
		for _, out := range e.Outputs {
			if out.Facets.Version != nil {
				k := graph.DatasetVersionKey(out.Namespace, out.Name, out.Facets.Version.DatasetVersion)
				writerOf[k] = append(writerOf[k], e.Run.RunID)
			}
		}
	}
	ends := New(cfg).SampleEnds(10)
	if len(ends) < 2 {
		t.Fatalf("SampleEnds(10) = %d", len(ends))
	}
	if keys := New(cfg).SampleEndKeys(10); len(keys) != len(ends) || keys[0] != ends[0].Version {
		t.Errorf("SampleEndKeys = %v, want the versions of %v", keys, ends)
	}
	for _, s := range ends {
		if len(writerOf[s.Version]) == 0 {
			t.Errorf("%s: no event writes it", s.Version)
			continue
		}
		depth := levels(s.Version, writerOf, readsOf)
		if depth < 20 || depth < s.Hops {
			t.Errorf("%s: %d hops of upstream lineage, want ≥ %d", s.Version, depth, max(20, s.Hops))
		}
	}
}

// levels counts the breadth-first levels of snapshots reachable from
// start, one level being snapshot → run (via runs) → snapshot (via
// snapshots).
func levels(start string, runs, snapshots map[string][]string) int {
	depth, frontier := 0, []string{start}
	seen := map[string]bool{start: true}
	for len(frontier) > 0 {
		var next []string
		for _, v := range frontier {
			for _, run := range runs[v] {
				for _, w := range snapshots[run] {
					if !seen[w] {
						seen[w] = true
						next = append(next, w)
					}
				}
			}
		}
		if len(next) > 0 {
			depth++
		}
		frontier = next
	}
	return depth
}

// TestVersionsAdvance checks that each dataset's written versions increase
// over time and that every read names a version already written (or a
// source snapshot).
func TestVersionsAdvance(t *testing.T) {
	events := all(t, Config{Seed: 11, Nodes: 3000})
	written := map[string]uint64{}
	for i, raw := range events {
		e := decode(t, raw)
		for _, out := range e.Outputs {
			if out.Facets.Version == nil {
				continue
			}
			k := graph.DatasetKey(out.Namespace, out.Name)
			v, err := strconv.ParseUint(out.Facets.Version.DatasetVersion, 10, 64)
			if err != nil {
				t.Fatalf("event %d: version %q", i, out.Facets.Version.DatasetVersion)
			}
			if prev, ok := written[k]; ok && v <= prev {
				t.Errorf("event %d: %s version %d after %d", i, k, v, prev)
			}
			written[k] = v
		}
		for _, in := range e.Inputs {
			k := graph.DatasetKey(in.Namespace, in.Name)
			if w, ok := written[k]; ok && strconv.FormatUint(w, 10) != in.Facets.Version.DatasetVersion {
				t.Errorf("event %d: reads %s@%s, latest written is %d", i, k, in.Facets.Version.DatasetVersion, w)
			}
		}
	}
}

func TestEventSize(t *testing.T) {
	events := all(t, Config{Seed: 5, Nodes: 5000})
	sizes := make([]int, len(events))
	total := 0
	for i, e := range events {
		sizes[i] = len(e)
		total += len(e)
	}
	sort.Ints(sizes)
	median, mean := sizes[len(sizes)/2], total/len(sizes)
	t.Logf("%d events: min %d, p10 %d, median %d, mean %d, p90 %d, max %d bytes",
		len(sizes), sizes[0], sizes[len(sizes)/10], median, mean, sizes[len(sizes)*9/10], sizes[len(sizes)-1])
	if median < 2<<10 || median > 5<<10 || mean < 2<<10 || mean > 5<<10 {
		t.Errorf("median %d, mean %d bytes: want a typical event of 2–5 KB", median, mean)
	}
	if sizes[len(sizes)-1] > 16<<10 {
		t.Errorf("largest event %d bytes", sizes[len(sizes)-1])
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "new\nline\ttab\r", "\x01\x1f", "ünïcode ✓"} {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil || got != s {
			t.Errorf("appendString(%q) = %s: round trip %q, %v", s, appendString(nil, s), got, err)
		}
	}
}
