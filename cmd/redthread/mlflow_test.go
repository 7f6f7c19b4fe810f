package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest/mlflow"
	"github.com/redthread/redthread/ingest/mlflow/mlflowtest"
)

func (p *serverProc) node(t *testing.T, key string) *gqlNode {
	t.Helper()
	var out struct {
		Node *gqlNode `json:"node"`
	}
	p.gql(t, `query($k: ID!) { node(key: $k) { key label properties } }`, map[string]any{"k": key}, &out)
	return out.Node
}

// syncSummary is `redthread mlflow sync --json`.
type syncSummary struct {
	Runs               int    `json:"runs"`
	RegisteredModels   int    `json:"registered_models"`
	ModelVersions      int    `json:"model_versions"`
	New                int    `json:"new"`
	Changed            int    `json:"changed"`
	ChangedAfterFinish int    `json:"changed_after_finish"`
	Unchanged          int    `json:"unchanged"`
	Rejected           int    `json:"rejected"`
	Error              string `json:"error"`
}

func mlflowSync(t *testing.T, uri, url string, extra ...string) syncSummary {
	t.Helper()
	args := append([]string{"mlflow", "sync", "--mlflow-uri", uri, "--url", url, "--json", "--quiet", "--experiment", mlflowtest.ExperimentName}, extra...)
	out, err := exec.Command(binPath, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redthread mlflow sync: %v\n%s", err, out)
	}
	var s syncSummary
	if err := json.Unmarshal(out[strings.IndexByte(string(out), '{'):], &s); err != nil {
		t.Fatalf("sync output: %v\n%s", err, out)
	}
	if s.Rejected != 0 || s.Error != "" {
		t.Fatalf("sync rejected %d: %s\n%s", s.Rejected, s.Error, out)
	}
	return s
}

func TestMLflowSync(t *testing.T) {
	uri := mlflowtest.Start(t)
	ctx := t.Context()
	sc, err := mlflowtest.Seed(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	srv := startServer(t, dataDir)
	reg := mlflow.Namespace(uri)
	runKey := func(id string) string { return graph.RunKey(id) }

	first := mlflowSync(t, uri, srv.URL)
	if first.Runs != 5 || first.ModelVersions != 3 || first.RegisteredModels != 1 || first.New != 9 {
		t.Fatalf("first sync = %+v, want 5 runs, 1 model, 3 versions, all new", first)
	}

	// Run A: the §2 fields, its data snapshot, code, image, identity and
	// artifacts.
	a := srv.node(t, runKey(sc.RunA))
	if a == nil {
		t.Fatalf("no node for run A (%s)", sc.RunA)
	}
	for k, want := range map[string]any{
		"git_sha": mlflowtest.GitSHA, "dataset_id": mlflowtest.DatasetID, "status": "FINISHED",
		"run_name": mlflowtest.RunNameA, "security_decision": "PASS", "repro_bundle": true,
		"user": mlflowtest.User, "param.seed": "42", "z1_correlation_id": mlflowtest.Z1CorrelationID,
	} {
		if a.Properties[k] != want {
			t.Errorf("run A %s = %#v, want %#v", k, a.Properties[k], want)
		}
	}
	if v, ok := a.Properties["metric.auc_group__idade_18_25"].(float64); !ok || v != 0.84 {
		t.Errorf("run A subgroup metric = %#v", a.Properties["metric.auc_group__idade_18_25"])
	}
	snapshot := graph.DatasetVersionKey("s3://z3-curated", "risco/clientes", mlflowtest.DatasetSnapshotAt)

	// Impact: from the dataset snapshot to every run that read it and the
	// model versions they registered.
	impact := srv.lineage(t, snapshot, "DOWNSTREAM", 3)
	for _, want := range [][3]string{
		{"READ_BY", snapshot, runKey(sc.RunA)},
		{"READ_BY", snapshot, runKey(sc.RunB)},
		{"REGISTERED_AS", runKey(sc.RunA), graph.ModelVersionKey(reg, mlflowtest.ModelName, mlflowtest.VersionA)},
		{"REGISTERED_AS", runKey(sc.RunB), graph.ModelVersionKey(reg, mlflowtest.ModelName, mlflowtest.VersionB)},
	} {
		if !impact.hasEdge(want[0], want[1], want[2]) {
			t.Errorf("impact of %s lacks %s -%s-> %s", snapshot, want[1], want[0], want[2])
		}
	}
	// Provenance of run A.
	prov := srv.lineage(t, runKey(sc.RunA), "BOTH", 1)
	modelSHA := sc.ArtifactsA[mlflowtest.PathModel]
	for _, want := range [][3]string{
		{"BUILT_FROM", runKey(sc.RunA), graph.CommitKey(mlflowtest.RepoURL, mlflowtest.GitSHA)},
		{"RAN_IN", runKey(sc.RunA), "image:registry.example.com/ml/train-risk@sha256:8968d2c027bf3d4fa4b0a54b19f71273a4841132b721e587c1b8876d9667404d"},
		{"TRIGGERED_BY", runKey(sc.RunA), graph.IdentityKey(reg, mlflowtest.User)},
		{"USED_FEATURES", runKey(sc.RunA), graph.FeatureGroupKey("fs_offline.risco_cliente_v1", "v1")},
		{"PRODUCED", runKey(sc.RunA), graph.ArtifactKey(modelSHA)},
		{"RUN_OF", runKey(sc.RunA), graph.JobKey(reg, mlflowtest.ExperimentName)},
	} {
		if !prov.hasEdge(want[0], want[1], want[2]) {
			t.Errorf("run A lacks %s -%s-> %s", want[1], want[0], want[2])
		}
	}
	if srv.node(t, graph.ArtifactKey(modelSHA)) == nil {
		t.Error("no Artifact node for the model file")
	}
	// Run B rebuilds A; both produced the same model bytes.
	b := srv.lineage(t, runKey(sc.RunB), "DOWNSTREAM", 1)
	if !b.hasEdge("REBUILD_OF", runKey(sc.RunB), runKey(sc.RunA)) || !b.hasEdge("PRODUCED", runKey(sc.RunB), graph.ArtifactKey(modelSHA)) {
		t.Errorf("run B: no REBUILD_OF A or no PRODUCED of the shared model file")
	}
	// Run C's disagreeing commits are a finding, and both commits stay.
	c := srv.node(t, runKey(sc.RunC))
	findings := fmt.Sprint(c.Properties["findings"])
	if !strings.Contains(findings, mlflowtest.GitSHAC) || !strings.Contains(findings, mlflowtest.SourceCommitC) {
		t.Errorf("run C findings = %s", findings)
	}
	if c.Properties["complete"] != false || !slices.Contains(toStrings(c.Properties["missing_fields"]), "dataset_hash") {
		t.Errorf("run C completeness: %v %v", c.Properties["complete"], c.Properties["missing_fields"])
	}
	// Run E is keyed by its OpenLineage run id.
	if e := srv.node(t, graph.RunKey(mlflowtest.OpenLineageRunID)); e == nil || e.Properties["mlflow_run_id"] != graph.NormalizeRunID(sc.RunE) {
		t.Errorf("run E under its OpenLineage id: %+v", e)
	}
	// The registry: tags, aliases, a version without a run.
	v1 := srv.node(t, graph.ModelVersionKey(reg, mlflowtest.ModelName, mlflowtest.VersionA))
	if v1 == nil || v1.Properties["cosign_sig"] != mlflowtest.CosignSigA || v1.Properties["attestation"] != mlflowtest.AttestationA {
		t.Errorf("version 1: %+v", v1)
	}
	if v3 := srv.node(t, graph.ModelVersionKey(reg, mlflowtest.ModelName, mlflowtest.VersionLegacy)); v3 == nil || v3.Properties["registered_without_run"] != true {
		t.Errorf("version 3 (no run): %+v", v3)
	}
	rm := srv.node(t, graph.RegisteredModelKey(reg, mlflowtest.ModelName))
	if rm == nil || rm.Properties["alias."+mlflowtest.AliasChampion] != mlflowtest.VersionB || rm.Properties["alias."+mlflowtest.AliasChallenger] != mlflowtest.VersionA {
		t.Errorf("registered model aliases: %+v", rm)
	}

	// An OpenLineage producer that uses the MLflow run id meets the same Run.
	status, body, err := postJSON(ctx, srv.URL+"/api/v1/lineage",
		runEvent(graph.NormalizeRunID(sc.RunA), "COMPLETE", "train_risco_model", "s3://z3-curated", "risco/clientes", "s3://z4-models", "risk-default"))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("OpenLineage event for run A: %d %s %v", status, body, err)
	}
	if merged := srv.node(t, runKey(sc.RunA)); merged.Properties["git_sha"] != mlflowtest.GitSHA || merged.Properties["last_event_type"] != "COMPLETE" {
		t.Errorf("run A did not merge MLflow and OpenLineage facts: %v", merged.Properties)
	}

	// Nothing changed: nothing appended.
	if again := mlflowSync(t, uri, srv.URL); again.Unchanged != 9 || again.New+again.Changed+again.ChangedAfterFinish != 0 {
		t.Errorf("second sync = %+v, want all 9 unchanged", again)
	}
	// Run D finishes: an ordinary change.
	if err := sc.FinishRunD(ctx); err != nil {
		t.Fatal(err)
	}
	if s := mlflowSync(t, uri, srv.URL); s.Changed != 1 || s.ChangedAfterFinish != 0 {
		t.Errorf("after run D finished: %+v, want 1 changed", s)
	}
	if d := srv.node(t, runKey(sc.RunD)); d.Properties["status"] != "FINISHED" {
		t.Errorf("run D status %v", d.Properties["status"])
	}
	// Run A is edited after it finished: flagged, first values kept.
	if err := sc.SetRunTag(ctx, sc.RunA, "prov.git_sha", "0000000000000000000000000000000000000000"); err != nil {
		t.Fatal(err)
	}
	if s := mlflowSync(t, uri, srv.URL); s.ChangedAfterFinish != 1 || s.Changed != 0 {
		t.Errorf("after editing finished run A: %+v, want 1 changed after finish", s)
	}
	a = srv.node(t, runKey(sc.RunA))
	if a.Properties["git_sha"] != mlflowtest.GitSHA || a.Properties["changed_after_finish"] != true {
		t.Errorf("edited run A: git_sha %v, changed_after_finish %v", a.Properties["git_sha"], a.Properties["changed_after_finish"])
	}

	// The graph is a projection of the log: replaying the MLflow records
	// into an empty graph gives the same run A.
	srv.stop(t)
	target := t.TempDir() + "/rebuilt.db"
	if stdout, stderr, code := redthread(t, nil, "reindex", "--quiet", "--data-dir", dataDir, "--graph", "sqlite:"+target); code != 0 {
		t.Fatalf("reindex: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rebuilt := startServer(t, dataDir, "--graph", "sqlite:"+target)
	if r := rebuilt.node(t, runKey(sc.RunA)); r == nil || fmt.Sprint(r.Properties) != fmt.Sprint(a.Properties) {
		t.Errorf("run A after reindex differs:\n%v\nwant\n%v", r, a.Properties)
	}
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			out = append(out, fmt.Sprint(e))
		}
	}
	return out
}

// lineage runs the lineage query and returns its edges.
func (p *serverProc) lineage(t *testing.T, key, direction string, depth int) gqlLineage {
	t.Helper()
	var out gqlLineage
	p.gql(t, e2eLineageQuery, map[string]any{"key": key, "direction": direction, "depth": depth}, &out)
	return out
}

func TestMLflowPollerAndWebhook(t *testing.T) {
	uri := mlflowtest.Start(t)
	ctx := t.Context()
	sc, err := mlflowtest.Seed(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	reg := mlflow.Namespace(uri)
	dir := t.TempDir()
	const secret = "whsec-redthread-test"

	// The poller alone brings the scenario in and logs its cursor.
	srv := startServer(t, dir, "--mlflow-uri", uri, "--mlflow-interval", "1s", "--mlflow-experiment", mlflowtest.ExperimentName,
		"--log-level", "info")
	waitFor(t, 90*time.Second, "the poller to bring in model version 2", func() bool {
		return srv.node(t, graph.ModelVersionKey(reg, mlflowtest.ModelName, mlflowtest.VersionB)) != nil
	})
	if n := srv.node(t, graph.RunKey(sc.RunA)); n == nil || n.Properties["git_sha"] == nil {
		t.Fatalf("run A after polling: %+v", n)
	}
	rd := waitReady(t, srv, true)
	if rd.MLflow == nil || rd.MLflow.TrackingURI != uri || rd.MLflow.LastPass == nil || rd.MLflow.LastError != "" {
		t.Errorf("/readyz mlflow = %+v", rd.MLflow)
	}
	srv.stop(t)

	// Restarted, it resumes from the cursor in the log: its first pass is
	// incremental. With an hour between passes, a version created after
	// that pass can only arrive by webhook.
	srv = startServer(t, dir, "--mlflow-uri", uri, "--mlflow-interval", "1h", "--mlflow-experiment", mlflowtest.ExperimentName,
		"--mlflow-webhook-secret", secret, "--log-level", "info")
	waitFor(t, 60*time.Second, "the first poll pass after restart", func() bool {
		return strings.Contains(srv.metrics(t), `redthread_mlflow_poll_passes_total{kind="incremental",result="ok"} 1`)
	})
	if !strings.Contains(srv.logs.String(), "resuming from the logged cursor") {
		t.Errorf("the restarted poller did not resume from its cursor:\n%s", srv.logs)
	}
	hookID, err := mlflowtest.CreateWebhook(ctx, uri, "redthread-e2e", srv.URL+"/api/v1/mlflow/webhook", secret,
		[]string{"model_version.created", "model_version_tag.set", "model_version_alias.created"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mlflowtest.DeleteWebhook(context.Background(), uri, hookID) })

	status, body, err := postJSON(ctx, uri+"/api/2.0/mlflow/model-versions/create",
		[]byte(fmt.Sprintf(`{"name":%q,"source":"s3://models-staging/risk-default/candidate","run_id":%q,"tags":[{"key":"security_decision","value":"PASS"}]}`,
			mlflowtest.ModelName, sc.RunB)))
	if err != nil || status != http.StatusOK {
		t.Fatalf("create model version: %d %s %v", status, body, err)
	}
	var created struct {
		ModelVersion struct {
			Version string `json:"version"`
		} `json:"model_version"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.ModelVersion.Version == "" {
		t.Fatalf("create model version answered %s", body)
	}
	mvKey := graph.ModelVersionKey(reg, mlflowtest.ModelName, created.ModelVersion.Version)
	waitFor(t, 60*time.Second, "the webhook to bring in "+mvKey, func() bool {
		return srv.node(t, mvKey) != nil
	})
	n := srv.node(t, mvKey)
	if n.Properties["security_decision"] != "PASS" || n.Properties["run_id"] != graph.NormalizeRunID(sc.RunB) {
		t.Errorf("version from the webhook: %v", n.Properties)
	}
	if !srv.lineage(t, graph.RunKey(sc.RunB), "DOWNSTREAM", 1).hasEdge("REGISTERED_AS", graph.RunKey(sc.RunB), mvKey) {
		t.Error("no REGISTERED_AS from run B to the new version")
	}

	// A forged delivery is refused and changes nothing.
	forged := []byte(`{"entity":"model_version","action":"created","timestamp":"2025-11-26T10:00:00Z","data":{"name":"risk-default","version":"99","source":"s3://x","run_id":null,"tags":{},"description":null}}`)
	ts := fmt.Sprint(time.Now().Unix())
	status, body, err = postJSON(ctx, srv.URL+"/api/v1/mlflow/webhook", forged,
		"X-MLflow-Delivery-Id", "f0f0f0f0-0000-4000-8000-000000000001", "X-MLflow-Timestamp", ts,
		"X-MLflow-Signature", mlflow.SignWebhook([]byte("not-the-secret"), "f0f0f0f0-0000-4000-8000-000000000001", ts, forged))
	if err != nil || status != http.StatusUnauthorized || !strings.Contains(string(body), "UNAUTHORIZED") {
		t.Errorf("forged delivery: %d %s %v", status, body, err)
	}
	if srv.node(t, graph.ModelVersionKey(reg, mlflowtest.ModelName, "99")) != nil {
		t.Error("the forged version reached the graph")
	}
	// The same body correctly signed is taken: the refusal was the signature.
	status, _, err = postJSON(ctx, srv.URL+"/api/v1/mlflow/webhook", forged,
		"X-MLflow-Delivery-Id", "f0f0f0f0-0000-4000-8000-000000000002", "X-MLflow-Timestamp", ts,
		"X-MLflow-Signature", mlflow.SignWebhook([]byte(secret), "f0f0f0f0-0000-4000-8000-000000000002", ts, forged))
	if err != nil || status != http.StatusOK {
		t.Errorf("correctly signed delivery: %d %v", status, err)
	}
}

// metrics returns the server's /metrics text.
func (p *serverProc) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitFor polls cond until it holds or the deadline passes. It is a
// liveness wait for an asynchronous delivery, not a timing assertion.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, limit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
