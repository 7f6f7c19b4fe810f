package openlineage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
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

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json and the generated fixture")

// goldenOffset is the log offset the golden tests map every fixture at.
const goldenOffset = 42

// goldenSampleSize is how many mutations of a large mapping the golden file
// lists in full; the rest is summarised by counts and a hash.
const goldenSampleSize = 40

func fixtures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata: %v", err)
	}
	return files
}

// TestGolden maps every fixture and compares the result with
// testdata/golden/<fixture>.json (rewritten with -update).
func TestGolden(t *testing.T) {
	for _, file := range fixtures(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			muts := Map(ev, goldenOffset)
			checkMapping(t, ev, muts, goldenOffset)
			got := renderGolden(ev, flatten(muts), len(body) > 100<<10)
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./ingest/openlineage -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("mapping differs from %s (-want +got); if intended, run go test ./ingest/openlineage -update\n%s",
					path, cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")))
			}
		})
	}
}

type goldenEvent struct {
	Kind          Kind      `json:"kind"`
	EventTime     string    `json:"eventTime"`
	EventType     EventType `json:"eventType,omitempty"`
	Producer      string    `json:"producer,omitempty"`
	RunKey        string    `json:"runKey,omitempty"`
	JobKey        string    `json:"jobKey,omitempty"`
	DatasetKey    string    `json:"datasetKey,omitempty"`
	InputKeys     []string  `json:"inputKeys,omitempty"`
	OutputKeys    []string  `json:"outputKeys,omitempty"`
	CorrelationID string    `json:"correlationId,omitempty"`
	Warnings      []string  `json:"warnings,omitempty"`
}

type goldenMutation struct {
	Node   string            `json:"node,omitempty"`
	Label  graph.Label       `json:"label,omitempty"`
	Edge   string            `json:"edge,omitempty"`
	Props  graph.Props       `json:"props,omitempty"`
	Facets map[string]string `json:"facets,omitempty"`
}

// renderGolden renders a mapping as stable, readable JSON: the decoded
// event's summary, counts per label and edge type, then one mutation per
// line with facets shown as their size and hash. With sample, only the
// first goldenSampleSize mutations are listed, plus a hash of them all.
func renderGolden(ev *Event, muts []graph.Mutation, sample bool) []byte {
	sum := goldenEvent{
		Kind: ev.Kind(), EventTime: ev.EventTime().Format(time.RFC3339Nano), EventType: ev.EventType(),
		Producer: ev.Producer(), RunKey: ev.RunKey(), JobKey: ev.JobKey(), DatasetKey: ev.DatasetKey(),
		InputKeys: ev.InputKeys(), OutputKeys: ev.OutputKeys(), CorrelationID: ev.CorrelationID(), Warnings: ev.Warnings,
	}
	counts := map[string]int{}
	lines := make([]string, len(muts))
	for i, m := range muts {
		var g goldenMutation
		switch m.Kind {
		case graph.UpsertNode:
			g = goldenMutation{Node: m.Node.Key, Label: m.Node.Label, Props: m.Node.Props, Facets: facetDigests(m.Node.Facets)}
			counts[string(m.Node.Label)]++
		case graph.UpsertEdge:
			g = goldenMutation{Edge: m.Edge.ID(), Props: m.Edge.Props, Facets: facetDigests(m.Edge.Facets)}
			counts[string(m.Edge.Type)]++
		}
		lines[i] = compactJSON(g)
	}
	var b strings.Builder
	b.WriteString("{\n")
	fmt.Fprintf(&b, "  \"event\": %s,\n", indentJSON(sum, "  "))
	fmt.Fprintf(&b, "  \"provenance\": {\"firstSeen\": %q, \"offset\": %d},\n", ev.EventTime().Format(time.RFC3339Nano), goldenOffset)
	fmt.Fprintf(&b, "  \"counts\": %s,\n", compactJSON(counts))
	if sample && len(lines) > goldenSampleSize {
		h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
		fmt.Fprintf(&b, "  \"mutationsSHA256\": %q,\n", hex.EncodeToString(h[:]))
		fmt.Fprintf(&b, "  \"mutationsShown\": \"first %d of %d\",\n", goldenSampleSize, len(lines))
		lines = lines[:goldenSampleSize]
	}
	b.WriteString("  \"mutations\": [\n")
	for i, l := range lines {
		b.WriteString("    " + l)
		if i < len(lines)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("  ]\n}\n")
	return []byte(b.String())
}

func facetDigests(f graph.Facets) map[string]string {
	if len(f) == 0 {
		return nil
	}
	out := make(map[string]string, len(f))
	for name, raw := range f {
		h := sha256.Sum256(raw)
		out[name] = fmt.Sprintf("%d bytes sha256:%s", len(raw), hex.EncodeToString(h[:6]))
	}
	return out
}

func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func indentJSON(v any, prefix string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// edgeLabels lists, per edge type, the endpoint labels the mapping may use.
var edgeLabels = map[graph.EdgeType][][2]graph.Label{
	graph.EdgeRunOf:      {{graph.LabelRun, graph.LabelJob}},
	graph.EdgeChildOf:    {{graph.LabelRun, graph.LabelRun}},
	graph.EdgeBuiltFrom:  {{graph.LabelRun, graph.LabelCommit}, {graph.LabelJob, graph.LabelCommit}},
	graph.EdgeReadBy:     {{graph.LabelDatasetVersion, graph.LabelRun}, {graph.LabelDataset, graph.LabelRun}},
	graph.EdgeWrote:      {{graph.LabelRun, graph.LabelDatasetVersion}},
	graph.EdgeVersionOf:  {{graph.LabelDatasetVersion, graph.LabelDataset}},
	graph.EdgeHasField:   {{graph.LabelDataset, graph.LabelField}},
	graph.EdgeDerives:    {{graph.LabelField, graph.LabelField}},
	graph.EdgeSymlinkOf:  {{graph.LabelDataset, graph.LabelDataset}},
	graph.EdgeRenamedTo:  {{graph.LabelDataset, graph.LabelDataset}},
	graph.EdgeIngestedAs: {{graph.LabelCorrelation, graph.LabelDatasetVersion}},
}

// checkMapping asserts the invariants every mapping keeps: well-formed keys
// that parse back to the node's label, no repeated node or edge, every
// edge after both its endpoints and between the labels its type allows,
// HAS_FIELD only to the dataset's own fields, storable property values,
// the event's provenance everywhere, the same list on a second call, and
// schema groups that spell out to what mapping each field alone gives.
func checkMapping(t testing.TB, ev *Event, muts []graph.Mutation, offset int64) {
	t.Helper()
	want := graph.Provenance{FirstSeen: ev.EventTime(), LastSeen: ev.EventTime(), FirstOffset: offset, LastOffset: offset}
	for i, m := range muts {
		if m.Kind != graph.UpsertGroup {
			continue
		}
		if m.Group == nil || m.Group.Group == nil {
			t.Fatalf("mutation %d: group upsert without a group", i)
		}
		if m.Group.Provenance != want {
			t.Fatalf("mutation %d: group provenance %+v, want %+v", i, m.Group.Provenance, want)
		}
		for _, n := range m.Group.Group.Nodes {
			if n.Provenance != (graph.Provenance{}) || n.Label != graph.LabelField {
				t.Fatalf("mutation %d: group node %q is a %s with provenance %+v", i, n.Key, n.Label, n.Provenance)
			}
		}
		for _, e := range m.Group.Group.Edges {
			if e.Provenance != (graph.Provenance{}) || (e.Type != graph.EdgeHasField && e.Type != graph.EdgeDerives) {
				t.Fatalf("mutation %d: group edge %s with provenance %+v", i, e.ID(), e.Provenance)
			}
		}
	}
	// The list spelled out holds each node and edge once, the group's with
	// the rest, and says what mapping every field on its own says.
	if flat, single := flatten(muts), mapEvent(ev, offset, false); !reflect.DeepEqual(flat, single) {
		t.Fatalf("schema groups map differently from single fields (-single +groups):\n%s", cmp.Diff(single, flat))
	}
	nodes := map[string]graph.Label{}
	edges := map[string]bool{}
	for i, m := range graph.Expand(muts) {
		switch m.Kind {
		case graph.UpsertNode:
			n := m.Node
			if _, dup := nodes[n.Key]; dup {
				t.Fatalf("mutation %d: node %q upserted twice", i, n.Key)
			}
			if !n.Label.Valid() {
				t.Fatalf("mutation %d: node %q has label %q", i, n.Key, n.Label)
			}
			if l, err := graph.LabelOf(n.Key); err != nil || l != n.Label {
				t.Fatalf("mutation %d: key %q parses as %q (%v), node label %q", i, n.Key, l, err, n.Label)
			}
			if n.Provenance != want {
				t.Fatalf("mutation %d: node %q provenance %+v, want %+v", i, n.Key, n.Provenance, want)
			}
			checkProps(t, n.Key, n.Props)
			nodes[n.Key] = n.Label
		case graph.UpsertEdge:
			e := m.Edge
			id := e.ID()
			if edges[id] {
				t.Fatalf("mutation %d: edge %s upserted twice", i, id)
			}
			edges[id] = true
			from, okFrom := nodes[e.From]
			to, okTo := nodes[e.To]
			if !okFrom || !okTo {
				t.Fatalf("mutation %d: edge %s before its endpoints", i, id)
			}
			if !slices.Contains(edgeLabels[e.Type], [2]graph.Label{from, to}) {
				t.Fatalf("mutation %d: edge %s joins %s to %s", i, id, from, to)
			}
			if e.Type == graph.EdgeHasField {
				d, _ := graph.ParseKey(e.From)
				f, _ := graph.ParseKey(e.To)
				if d.Namespace != f.Namespace || d.Name != f.Name {
					t.Fatalf("mutation %d: %s links a field of another dataset", i, id)
				}
			}
			if e.Provenance != want {
				t.Fatalf("mutation %d: edge %s provenance %+v, want %+v", i, id, e.Provenance, want)
			}
			checkProps(t, id, e.Props)
		default:
			t.Fatalf("mutation %d: kind %d", i, m.Kind)
		}
	}
	// (muts is Map's list, or the tests' flatMap of it.)
	if again := Map(ev, offset); !reflect.DeepEqual(muts, again) && !reflect.DeepEqual(muts, flatten(again)) {
		t.Fatalf("Map is not deterministic: %s", cmp.Diff(muts, again))
	}
}

// flatten returns muts as Map lists them without schema groups: each
// group spelled out (graph.Expand), then every node sorted by key and
// every edge by (From, Type, To).
func flatten(muts []graph.Mutation) []graph.Mutation {
	out := slices.Clone(graph.Expand(muts))
	slices.SortStableFunc(out, func(x, y graph.Mutation) int {
		switch {
		case x.Kind != y.Kind:
			return int(x.Kind) - int(y.Kind)
		case x.Kind == graph.UpsertNode:
			return strings.Compare(x.Node.Key, y.Node.Key)
		case x.Edge.From != y.Edge.From:
			return strings.Compare(x.Edge.From, y.Edge.From)
		case x.Edge.Type != y.Edge.Type:
			return strings.Compare(string(x.Edge.Type), string(y.Edge.Type))
		}
		return strings.Compare(x.Edge.To, y.Edge.To)
	})
	return out
}

// flatMap is Map flattened, for tests that look for particular nodes and
// edges.
func flatMap(ev *Event, offset int64) []graph.Mutation { return flatten(Map(ev, offset)) }

// checkProps asserts that every value is a scalar or a list of one scalar
// type, as graph.Props requires.
func checkProps(t testing.TB, where string, p graph.Props) {
	t.Helper()
	for k, v := range p {
		switch v.(type) {
		case string, bool, int64, float64, []string, []bool, []int64, []float64:
		default:
			t.Fatalf("%s: property %q is a %T", where, k, v)
		}
	}
}
