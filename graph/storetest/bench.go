package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/redthread/redthread/graph"
)

// LayerKey is the key of node i of layer l of LayeredGraph: even layers
// are dataset versions, odd layers runs.
func LayerKey(layer, i int) string {
	if layer%2 == 0 {
		return graph.DatasetVersionKey("s3://bench", fmt.Sprintf("layer%02d/table%06d", layer, i), "v1")
	}
	return graph.RunKey(fmt.Sprintf("%08x-0000-4000-8000-%012x", layer, i))
}

// LayeredGraph returns batches that build a layered lineage graph of
// layers×width nodes, the shape of a data platform: dataset versions read
// by runs that write dataset versions. Every node has fanout edges to
// nodes of the next layer picked at random (READ_BY out of a dataset
// version, WROTE out of a run). Nodes carry a name, two props and a small
// facet. The graph is the same for the same seed; the nodes come in
// batches before the edges, each batch holding up to batchSize mutations.
func LayeredGraph(layers, width, fanout, batchSize int, seed uint64) []graph.Batch {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var batches []graph.Batch
	var cur []graph.Mutation
	flush := func(force bool) {
		if len(cur) >= batchSize || (force && len(cur) > 0) {
			batches = append(batches, graph.Batch{Offset: int64(len(batches) + 1), Mutations: cur})
			cur = nil
		}
	}
	for l := 0; l < layers; l++ {
		label := graph.LabelRun
		if l%2 == 0 {
			label = graph.LabelDatasetVersion
		}
		for i := 0; i < width; i++ {
			cur = append(cur, graph.NodeMutation(graph.Node{
				Key:    LayerKey(l, i),
				Label:  label,
				Props:  graph.Props{"name": fmt.Sprintf("node %d of layer %d", i, l), "layer": l, "rows": rng.IntN(1_000_000)},
				Facets: graph.Facets{"dataQuality": []byte(`{"rowCount":` + fmt.Sprint(rng.IntN(1000)) + `,"nullCount":0}`)},
				Provenance: graph.Provenance{
					FirstSeen: t0.Add(time.Duration(l) * time.Hour), LastSeen: t0.Add(time.Duration(l) * time.Hour),
				},
			}))
			flush(false)
		}
	}
	flush(true)
	for l := 0; l+1 < layers; l++ {
		typ := graph.EdgeWrote
		if l%2 == 0 {
			typ = graph.EdgeReadBy
		}
		for i := 0; i < width; i++ {
			for _, j := range pick(rng, width, fanout) {
				cur = append(cur, graph.EdgeMutation(graph.Edge{
					From: LayerKey(l, i), Type: typ, To: LayerKey(l+1, j),
					Provenance: graph.Provenance{FirstSeen: t0.Add(time.Duration(l+1) * time.Hour), LastSeen: t0.Add(time.Duration(l+1) * time.Hour)},
				}))
				flush(false)
			}
		}
	}
	flush(true)
	return batches
}

// pick returns k distinct numbers in [0, n).
func pick(rng *rand.Rand, n, k int) []int {
	k = min(k, n)
	out := make([]int, 0, k)
	for len(out) < k {
		j := rng.IntN(n)
		if !slices.Contains(out, j) {
			out = append(out, j)
		}
	}
	return out
}

// EventBatch returns the batch that one OpenLineage run event of a busy
// platform projects to, 23 mutations: a new run and correlation id, a
// new output dataset version, two input versions and the job, datasets,
// identity, commit and image drawn from pools (so later events upsert
// nodes earlier ones created), and the edges between them. Event i is at
// offset i+1; the same i gives the same batch.
func EventBatch(i int) graph.Batch {
	rng := rand.New(rand.NewPCG(uint64(i), 42))
	ts := t0.Add(time.Duration(i) * time.Second)
	prov := graph.Provenance{FirstSeen: ts, LastSeen: ts}
	node := func(key string, label graph.Label, props graph.Props) graph.Mutation {
		return graph.NodeMutation(graph.Node{Key: key, Label: label, Props: props, Provenance: prov})
	}
	edge := func(from string, typ graph.EdgeType, to string) graph.Mutation {
		return graph.EdgeMutation(graph.Edge{From: from, Type: typ, To: to, Provenance: prov})
	}
	ds := func(n int) (string, string) {
		name := fmt.Sprintf("warehouse.table_%04d", n)
		return graph.DatasetKey("postgres://dw:5432", name), name
	}
	job := graph.JobKey("airflow://prod", fmt.Sprintf("dag_%02d.task", rng.IntN(50)))
	run := graph.RunKey(fmt.Sprintf("%08x-%04x-4000-8000-%012x", i, rng.IntN(1<<16), i))
	corr := graph.CorrelationKey(fmt.Sprintf("z1-%d", i))
	in1, in1Name := ds(rng.IntN(1000))
	in2, in2Name := ds(rng.IntN(1000))
	out, outName := ds(1000 + rng.IntN(1000))
	in1v := graph.DatasetVersionKey("postgres://dw:5432", in1Name, fmt.Sprint(rng.IntN(20)))
	in2v := graph.DatasetVersionKey("postgres://dw:5432", in2Name, fmt.Sprint(rng.IntN(20)))
	outv := graph.DatasetVersionKey("postgres://dw:5432", outName, fmt.Sprintf("run-%d", i))
	who := graph.IdentityKey("https://idp.example", fmt.Sprintf("user%02d", rng.IntN(20)))
	commit := graph.CommitKey("https://git.example/ml/pipelines.git", fmt.Sprintf("%040x", rng.IntN(100)))
	image := graph.ImageKey("registry.example/ml/trainer", fmt.Sprintf("%064x", rng.IntN(10)))
	return graph.Batch{Offset: int64(i + 1), Mutations: []graph.Mutation{
		node(job, graph.LabelJob, graph.Props{"name": "task", "namespace": "airflow://prod"}),
		node(run, graph.LabelRun, graph.Props{"state": "COMPLETE", "nominalStart": ts.Format(time.RFC3339), "attempt": 1}),
		node(corr, graph.LabelCorrelation, nil),
		node(in1, graph.LabelDataset, graph.Props{"name": in1Name}),
		node(in1v, graph.LabelDatasetVersion, graph.Props{"rows": rng.IntN(1e6)}),
		node(in2, graph.LabelDataset, graph.Props{"name": in2Name}),
		node(in2v, graph.LabelDatasetVersion, graph.Props{"rows": rng.IntN(1e6)}),
		node(out, graph.LabelDataset, graph.Props{"name": outName}),
		graph.NodeMutation(graph.Node{Key: outv, Label: graph.LabelDatasetVersion, Props: graph.Props{"rows": rng.IntN(1e6)},
			Facets: graph.Facets{"schema": []byte(`{"fields":[{"name":"id","type":"BIGINT"},{"name":"score","type":"DOUBLE"}]}`)}, Provenance: prov}),
		node(who, graph.LabelIdentity, nil),
		node(commit, graph.LabelCommit, nil),
		node(image, graph.LabelImage, nil),
		edge(run, graph.EdgeRunOf, job),
		edge(in1v, graph.EdgeReadBy, run),
		edge(in2v, graph.EdgeReadBy, run),
		edge(run, graph.EdgeWrote, outv),
		edge(in1v, graph.EdgeVersionOf, in1),
		edge(in2v, graph.EdgeVersionOf, in2),
		edge(outv, graph.EdgeVersionOf, out),
		edge(corr, graph.EdgeIngestedAs, in1v),
		edge(run, graph.EdgeTriggeredBy, who),
		edge(run, graph.EdgeBuiltFrom, commit),
		edge(run, graph.EdgeRanIn, image),
	}}
}

// BenchApply measures Apply with eventsPerCall EventBatches per call, as
// the pipeline's group commit hands them over, continuing the event
// sequence from first. It reports events and mutations per second and
// returns the next event number.
func BenchApply(b *testing.B, s graph.Store, first, eventsPerCall int) int {
	b.Helper()
	next := first
	mutations := 0
	events := 0
	batches := make([]graph.Batch, eventsPerCall)
	start := time.Now()
	for b.Loop() {
		for i := range batches {
			batches[i] = EventBatch(next)
			mutations += len(batches[i].Mutations)
			next++
		}
		if err := s.Apply(b.Context(), batches...); err != nil {
			b.Fatal(err)
		}
		events += eventsPerCall
	}
	if secs := time.Since(start).Seconds(); secs > 0 {
		b.ReportMetric(float64(events)/secs, "events/s")
		b.ReportMetric(float64(mutations)/secs, "mutations/s")
	}
	return next
}

// BenchTraverse measures one traversal per iteration, starting from each
// of starts in turn, and reports the median and 99th-percentile latency
// and the mean size of the answer.
func BenchTraverse(b *testing.B, s graph.Store, q graph.Traversal, starts []string) {
	b.Helper()
	var lat []time.Duration
	nodes, edges := 0, 0
	i := 0
	for b.Loop() {
		q.Start = []string{starts[i%len(starts)]}
		i++
		t := time.Now()
		sg, err := s.Traverse(b.Context(), q)
		lat = append(lat, time.Since(t))
		if err != nil {
			b.Fatal(err)
		}
		nodes += len(sg.Nodes)
		edges += len(sg.Edges)
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(nodes)/float64(len(lat)), "nodes/op")
	b.ReportMetric(float64(edges)/float64(len(lat)), "edges/op")
}
