package mlflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/ingest/mlflow/mlflowtest"
)

// TestLiveMLflow runs the client against a real MLflow server seeded with
// the risk-default_v2 scenario (skipped when MLflow cannot start, unless
// CI=true).
func TestLiveMLflow(t *testing.T) {
	uri := mlflowtest.Start(t)
	ctx := t.Context()
	sc, err := mlflowtest.Seed(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(uri, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("experiments", func(t *testing.T) {
		all, err := c.AllExperiments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range all {
			names = append(names, e.Name)
			if e.ExperimentID == sc.ExperimentID && (e.Name != mlflowtest.ExperimentName || !strings.HasPrefix(e.ArtifactLocation, "mlflow-artifacts:/")) {
				t.Errorf("experiment %+v", e)
			}
		}
		if !slices.Contains(names, mlflowtest.ExperimentName) {
			t.Errorf("experiments %v lack %s", names, mlflowtest.ExperimentName)
		}
		page, next, err := c.SearchExperiments(ctx, "", 1)
		if err != nil || len(page) != 1 || (len(all) > 1 && next == "") {
			t.Errorf("one page of 1: %d experiments, next %q, %v", len(page), next, err)
		}
	})

	t.Run("runs paginated", func(t *testing.T) {
		q := RunQuery{ExperimentIDs: []string{sc.ExperimentID}, MaxResults: 2, OrderBy: []string{"attributes.start_time ASC"}}
		var names []string
		pages := 0
		for {
			runs, next, err := c.SearchRuns(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(runs) > 2 {
				t.Errorf("page of %d runs", len(runs))
			}
			for _, r := range runs {
				names = append(names, r.Info.RunName)
			}
			if next == "" {
				break
			}
			q.PageToken = next
		}
		want := []string{mlflowtest.RunNameA, mlflowtest.RunNameB, mlflowtest.RunNameC, mlflowtest.RunNameD, mlflowtest.RunNameE}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("runs by start time -want +got:\n%s", diff)
		}
		if pages != 3 {
			t.Errorf("%d pages of 2 for 5 runs", pages)
		}
		filtered, err := c.AllRuns(ctx, RunQuery{
			ExperimentIDs: []string{sc.ExperimentID}, ViewType: ViewAll,
			Filter: fmt.Sprintf("tags.`prov.git_sha` = '%s'", mlflowtest.GitSHA),
		})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range filtered {
			ids = append(ids, r.Info.ID())
		}
		slices.Sort(ids)
		want = []string{sc.RunA, sc.RunB, sc.RunD}
		slices.Sort(want)
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("runs with A's git sha -want +got:\n%s", diff)
		}
		if _, _, err := c.SearchRuns(ctx, RunQuery{ExperimentIDs: []string{sc.ExperimentID}, Filter: "not a filter (("}); IsNotFound(err) || err == nil {
			t.Errorf("a bad filter gave %v", err)
		}
	})

	t.Run("run A", func(t *testing.T) {
		r, err := c.GetRun(ctx, sc.RunA)
		if err != nil {
			t.Fatal(err)
		}
		i := r.Info
		if i.ID() != sc.RunA || i.RunName != mlflowtest.RunNameA || i.Status != "FINISHED" || !i.Finished() ||
			i.ExperimentID != sc.ExperimentID || i.UserID != mlflowtest.User ||
			int64(i.StartTime) != mlflowtest.StartA.UnixMilli() || int64(i.EndTime) != mlflowtest.EndA.UnixMilli() ||
			i.ArtifactURI != sc.ArtifactURI[sc.RunA] || !strings.HasPrefix(i.ArtifactURI, "mlflow-artifacts:/") {
			t.Errorf("info %+v", i)
		}
		tags := tagMap(r.Data.Tags)
		for k, v := range mlflowtest.TagsA() {
			if tags[k] != v {
				t.Errorf("tag %s = %q, want %q", k, tags[k], v)
			}
		}
		if diff := cmp.Diff(mlflowtest.Params(), tagMap(r.Data.Params)); diff != "" {
			t.Errorf("params -want +got:\n%s", diff)
		}
		metrics := map[string]float64{}
		for _, m := range r.Data.Metrics {
			metrics[m.Key] = float64(m.Value)
		}
		if diff := cmp.Diff(mlflowtest.MetricsA(), metrics); diff != "" {
			t.Errorf("metrics -want +got:\n%s", diff)
		}
		if r.Inputs == nil || len(r.Inputs.DatasetInputs) != 1 {
			t.Fatalf("inputs %+v", r.Inputs)
		}
		in := r.Inputs.DatasetInputs[0]
		want := Dataset{Name: mlflowtest.DatasetName, Digest: mlflowtest.DatasetDigest, SourceType: mlflowtest.DatasetSourceType, Source: mlflowtest.DatasetSource}
		if diff := cmp.Diff(want, in.Dataset); diff != "" {
			t.Errorf("dataset -want +got:\n%s", diff)
		}
		if tagMap(in.Tags)["mlflow.data.context"] != mlflowtest.DatasetContext {
			t.Errorf("input tags %v", in.Tags)
		}
		if r.Outputs == nil || len(r.Outputs.ModelOutputs) != 1 || r.Outputs.ModelOutputs[0].ModelID != sc.LoggedModelA {
			t.Errorf("outputs %+v, want logged model %s", r.Outputs, sc.LoggedModelA)
		}
	})

	t.Run("runs B to E", func(t *testing.T) {
		b, err := c.GetRun(ctx, sc.RunB)
		if err != nil {
			t.Fatal(err)
		}
		if got := tagMap(b.Data.Tags)["rebuild_of"]; got != sc.RunA {
			t.Errorf("B rebuild_of = %q, want %s", got, sc.RunA)
		}
		cr, err := c.GetRun(ctx, sc.RunC)
		if err != nil {
			t.Fatal(err)
		}
		ct := tagMap(cr.Data.Tags)
		if cr.Info.Status != "FAILED" || ct["prov.git_sha"] != mlflowtest.GitSHAC || ct["mlflow.source.git.commit"] != mlflowtest.SourceCommitC || ct["security_decision"] != "FAIL" {
			t.Errorf("C: %s %v", cr.Info.Status, ct)
		}
		if _, ok := ct["dataset_hash"]; ok {
			t.Error("C has a dataset_hash")
		}
		d, err := c.GetRun(ctx, sc.RunD)
		if err != nil {
			t.Fatal(err)
		}
		if d.Info.Status != "RUNNING" || d.Info.Finished() || d.Info.EndTime != 0 {
			t.Errorf("D: %+v", d.Info)
		}
		e, err := c.GetRun(ctx, sc.RunE)
		if err != nil {
			t.Fatal(err)
		}
		if tagMap(e.Data.Tags)["openlineage.run_id"] != mlflowtest.OpenLineageRunID || e.Info.Status != "FINISHED" {
			t.Errorf("E: %+v %v", e.Info, e.Data.Tags)
		}
		_, err = c.GetRun(ctx, "0123456789abcdef0123456789abcdef")
		if !IsNotFound(err) {
			t.Errorf("a missing run gave %v", err)
		}
	})

	t.Run("artifacts", func(t *testing.T) {
		root, next, err := c.ListArtifacts(ctx, sc.RunA, "", "")
		if err != nil || next != "" {
			t.Fatalf("root: %v, next %q", err, next)
		}
		if !slices.ContainsFunc(root, func(f FileInfo) bool { return f.Path == "model" && f.IsDir }) {
			t.Errorf("root %+v lacks the model directory", root)
		}
		none, _, err := c.ListArtifacts(ctx, sc.RunA, "no/such/dir", "")
		if err != nil || len(none) != 0 {
			t.Errorf("a missing directory: %v, %v", none, err)
		}

		tree, err := c.WalkArtifacts(ctx, sc.RunA)
		if err != nil {
			t.Fatal(err)
		}
		files := mlflowtest.ArtifactsA()
		wantPaths := map[string]bool{}
		for p := range files {
			wantPaths[p] = false
			for d := path.Dir(p); d != "."; d = path.Dir(d) {
				wantPaths[d] = true
			}
		}
		got := map[string]bool{}
		for _, f := range tree {
			got[f.Path] = f.IsDir
			if !f.IsDir && f.FileSize != int64(len(files[f.Path])) {
				t.Errorf("%s: size %d, want %d", f.Path, f.FileSize, len(files[f.Path]))
			}
		}
		if diff := cmp.Diff(wantPaths, got); diff != "" {
			t.Errorf("tree (path → is_dir) -want +got:\n%s", diff)
		}
		if !slices.IsSortedFunc(tree, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) }) {
			t.Error("tree not sorted by path")
		}

		for _, p := range slices.Sorted(maps.Keys(files)) {
			data, err := c.DownloadArtifact(ctx, sc.RunA, p, 1<<20)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if got := hexSHA256(string(data)); got != sc.ArtifactsA[p] {
				t.Errorf("%s: sha256 %s, want %s", p, got, sc.ArtifactsA[p])
			}
		}
		_, err = c.DownloadArtifact(ctx, sc.RunA, mlflowtest.PathModelCard, 10)
		var tl *TooLargeError
		if !errors.As(err, &tl) {
			t.Errorf("a 10-byte limit gave %v", err)
		}
		if _, err := c.DownloadArtifact(ctx, sc.RunA, "no/such/file", 0); !IsNotFound(err) {
			t.Errorf("a missing file gave %v", err)
		}
		var ae *APIError
		if _, err := c.DownloadArtifact(ctx, sc.RunA, "model", 0); !errors.As(err, &ae) || ae.Status != 400 || IsNotFound(err) {
			t.Errorf("a directory gave %v", err)
		}
	})

	t.Run("local artifact root", func(t *testing.T) {
		// get-artifact also serves runs whose artifacts live on a plain
		// file:// root, which only a server on this machine can read.
		if os.Getenv(mlflowtest.EnvURI) != "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI must let the test start its own MLflow (unset %s): a shared server cannot read our temporary directory", mlflowtest.EnvURI)
			}
			t.Skip("the server is not ours: it cannot read our temporary directory")
		}
		dir := t.TempDir()
		var exp struct {
			ID string `json:"experiment_id"`
		}
		mlflowPost(t, uri, "experiments/create", `{"name": "local-root", "artifact_location": "file://`+dir+`"}`, &exp)
		var run struct {
			Run Run `json:"run"`
		}
		mlflowPost(t, uri, "runs/create", `{"experiment_id": "`+exp.ID+`"}`, &run)
		id := run.Run.Info.ID()
		if !strings.HasPrefix(run.Run.Info.ArtifactURI, "file://") {
			t.Fatalf("artifact URI %q", run.Run.Info.ArtifactURI)
		}
		local := filepath.Join(dir, id, "artifacts", "sub")
		if err := os.MkdirAll(local, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(local, "a.txt"), []byte("local bytes"), 0o644); err != nil {
			t.Fatal(err)
		}
		tree, err := c.WalkArtifacts(ctx, id)
		if err != nil || len(tree) != 2 || tree[1].Path != "sub/a.txt" {
			t.Errorf("tree %+v, %v", tree, err)
		}
		data, err := c.DownloadArtifact(ctx, id, "sub/a.txt", 0)
		if err != nil || string(data) != "local bytes" {
			t.Errorf("got %q, %v", data, err)
		}
	})

	t.Run("observe run A", func(t *testing.T) {
		observe := func() []byte {
			r, err := c.GetRun(ctx, sc.RunA)
			if err != nil {
				t.Fatal(err)
			}
			exps, err := c.AllExperiments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var exp *Experiment
			for i := range exps {
				if exps[i].ExperimentID == sc.ExperimentID {
					exp = &exps[i]
				}
			}
			o, err := c.ObserveRun(ctx, r, exp)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		first := observe()
		if second := observe(); string(first) != string(second) {
			t.Errorf("two observations of one state differ:\n%s\n%s", first, second)
		}
		var o Observation
		if err := json.Unmarshal(first, &o); err != nil {
			t.Fatal(err)
		}
		var want []Checksum
		for _, p := range slices.Sorted(maps.Keys(sc.ArtifactsA)) {
			from := FromChecksumsFile
			if p == mlflowtest.ChecksumsPath {
				from = FromDownload
			}
			want = append(want, Checksum{Path: p, SHA256: sc.ArtifactsA[p], From: from})
		}
		if diff := cmp.Diff(want, o.Checksums); diff != "" {
			t.Errorf("checksums -want +got:\n%s", diff)
		}
		if o.Experiment == nil || o.Experiment.Name != mlflowtest.ExperimentName || o.TrackingURI != c.TrackingURI() {
			t.Errorf("experiment %+v, tracking URI %q", o.Experiment, o.TrackingURI)
		}
		if len(o.Models) != 1 {
			t.Fatalf("logged models %+v", o.Models)
		}
		m := o.Models[0].Info
		if m.ModelID != sc.LoggedModelA || m.SourceRunID != sc.RunA || m.Name != mlflowtest.LoggedModelName ||
			m.ModelType != mlflowtest.LoggedModelType || m.Status != "LOGGED_MODEL_READY" {
			t.Errorf("logged model %+v", m)
		}
	})

	t.Run("observe run C", func(t *testing.T) {
		r, err := c.GetRun(ctx, sc.RunC)
		if err != nil {
			t.Fatal(err)
		}
		o, err := c.ObserveRun(ctx, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Checksums) != 0 || len(o.Models) != 0 || len(o.Artifacts) == 0 {
			t.Errorf("C: %d checksums, %d models, %d artifacts", len(o.Checksums), len(o.Models), len(o.Artifacts))
		}
	})

	t.Run("registry", func(t *testing.T) {
		rms, err := c.AllRegisteredModels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rms) != 1 || rms[0].Name != mlflowtest.ModelName || rms[0].Description != mlflowtest.ModelDescription {
			t.Fatalf("registered models %+v", rms)
		}
		if diff := cmp.Diff(mlflowtest.RegisteredModelTags(), tagMap(rms[0].Tags)); diff != "" {
			t.Errorf("model tags -want +got:\n%s", diff)
		}
		o := c.ObserveRegisteredModel(rms[0])
		wantAliases := []RegisteredModelAlias{{mlflowtest.AliasChallenger, mlflowtest.VersionA}, {mlflowtest.AliasChampion, mlflowtest.VersionB}}
		if diff := cmp.Diff(wantAliases, o.RegisteredModel.Aliases); diff != "" {
			t.Errorf("aliases -want +got:\n%s", diff)
		}

		mvs, err := c.AllModelVersions(ctx, fmt.Sprintf("name='%s'", mlflowtest.ModelName))
		if err != nil {
			t.Fatal(err)
		}
		byVersion := map[string]ModelVersion{}
		for _, mv := range mvs {
			byVersion[mv.Version] = mv
			if len(mv.Aliases) > 0 {
				t.Logf("MLflow now returns aliases in model-versions/search (%s: %v): SearchModelVersions' doc is out of date", mv.Version, mv.Aliases)
			}
		}
		for _, want := range []struct{ version, run, source string }{
			{mlflowtest.VersionA, sc.RunA, sc.SourceA},
			{mlflowtest.VersionB, sc.RunB, sc.SourceB},
			{mlflowtest.VersionLegacy, "", mlflowtest.LegacySource},
		} {
			mv, ok := byVersion[want.version]
			if !ok || mv.RunID != want.run || mv.Source != want.source || mv.Status != "READY" {
				t.Errorf("version %s: %+v, want run %q source %q", want.version, mv, want.run, want.source)
			}
			wantTags := mlflowtest.VersionTags(want.version)
			if wantTags == nil {
				wantTags = map[string]string{}
			}
			if diff := cmp.Diff(wantTags, tagMap(mv.Tags)); diff != "" {
				t.Errorf("version %s tags -want +got:\n%s", want.version, diff)
			}
		}
		if len(mvs) != 3 {
			t.Errorf("%d versions, want 3", len(mvs))
		}

		v1, err := c.GetModelVersion(ctx, mlflowtest.ModelName, mlflowtest.VersionA)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{mlflowtest.AliasChallenger}, v1.Aliases); diff != "" || v1.RunID != sc.RunA {
			t.Errorf("version 1 %+v; aliases -want +got:\n%s", v1, diff)
		}
		champ, err := c.GetModelVersionByAlias(ctx, mlflowtest.ModelName, mlflowtest.AliasChampion)
		if err != nil || champ.Version != mlflowtest.VersionB || champ.RunID != sc.RunB {
			t.Errorf("champion → %+v, %v", champ, err)
		}
		if _, err := c.GetModelVersionByAlias(ctx, mlflowtest.ModelName, "nope"); !IsNotFound(err) {
			t.Errorf("an unknown alias gave %v", err)
		}
		if _, err := c.GetModelVersion(ctx, mlflowtest.ModelName, "99"); !IsNotFound(err) {
			t.Errorf("a missing version gave %v", err)
		}
		if _, err := c.GetModelVersion(ctx, "no-such-model", "1"); !IsNotFound(err) {
			t.Errorf("a missing model gave %v", err)
		}
		ov := c.ObserveModelVersion(v1)
		if ov.Kind != KindModelVersion || ov.ModelVersion.Version != mlflowtest.VersionA {
			t.Errorf("%+v", ov)
		}

		lm, err := c.GetLoggedModel(ctx, sc.LoggedModelA)
		if err != nil || lm.Info.ModelID != sc.LoggedModelA || lm.Info.ExperimentID != sc.ExperimentID || lm.Data == nil ||
			!cmp.Equal(mlflowtest.Params(), tagMap(lm.Data.Params)) {
			t.Errorf("logged model %+v, %v", lm, err)
		}
		if _, err := c.GetLoggedModel(ctx, "m-0123456789abcdef0123456789abcdef"); !IsNotFound(err) {
			t.Errorf("a missing logged model gave %v", err)
		}
	})
}

// mlflowPost sends one JSON request to MLflow, for test set-ups the
// read-only client cannot make.
func mlflowPost(t *testing.T, uri, endpoint, body string, out any) {
	t.Helper()
	resp, err := http.Post(uri+"/api/2.0/mlflow/"+endpoint, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s %s", endpoint, resp.Status, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

func tagMap(tags []Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}
