package storetest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
)

// The search fixture: names differ from keys so that a match on either
// can be told apart.
var (
	sxCorr     = graph.CorrelationKey("abc")
	sxOrders   = graph.DatasetKey("s3://lake", "orders")
	sxOrdersV1 = graph.DatasetVersionKey("s3://lake", "orders", "v1")
	sxOrdersV2 = graph.DatasetVersionKey("s3://lake", "orders", "v2")
	sxPayments = graph.DatasetKey("s3://lake", "payments")
	sxDeploy   = graph.DeploymentKey("prod", "risk-api", "1")
	sxJob      = graph.JobKey("airflow://prod", "nightly_orders")
	sxModel    = graph.ModelVersionKey("mlflow://reg", "risk", "1")
	sxRun1     = graph.RunKey("11111111-1111-4111-8111-111111111111")
	sxRun2     = graph.RunKey("22222222-2222-4222-8222-222222222222")
)

// sxAll is every fixture key in key order.
var sxAll = []string{sxCorr, sxOrders, sxOrdersV1, sxOrdersV2, sxPayments, sxDeploy, sxJob, sxModel, sxRun1, sxRun2}

func searchFixture(t *testing.T, newStore NewStore) graph.Store {
	t.Helper()
	s := newStore(t)
	apply(t, s, batch(1,
		nodeMut(sxCorr, graph.LabelCorrelation, at(0), nil),
		nodeMut(sxOrders, graph.LabelDataset, at(0), graph.Props{"name": "Customer Orders"}),
		nodeMut(sxOrdersV1, graph.LabelDatasetVersion, at(0), graph.Props{"name": "orders v1"}),
		nodeMut(sxOrdersV2, graph.LabelDatasetVersion, at(0), nil),
		nodeMut(sxPayments, graph.LabelDataset, at(0), graph.Props{"name": "Pagamentos"}),
		nodeMut(sxDeploy, graph.LabelDeployment, at(0), graph.Props{"name": "Déploiement"}),
		nodeMut(sxJob, graph.LabelJob, at(0), graph.Props{"name": "Nightly ORDERS build"}),
		nodeMut(sxModel, graph.LabelModelVersion, at(0), graph.Props{"name": "Модель риска"}),
		nodeMut(sxRun1, graph.LabelRun, at(0), graph.Props{"name": "run of nightly"}),
		nodeMut(sxRun2, graph.LabelRun, at(0), graph.Props{"name": 12345}),
	))
	return s
}

func search(t *testing.T, s graph.Store, q graph.SearchQuery) []graph.Node {
	t.Helper()
	res, err := s.Search(t.Context(), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return res
}

func testSearch(t *testing.T, newStore NewStore) {
	s := searchFixture(t, newStore)
	cases := []struct {
		name string
		q    graph.SearchQuery
		want []string
	}{
		{"empty query matches all, by key", graph.SearchQuery{}, sxAll},
		{"text in keys", graph.SearchQuery{Text: "orders"}, []string{sxOrders, sxOrdersV1, sxOrdersV2, sxJob}},
		{"text ignores case", graph.SearchQuery{Text: "ORDERS"}, []string{sxOrders, sxOrdersV1, sxOrdersV2, sxJob}},
		{"text in the name only", graph.SearchQuery{Text: "customer"}, []string{sxOrders}},
		{"text in key or name", graph.SearchQuery{Text: "Nightly"}, []string{sxJob, sxRun1}},
		{"non-Latin text ignores case", graph.SearchQuery{Text: "модель РИСКА"}, []string{sxModel}},
		{"accented text ignores case", graph.SearchQuery{Text: "DÉPLOIEMENT"}, []string{sxDeploy}},
		{"a name that is not a string is not searched", graph.SearchQuery{Text: "123"}, nil},
		{"percent is literal", graph.SearchQuery{Text: "%"}, nil},
		{"underscore is literal", graph.SearchQuery{Text: "_"}, []string{sxJob}},
		{"key prefix", graph.SearchQuery{KeyPrefix: "dataset:"}, []string{sxOrders, sxOrdersV1, sxOrdersV2, sxPayments}},
		{"key prefix that is a whole key", graph.SearchQuery{KeyPrefix: sxOrders}, []string{sxOrders, sxOrdersV1, sxOrdersV2}},
		{"key prefix is case-sensitive", graph.SearchQuery{KeyPrefix: "DATASET:"}, nil},
		{"one label", graph.SearchQuery{Labels: []graph.Label{graph.LabelDataset}}, []string{sxOrders, sxPayments}},
		{"two labels", graph.SearchQuery{Labels: []graph.Label{graph.LabelRun, graph.LabelJob}}, []string{sxJob, sxRun1, sxRun2}},
		{"text and label", graph.SearchQuery{Text: "orders", Labels: []graph.Label{graph.LabelDatasetVersion}}, []string{sxOrdersV1, sxOrdersV2}},
		{"text and prefix", graph.SearchQuery{Text: "orders", KeyPrefix: "job:"}, []string{sxJob}},
		{"after a key", graph.SearchQuery{After: sxOrdersV2}, []string{sxPayments, sxDeploy, sxJob, sxModel, sxRun1, sxRun2}},
		{"after a key that does not exist", graph.SearchQuery{After: "e"}, []string{sxJob, sxModel, sxRun1, sxRun2}},
		{"after the last key", graph.SearchQuery{After: sxRun2}, nil},
		{"limit", graph.SearchQuery{Text: "orders", Limit: 2}, []string{sxOrders, sxOrdersV1}},
		{"everything at once", graph.SearchQuery{Text: "o", KeyPrefix: "dataset:s3", Labels: []graph.Label{graph.LabelDatasetVersion}, After: sxOrdersV1, Limit: 5}, []string{sxOrdersV2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, nodeKeys(search(t, s, tc.q)), diffOpts); d != "" {
				t.Errorf("keys (-want +got):\n%s", d)
			}
		})
	}

	t.Run("results are whole nodes", func(t *testing.T) {
		got := search(t, s, graph.SearchQuery{Text: "customer"})
		want := []graph.Node{{Key: sxOrders, Label: graph.LabelDataset, Props: graph.Props{"name": "Customer Orders"},
			Provenance: graph.Provenance{FirstSeen: at(0), LastSeen: at(0), FirstOffset: 1, LastOffset: 1}}}
		if d := cmp.Diff(want, got, diffOpts); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})

	t.Run("paging with After", func(t *testing.T) {
		for _, limit := range []int{1, 3, 4, 10} {
			var got []string
			after := ""
			for page := 0; ; page++ {
				if page > len(sxAll) {
					t.Fatalf("limit %d: paging does not end", limit)
				}
				res := search(t, s, graph.SearchQuery{After: after, Limit: limit})
				if len(res) > limit {
					t.Fatalf("limit %d: page of %d", limit, len(res))
				}
				if len(res) == 0 {
					break
				}
				got = append(got, nodeKeys(res)...)
				after = res[len(res)-1].Key
			}
			if d := cmp.Diff(sxAll, got); d != "" {
				t.Errorf("limit %d: pages joined (-want +got):\n%s", limit, d)
			}
		}
	})

	t.Run("unknown label", func(t *testing.T) {
		_, err := s.Search(t.Context(), graph.SearchQuery{Labels: []graph.Label{"Table"}})
		wantCode(t, err, graph.EINVALID)
	})
}

// testSearchNames checks that search follows the "name" property as it is
// changed, removed and set to something that is not a string.
func testSearchNames(t *testing.T, newStore NewStore) {
	s := newStore(t)
	key := graph.DatasetKey("db://x", "t1")
	steps := []struct {
		props   graph.Props
		finds   []string
		misses  []string
		comment string
	}{
		{graph.Props{"name": "Alpha"}, []string{"alp", "ALPHA"}, []string{"beta"}, "set"},
		{graph.Props{"other": 1}, []string{"alpha"}, nil, "other props leave the name alone"},
		{graph.Props{"name": "Beta"}, []string{"bet"}, []string{"alpha"}, "renamed"},
		{graph.Props{"name": nil}, nil, []string{"beta"}, "removed"},
		{graph.Props{"name": 42}, nil, []string{"42"}, "not a string"},
		{graph.Props{"name": "Gamma"}, []string{"gamm"}, []string{"42"}, "a string again"},
	}
	for i, st := range steps {
		apply(t, s, batch(int64(i+1), nodeMut(key, graph.LabelDataset, at(i), st.props)))
		for _, text := range st.finds {
			if got := nodeKeys(search(t, s, graph.SearchQuery{Text: text})); !cmp.Equal(got, []string{key}) {
				t.Errorf("step %d (%s): Text %q found %q, want the node", i, st.comment, text, got)
			}
		}
		for _, text := range st.misses {
			if got := search(t, s, graph.SearchQuery{Text: text}); len(got) != 0 {
				t.Errorf("step %d (%s): Text %q found %q, want nothing", i, st.comment, text, nodeKeys(got))
			}
		}
	}
}

func testSearchLimit(t *testing.T, newStore NewStore) {
	s := newStore(t)
	const n = graph.MaxSearchLimit + 100
	muts := make([]graph.Mutation, n)
	for i := range muts {
		muts[i] = nodeMut(graph.CorrelationKey(fmt.Sprintf("c%05d", i)), graph.LabelCorrelation, at(0), nil)
	}
	apply(t, s, batch(1, muts...))
	for _, tc := range []struct{ limit, want int }{
		{0, graph.DefaultSearchLimit},
		{-1, graph.DefaultSearchLimit},
		{1, 1},
		{graph.MaxSearchLimit, graph.MaxSearchLimit},
		{graph.MaxSearchLimit + 1, graph.MaxSearchLimit},
		{1 << 30, graph.MaxSearchLimit},
	} {
		res := search(t, s, graph.SearchQuery{Limit: tc.limit})
		if len(res) != tc.want {
			t.Errorf("Limit %d: %d results, want %d", tc.limit, len(res), tc.want)
		}
		if len(res) > 0 && res[0].Key != graph.CorrelationKey("c00000") {
			t.Errorf("Limit %d: first result %q, want the smallest key", tc.limit, res[0].Key)
		}
	}
}

func testCounts(t *testing.T, newStore NewStore) {
	t.Run("empty", func(t *testing.T) {
		c, err := newStore(t).Counts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(graph.Counts{}, c, diffOpts); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
	t.Run("lineage", func(t *testing.T) {
		s := lineageFixture(t, newStore)
		want := graph.Counts{
			Nodes: map[graph.Label]int64{
				graph.LabelCorrelation: 1, graph.LabelDatasetVersion: 2, graph.LabelDataset: 1, graph.LabelRun: 2,
				graph.LabelJob: 1, graph.LabelModelVersion: 1, graph.LabelDeployment: 1,
			},
			Edges: map[graph.EdgeType]int64{
				graph.EdgeIngestedAs: 1, graph.EdgeVersionOf: 1, graph.EdgeReadBy: 2, graph.EdgeRunOf: 2,
				graph.EdgeWrote: 1, graph.EdgeRegisteredAs: 1, graph.EdgeDeployedAs: 1,
			},
		}
		check := func(when string) {
			t.Helper()
			c, err := s.Counts(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, c, diffOpts); d != "" {
				t.Errorf("%s (-want +got):\n%s", when, d)
			}
		}
		check("after loading")
		// Upserting what exists, even under another label, counts nothing new.
		apply(t, s, batch(100,
			nodeMut(fxJ, graph.LabelJob, at(9), graph.Props{"x": 1}),
			nodeMut(fxR1, graph.LabelDataset, at(9), nil),
			edgeMut(fxR1, graph.EdgeRunOf, fxJ, at(9)),
		))
		check("after upserting existing nodes and edges")
		apply(t, s, batch(101,
			nodeMut(graph.ArtifactKey("ab"), graph.LabelArtifact, at(9), nil),
			edgeMut(fxR2, graph.EdgeProduced, graph.ArtifactKey("ab"), at(9)),
		))
		want.Nodes[graph.LabelArtifact] = 1
		want.Edges[graph.EdgeProduced] = 1
		check("after adding a node and an edge")
	})
}

func testNodes(t *testing.T, newStore NewStore) {
	s := lineageFixture(t, newStore)
	missing := graph.DatasetKey("s3://raw", "nope")
	for _, tc := range []struct {
		name string
		keys []string
		want []string
	}{
		{"in the order asked", []string{fxJ, fxC, fxD, fxDV1}, []string{fxJ, fxC, fxD, fxDV1}},
		{"missing keys skipped", []string{missing, fxD, "", missing, fxC}, []string{fxD, fxC}},
		{"only missing keys", []string{missing}, nil},
		{"no keys", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Nodes(t.Context(), tc.keys...)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, nodeKeys(got), diffOpts); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	t.Run("whole nodes", func(t *testing.T) {
		want := graph.Node{Key: fxJ, Label: graph.LabelJob, Props: graph.Props{"name": fxJ, "i": int64(4)},
			Provenance: graph.Provenance{FirstSeen: at(4), LastSeen: at(4), FirstOffset: 5, LastOffset: 5}}
		if d := cmp.Diff(want, mustNode(t, s, fxJ), diffOpts); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
}
