package mlflow

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/redthread/redthread/graph"
)

const testURI = "http://mlflow.test:5000"

// sampleRun is a run written for these tests on the shape MLflow returns,
// after the seed's risk-default_v2 example.
func sampleRun() *Observation {
	sha := func(c byte) string { return strings.Repeat(string(c), 64) }
	return &Observation{
		Format: ObservationFormat, Kind: KindRun, TrackingURI: testURI,
		Experiment: &Experiment{ExperimentID: "7", Name: "risk-default-v2", Tags: []Tag{{"team", "risco"}}},
		Run: &Run{
			Info: RunInfo{RunID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", RunName: "risk-default_v2-20251112-1030-a1b2c3d",
				ExperimentID: "7", UserID: "svc-train", Status: "FINISHED", StartTime: 1762943400000, EndTime: 1762947000000,
				ArtifactURI: "mlflow-artifacts:/7/0a1b/artifacts", LifecycleStage: "active"},
			Data: RunData{
				Params: []Tag{{"learning_rate", "0.05"}, {"seed", "42"}},
				Metrics: []Metric{{Key: "auc", Value: 0.871}, {Key: "auc_group__idade_18_25", Value: 0.84},
					{Key: "ks_group__idade_18_25", Value: 0.47}, {Key: "loss_nan", Value: Float(nan())}},
				Tags: []Tag{
					{"prov.git_sha", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"},
					{"mlflow.source.git.commit", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"},
					{"prov.repo_url", "https://git.example.com/risk/default-model"},
					{"container_digest", "registry.example.com/ml/train-risk@sha256:" + sha('b')},
					{"dataset_id", "s3://z3-curated/risco/clientes"},
					{"dataset_snapshot_at", "2025-11-10T00:00:00Z"},
					{"dataset_hash", "sha256:" + sha('c')},
					{"feature_groups", "fs_offline.risco_cliente_v1@v1, fs_offline.bureau_score@v3"},
					{"z1_correlation_id", "z1-2025-11-10-0042"},
					{"mlflow.user", "ana.souza"},
					{"security_decision", "PASS"},
					{"orchestrator", "airflow"},
				},
			},
			Inputs: &RunInputs{DatasetInputs: []DatasetInput{{
				Tags:    []Tag{{"mlflow.data.context", "training"}},
				Dataset: Dataset{Name: "clientes", Digest: "3f2a9c1d", SourceType: "s3", Source: `{"uri": "s3://z3-curated/risco/clientes"}`},
			}}},
		},
		Artifacts: []FileInfo{
			{Path: "checksums.json", FileSize: 300}, {Path: "model", IsDir: true},
			{Path: "model/model.onnx", FileSize: 2048}, {Path: "repro/manifest.json", FileSize: 90},
			{Path: "signatures/model.sig", FileSize: 96}, {Path: "sbom/sbom.json", FileSize: 500},
		},
		Checksums: []Checksum{
			{Path: "checksums.json", SHA256: sha('1'), From: "download"},
			{Path: "model/model.onnx", SHA256: sha('2'), From: "checksums.json"},
			{Path: "repro/manifest.json", SHA256: sha('3'), From: "checksums.json"},
			{Path: "signatures/model.sig", SHA256: sha('4'), From: "checksums.json"},
		},
	}
}

func nan() float64 { var z float64; return z / z }

type mapped struct {
	nodes map[string]graph.Node
	edges map[string]graph.Edge
}

func mapOf(t *testing.T, o *Observation) mapped {
	t.Helper()
	body, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Decoder()(body)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	m := mapped{nodes: map[string]graph.Node{}, edges: map[string]graph.Edge{}}
	seen := map[string]bool{}
	for _, mu := range ev.Mutations {
		switch mu.Kind {
		case graph.UpsertNode:
			if _, err := graph.NormalizeProps(mu.Node.Props); err != nil {
				t.Errorf("node %s: %v", mu.Node.Key, err)
			}
			if _, err := graph.ParseKey(mu.Node.Key); err != nil {
				t.Errorf("node key %q does not parse: %v", mu.Node.Key, err)
			}
			m.nodes[mu.Node.Key] = mu.Node
			seen[mu.Node.Key] = true
		case graph.UpsertEdge:
			if !seen[mu.Edge.From] || !seen[mu.Edge.To] {
				t.Errorf("edge %s comes before one of its nodes", mu.Edge.ID())
			}
			m.edges[mu.Edge.ID()] = mu.Edge
		}
	}
	return m
}

func (m mapped) hasEdge(t *testing.T, from string, typ graph.EdgeType, to string) graph.Edge {
	t.Helper()
	e, ok := m.edges[graph.Edge{Type: typ, From: from, To: to}.ID()]
	if !ok {
		var have []string
		for id := range m.edges {
			have = append(have, id)
		}
		slices.Sort(have)
		t.Fatalf("no edge %s -%s-> %s; have:\n%s", from, typ, to, strings.Join(have, "\n"))
	}
	return e
}

func TestMapRun(t *testing.T) {
	o := sampleRun()
	m := mapOf(t, o)
	ns := "mlflow://mlflow.test:5000"
	runKey := "run:0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
	run, ok := m.nodes[runKey]
	if !ok || run.Label != graph.LabelRun {
		t.Fatalf("no Run node %s", runKey)
	}
	for k, want := range map[string]any{
		"git_sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "repo_url": "https://git.example.com/risk/default-model",
		"param.learning_rate": "0.05", "seeds": "42", "metric.auc": 0.871, "metric.loss_nan": "NaN",
		"status": "FINISHED", "user": "ana.souza", "security_decision": "PASS", "repro_bundle": true,
		"mlflow_run_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", "started_at": "2025-11-12T10:30:00Z",
	} {
		if got := run.Props[k]; got != want {
			t.Errorf("run prop %s = %#v, want %#v", k, got, want)
		}
	}
	if run.FirstSeen.IsZero() || !run.LastSeen.After(run.FirstSeen) {
		t.Errorf("run seen %v..%v, want start..end", run.FirstSeen, run.LastSeen)
	}
	if run.Props["complete"] != false {
		t.Errorf("an incomplete run is complete: %v", run.Props)
	}
	missing, _ := run.Props["missing_fields"].([]string)
	for _, f := range []string{"sbom_ref", "hygiene_report.json", "model_card.md", "attestation"} {
		if !slices.Contains(missing, f) {
			t.Errorf("missing_fields %v lacks %s", missing, f)
		}
	}
	for _, f := range []string{"git_sha", "dataset_id", "checksums.json", "cosign_signature", "metrics", "metrics_by_subgroup"} {
		if slices.Contains(missing, f) {
			t.Errorf("missing_fields %v names %s, which the run has", missing, f)
		}
	}
	var groups map[string]map[string]any
	if err := json.Unmarshal(run.Facets["mlflow_metrics_by_group"], &groups); err != nil || groups["auc"]["idade_18_25"] != 0.84 || groups["ks"]["idade_18_25"] != 0.47 {
		t.Errorf("metrics by group = %s (%v)", run.Facets["mlflow_metrics_by_group"], err)
	}

	jobKey := graph.JobKey(ns, "risk-default-v2")
	m.hasEdge(t, runKey, graph.EdgeRunOf, jobKey)
	commit := graph.CommitKey("https://git.example.com/risk/default-model", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")
	if e := m.hasEdge(t, runKey, graph.EdgeBuiltFrom, commit); e.Props["claimed_by"] != "git_sha,mlflow.source.git.commit" {
		t.Errorf("BUILT_FROM claimed_by %v", e.Props["claimed_by"])
	}
	m.hasEdge(t, runKey, graph.EdgeRanIn, graph.ImageKey("registry.example.com/ml/train-risk", strings.Repeat("b", 64)))
	m.hasEdge(t, runKey, graph.EdgeTriggeredBy, graph.IdentityKey(ns, "ana.souza"))
	dv := graph.DatasetVersionKey("s3://z3-curated", "risco/clientes", "2025-11-10T00:00:00Z")
	e := m.hasEdge(t, dv, graph.EdgeReadBy, runKey)
	if e.Props["mlflow_digest"] != "3f2a9c1d" || e.Props["context"] != "training" {
		t.Errorf("READ_BY props %v: the MLflow input should merge into the snapshot edge", e.Props)
	}
	if m.nodes[dv].Props["dataset_hash"] != "sha256:"+strings.Repeat("c", 64) {
		t.Errorf("snapshot props %v", m.nodes[dv].Props)
	}
	m.hasEdge(t, dv, graph.EdgeVersionOf, graph.DatasetKey("s3://z3-curated", "risco/clientes"))
	m.hasEdge(t, graph.CorrelationKey("z1-2025-11-10-0042"), graph.EdgeIngestedAs, dv)
	m.hasEdge(t, runKey, graph.EdgeUsedFeatures, graph.FeatureGroupKey("fs_offline.risco_cliente_v1", "v1"))
	m.hasEdge(t, runKey, graph.EdgeUsedFeatures, graph.FeatureGroupKey("fs_offline.bureau_score", "v3"))

	model := graph.ArtifactKey(strings.Repeat("2", 64))
	if e := m.hasEdge(t, runKey, graph.EdgeProduced, model); e.Props["path"] != "model/model.onnx" || e.Props["role"] != "model" {
		t.Errorf("PRODUCED props %v", e.Props)
	}
	m.hasEdge(t, graph.ArtifactKey(strings.Repeat("4", 64)), graph.EdgeSigns, model)
	m.hasEdge(t, runKey, graph.EdgeProduced, graph.ArtifactKey(strings.Repeat("1", 64)))
	findings, _ := run.Props["findings"].([]string)
	if len(findings) != 1 || !strings.Contains(findings[0], "sbom/sbom.json") {
		t.Errorf("findings = %q, want one about sbom/sbom.json having no checksum", findings)
	}
}

func TestMapRunFindsDisagreements(t *testing.T) {
	o := sampleRun()
	for i, tg := range o.Run.Data.Tags {
		if tg.Key == "mlflow.source.git.commit" {
			o.Run.Data.Tags[i].Value = "0011223344556677889900112233445566778899"
		}
	}
	o.Run.Data.Tags = append(o.Run.Data.Tags, Tag{"seed", "7"}) // the param says 42
	m := mapOf(t, o)
	runKey := RunKeyOf(o.Run)
	findings, _ := m.nodes[runKey].Props["findings"].([]string)
	joined := strings.Join(findings, "\n")
	for _, want := range []string{`git_sha: git_sha="a1b2c3d4`, `tag mlflow.source.git.commit="0011223344`, `seeds: tag seed="7" disagrees with param seed="42"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("findings lack %q:\n%s", want, joined)
		}
	}
	repo := "https://git.example.com/risk/default-model"
	if e := m.hasEdge(t, runKey, graph.EdgeBuiltFrom, graph.CommitKey(repo, "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")); e.Props["claimed_by"] != "git_sha" {
		t.Errorf("claimed_by %v", e.Props)
	}
	m.hasEdge(t, runKey, graph.EdgeBuiltFrom, graph.CommitKey(repo, "0011223344556677889900112233445566778899"))
}

func TestMapRunAfterFinishKeepsFirstValues(t *testing.T) {
	o := sampleRun()
	before := "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	after := "ffffffffffffffffffffffffffffffffffffffff"
	o.Run.Data.Tags[0].Value = after
	o.Supersedes = &Supersedes{SHA256: strings.Repeat("9", 64), Offset: 41, AfterFinish: true,
		Changes: []Change{{Field: "tags.prov.git_sha", Before: &before, After: &after}}}
	m := mapOf(t, o)
	run := m.nodes[RunKeyOf(o.Run)]
	if _, ok := run.Props["git_sha"]; ok {
		t.Errorf("a change after finish overwrote git_sha: %v", run.Props)
	}
	if run.Props["changed_after_finish"] != true {
		t.Errorf("change not flagged: %v", run.Props)
	}
	var s Supersedes
	if err := json.Unmarshal(run.Facets["mlflow_change_after_offset_41"], &s); err != nil || len(s.Changes) != 1 || *s.Changes[0].After != after {
		t.Errorf("change facet = %s (%v)", run.Facets["mlflow_change_after_offset_41"], err)
	}
	if len(m.edges) != 0 || len(m.nodes) != 1 {
		t.Errorf("a change after finish added %d nodes and %d edges", len(m.nodes), len(m.edges))
	}
}

func TestMapRunRemovedTag(t *testing.T) {
	o := sampleRun()
	o.Run.Info.Status = "RUNNING"
	var kept []Tag
	for _, tg := range o.Run.Data.Tags {
		if tg.Key != "orchestrator" {
			kept = append(kept, tg)
		}
	}
	o.Run.Data.Tags = kept
	was := "airflow"
	o.Supersedes = &Supersedes{SHA256: strings.Repeat("9", 64), Offset: 3,
		Changes: []Change{{Field: "tags.orchestrator", Before: &was}}}
	run := mapOf(t, o).nodes[RunKeyOf(o.Run)]
	if v, ok := run.Props["orchestrator"]; !ok || v != nil {
		t.Errorf("orchestrator = %#v, %v; want an explicit nil that removes it", v, ok)
	}
	if _, ok := run.Props["dataset_id"]; !ok {
		t.Error("fields still present were dropped")
	}
}

func TestMapRunLinkedToOpenLineage(t *testing.T) {
	o := sampleRun()
	o.Run.Data.Tags = append(o.Run.Data.Tags, Tag{OpenLineageRunTag, "3b1f6a52-8c2e-4d7b-9f10-5a6b7c8d9e0f"})
	m := mapOf(t, o)
	run, ok := m.nodes["run:3b1f6a52-8c2e-4d7b-9f10-5a6b7c8d9e0f"]
	if !ok {
		t.Fatal("the run is not keyed by its OpenLineage run id")
	}
	if run.Props["mlflow_run_id"] != "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" {
		t.Errorf("mlflow_run_id = %v", run.Props["mlflow_run_id"])
	}
}

func TestMapModelVersion(t *testing.T) {
	ns := "mlflow://mlflow.test:5000"
	o := &Observation{Format: ObservationFormat, Kind: KindModelVersion, TrackingURI: testURI,
		ModelVersion: &ModelVersion{Name: "risk-default", Version: "2", RunID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
			Status: "READY", Source: "mlflow-artifacts:/7/0a1b/artifacts/model", CreationTimestamp: 1762947100000,
			Tags:    []Tag{{"security_decision", "PASS"}, {"cosign_sig", "MEUCIQ=="}, {"team", "risco"}},
			Aliases: []string{"champion"}}}
	m := mapOf(t, o)
	mv := graph.ModelVersionKey(ns, "risk-default", "2")
	n := m.nodes[mv]
	for k, want := range map[string]any{"security_decision": "PASS", "cosign_sig": "MEUCIQ==", "tag.team": "risco", "registered_without_run": false} {
		if n.Props[k] != want {
			t.Errorf("%s = %#v, want %#v", k, n.Props[k], want)
		}
	}
	if v, ok := n.Props["attestation"]; !ok || v != nil {
		t.Errorf("an absent attestation tag must clear the property: %#v", v)
	}
	m.hasEdge(t, "run:0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", graph.EdgeRegisteredAs, mv)
	m.hasEdge(t, mv, graph.EdgeVersionOf, graph.RegisteredModelKey(ns, "risk-default"))

	o.ModelVersion.RunID = ""
	o.ModelVersion.Version = "3"
	m = mapOf(t, o)
	n = m.nodes[graph.ModelVersionKey(ns, "risk-default", "3")]
	if n.Props["registered_without_run"] != true || len(n.Props["findings"].([]string)) != 1 {
		t.Errorf("a version without a run: %v", n.Props)
	}
	for id := range m.edges {
		if strings.Contains(id, "REGISTERED_AS") {
			t.Errorf("edge %s for a version without a run", id)
		}
	}
}

func TestMapRegisteredModelAliases(t *testing.T) {
	gone := "1"
	o := &Observation{Format: ObservationFormat, Kind: KindRegisteredModel, TrackingURI: testURI,
		RegisteredModel: &RegisteredModel{Name: "risk-default", Aliases: []RegisteredModelAlias{{"champion", "2"}}},
		Supersedes:      &Supersedes{Changes: []Change{{Field: "aliases.challenger", Before: &gone}}}}
	n := mapOf(t, o).nodes[graph.RegisteredModelKey(Namespace(testURI), "risk-default")]
	if n.Props["alias.champion"] != "2" {
		t.Errorf("alias.champion = %v", n.Props["alias.champion"])
	}
	if v, ok := n.Props["alias.challenger"]; !ok || v != nil {
		t.Errorf("a removed alias must be cleared: %#v %v", v, ok)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range []struct{ body, field string }{
		{`{}`, "redthread_mlflow"},
		{`{"redthread_mlflow":"nope/v9"}`, "redthread_mlflow"},
		{`{"redthread_mlflow":"observation/v1","kind":"run","tracking_uri":"http://x"}`, "run"},
		{`{"redthread_mlflow":"observation/v1","kind":"run","run":{"info":{}}}`, "tracking_uri"},
		{`{"redthread_mlflow":"observation/v1","kind":"run","tracking_uri":"http://x","run":{"info":{}}}`, "run.info.run_id"},
		{`{"redthread_mlflow":"observation/v1","kind":"run","tracking_uri":"http://x","run":{"info":{"run_id":"a","start_time":"soon"}}}`, ""},
		{`{"redthread_mlflow":"observation/v1","kind":"run","tracking_uri":"http://x","run":{"info":{"run_id":7}}}`, "run.info.run_id"},
		{`{"redthread_mlflow":"observation/v1","kind":"thing","tracking_uri":"http://x"}`, "kind"},
		{`{"redthread_mlflow":"observation/v1","kind":"model_version","tracking_uri":"http://x","model_version":{"name":"m"}}`, "model_version.version"},
		{`{"redthread_mlflow":"cursor/v1"}`, "tracking_uri"},
		{`[1,2]`, ""},
	} {
		_, err := Decoder()([]byte(c.body))
		var ge *graph.Error
		if err == nil || !asGraphError(err, &ge) || ge.Code != graph.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", c.body, err)
			continue
		}
		if c.field != "" && ge.Field != c.field {
			t.Errorf("%s: field %q, want %q (%v)", c.body, ge.Field, c.field, err)
		}
	}
}

func TestContentHashIgnoresSupersedes(t *testing.T) {
	a, b := sampleRun(), sampleRun()
	b.Supersedes = &Supersedes{SHA256: "x", Offset: 9}
	if ContentSHA256(a) != ContentSHA256(b) {
		t.Error("Supersedes changes the content hash")
	}
	b.Run.Data.Params[0].Value = "0.06"
	if ContentSHA256(a) == ContentSHA256(b) {
		t.Error("a changed param leaves the content hash alone")
	}
}

func TestNamespace(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:5000":                   "mlflow://127.0.0.1:5000",
		"https://user:pw@MLflow.Example.com/":     "mlflow://mlflow.example.com",
		"https://mlflow.example.com/tracking?x=1": "mlflow://mlflow.example.com/tracking",
		"databricks://profile":                    "mlflow://profile",
	} {
		if got := Namespace(in); got != want {
			t.Errorf("Namespace(%q) = %q, want %q", in, got, want)
		}
	}
}

func asGraphError(err error, target **graph.Error) bool { return errors.As(err, target) }
