package mlflowtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Scenario is what Seed created: the ids MLflow assigned and the digests
// of the uploaded artifacts. Every other value is a package constant or
// function (TagsA, Params, MetricsA, ArtifactsA, VersionTags…).
type Scenario struct {
	TrackingURI  string
	ExperimentID string
	// Run ids.
	RunA, RunB, RunC, RunD, RunE string
	// ArtifactURI maps a run id to its artifact root
	// ("mlflow-artifacts:/<experiment>/<run>/artifacts").
	ArtifactURI map[string]string
	// Tags maps a run id to the tags Seed set on it (MLflow adds
	// mlflow.runName, and may add others).
	Tags map[string]map[string]string
	// ArtifactsA and ArtifactsB map each file uploaded to run A and run B,
	// checksums.json included, to its lowercase hex sha256.
	ArtifactsA, ArtifactsB map[string]string
	// LoggedModelA is the id of the MLflow 3 logged model run A outputs.
	LoggedModelA string
	// Model is ModelName; its versions are VersionA (source SourceA, run
	// A), VersionB (SourceB, run B) and VersionLegacy (LegacySource, no
	// run).
	Model            string
	SourceA, SourceB string
}

// Seed creates the scenario on the MLflow server at trackingURI through
// its REST API. The server must proxy artifacts (mlflow.sh does). When the
// experiment already exists, as on a server shared through
// REDTHREAD_MLFLOW_URI, Seed waits for the Seed that made it (perhaps in
// another test process) to finish and returns that scenario as the server
// now has it (run D may have been finished, tags added).
func Seed(ctx context.Context, trackingURI string) (*Scenario, error) {
	r := newREST(trackingURI)
	s := &Scenario{
		TrackingURI: r.base,
		ArtifactURI: map[string]string{},
		Tags:        map[string]map[string]string{},
		ArtifactsA:  Digests(ArtifactsA()),
		ArtifactsB:  Digests(ArtifactsB()),
		Model:       ModelName,
	}
	var got struct {
		Experiment struct {
			ID string `json:"experiment_id"`
		} `json:"experiment"`
	}
	err := r.get(ctx, "experiments/get-by-name", url.Values{"experiment_name": {ExperimentName}}, &got)
	var re *restError
	switch {
	case err == nil:
		s.ExperimentID = got.Experiment.ID
		return s, s.lookUp(ctx, r)
	case errors.As(err, &re) && re.code == "RESOURCE_DOES_NOT_EXIST":
	default:
		return nil, err
	}
	err = s.seed(ctx, r)
	if errors.As(err, &re) && re.code == "RESOURCE_ALREADY_EXISTS" && s.ExperimentID == "" {
		// Another test process seeds the same shared server right now.
		if err := r.get(ctx, "experiments/get-by-name", url.Values{"experiment_name": {ExperimentName}}, &got); err != nil {
			return nil, err
		}
		s.ExperimentID = got.Experiment.ID
		return s, s.lookUp(ctx, r)
	}
	if err != nil {
		return nil, fmt.Errorf("mlflowtest: seeding %s: %w", trackingURI, err)
	}
	return s, nil
}

// seededTimeout bounds the wait for another process's Seed to finish.
const seededTimeout = 2 * time.Minute

// waitSeeded waits until the last step of a Seed, the challenger alias,
// is on the server.
func waitSeeded(ctx context.Context, r *rest) error {
	ctx, cancel := context.WithTimeout(ctx, seededTimeout)
	defer cancel()
	for {
		err := r.get(ctx, "registered-models/alias", url.Values{"name": {ModelName}, "alias": {AliasChallenger}}, nil)
		if err == nil {
			return nil
		}
		var re *restError
		if !errors.As(err, &re) || re.status >= 500 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mlflowtest: experiment %s exists but the scenario is incomplete (an earlier Seed failed or is still running): %w", ExperimentName, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Scenario) seed(ctx context.Context, r *rest) error {
	var created struct {
		ID string `json:"experiment_id"`
	}
	err := r.call(ctx, "POST", "experiments/create", map[string]any{
		"name": ExperimentName,
		"tags": tagList(map[string]string{"product": "risk", "model": "default_v2"}),
	}, &created)
	if err != nil {
		return err
	}
	s.ExperimentID = created.ID

	runs := []struct {
		id        *string
		name      string
		tags      map[string]string
		params    map[string]string
		metrics   map[string]float64
		dataset   bool
		files     map[string][]byte
		start     time.Time
		end       time.Time
		status    string
		afterTags func() map[string]string // tags needing ids of earlier runs
	}{
		{&s.RunA, RunNameA, TagsA(), Params(), MetricsA(), true, ArtifactsA(), StartA, EndA, "FINISHED", nil},
		{&s.RunB, RunNameB, nil, Params(), MetricsB(), true, ArtifactsB(), StartB, EndB, "FINISHED", func() map[string]string { return TagsB(s.RunA) }},
		{&s.RunC, RunNameC, TagsC(), Params(), MetricsC(), true, ArtifactsC(), StartC, EndC, "FAILED", nil},
		{&s.RunD, RunNameD, TagsD(), Params(), nil, true, ArtifactsD(), StartD, time.Time{}, "RUNNING", nil},
		{&s.RunE, RunNameE, TagsE(), nil, nil, false, nil, StartE, EndE, "FINISHED", nil},
	}
	for _, run := range runs {
		tags := run.tags
		if run.afterTags != nil {
			tags = run.afterTags()
		}
		id, err := s.createRun(ctx, r, run.name, run.start, tags)
		if err != nil {
			return err
		}
		*run.id = id
		if err := s.logRun(ctx, r, id, tags, run.params, run.metrics, run.end); err != nil {
			return err
		}
		if run.dataset {
			if err := logDataset(ctx, r, id); err != nil {
				return err
			}
		}
		for _, p := range sortedKeys(run.files) {
			if err := r.upload(ctx, s.ExperimentID, id, p, run.files[p]); err != nil {
				return err
			}
		}
		if id == s.RunA {
			if err := s.logModelA(ctx, r); err != nil {
				return err
			}
		}
		if run.status != "RUNNING" {
			if err := setStatus(ctx, r, id, run.status, run.end); err != nil {
				return err
			}
		}
	}
	return s.register(ctx, r)
}

// createRun creates a run with the identity and provenance tags (the rest
// follow in a batch, as a training script logs them).
func (s *Scenario) createRun(ctx context.Context, r *rest, name string, start time.Time, tags map[string]string) (string, error) {
	first := map[string]string{}
	for _, k := range []string{"mlflow.user", "prov.git_sha", "prov.repo_url", "mlflow.source.git.commit"} {
		if v, ok := tags[k]; ok {
			first[k] = v
		}
	}
	var out struct {
		Run struct {
			Info struct {
				RunID       string `json:"run_id"`
				ArtifactURI string `json:"artifact_uri"`
			} `json:"info"`
		} `json:"run"`
	}
	err := r.call(ctx, "POST", "runs/create", map[string]any{
		"experiment_id": s.ExperimentID,
		"run_name":      name,
		"user_id":       User,
		"start_time":    start.UnixMilli(),
		"tags":          tagList(first),
	}, &out)
	if err != nil {
		return "", err
	}
	id := out.Run.Info.RunID
	s.ArtifactURI[id] = out.Run.Info.ArtifactURI
	s.Tags[id] = tags
	return id, nil
}

// logRun logs params, metrics and tags in one batch, except
// security_decision, which is set last on its own (seed §5.3).
func (s *Scenario) logRun(ctx context.Context, r *rest, id string, tags, params map[string]string, metrics map[string]float64, end time.Time) error {
	batchTags := map[string]string{}
	for k, v := range tags {
		if k != "security_decision" {
			batchTags[k] = v
		}
	}
	ms := metricList(metrics, end)
	batch := map[string]any{"run_id": id, "tags": tagList(batchTags), "params": tagList(params)}
	if ms != nil {
		batch["metrics"] = ms
	}
	if err := r.call(ctx, "POST", "runs/log-batch", batch, nil); err != nil {
		return err
	}
	if v, ok := tags["security_decision"]; ok {
		return r.call(ctx, "POST", "runs/set-tag", map[string]string{"run_id": id, "key": "security_decision", "value": v}, nil)
	}
	return nil
}

func logDataset(ctx context.Context, r *rest, id string) error {
	return r.call(ctx, "POST", "runs/log-inputs", map[string]any{
		"run_id": id,
		"datasets": []map[string]any{{
			"tags": tagList(map[string]string{"mlflow.data.context": DatasetContext}),
			"dataset": map[string]string{
				"name": DatasetName, "digest": DatasetDigest,
				"source_type": DatasetSourceType, "source": DatasetSource,
			},
		}},
	}, nil)
}

// logModelA creates run A's logged model (MLflow 3), marks it ready and
// records it as the run's output.
func (s *Scenario) logModelA(ctx context.Context, r *rest) error {
	var out struct {
		Model struct {
			Info struct {
				ModelID string `json:"model_id"`
			} `json:"info"`
		} `json:"model"`
	}
	err := r.call(ctx, "POST", "logged-models", map[string]any{
		"experiment_id": s.ExperimentID,
		"name":          LoggedModelName,
		"model_type":    LoggedModelType,
		"source_run_id": s.RunA,
		"params":        tagList(Params()),
		"tags":          tagList(map[string]string{"mlflow.source.git.commit": GitSHA}),
	}, &out)
	if err != nil {
		return err
	}
	s.LoggedModelA = out.Model.Info.ModelID
	err = r.call(ctx, "PATCH", "logged-models/"+url.PathEscape(s.LoggedModelA), map[string]string{
		"model_id": s.LoggedModelA, "status": "LOGGED_MODEL_READY",
	}, nil)
	if err != nil {
		return err
	}
	return r.call(ctx, "POST", "runs/outputs", map[string]any{
		"run_id": s.RunA,
		"models": []map[string]any{{"model_id": s.LoggedModelA, "step": 0}},
	}, nil)
}

func setStatus(ctx context.Context, r *rest, id, status string, end time.Time) error {
	return r.call(ctx, "POST", "runs/update", map[string]any{"run_id": id, "status": status, "end_time": end.UnixMilli()}, nil)
}

// register creates ModelName, its three versions, their tags and the
// aliases. The security decision comes with the version; signature and
// attestation are tagged on afterwards, as a signing step would (seed §6).
func (s *Scenario) register(ctx context.Context, r *rest) error {
	err := r.call(ctx, "POST", "registered-models/create", map[string]any{
		"name": ModelName, "description": ModelDescription, "tags": tagList(RegisteredModelTags()),
	}, nil)
	if err != nil {
		return err
	}
	s.SourceA = s.ArtifactURI[s.RunA] + "/model"
	s.SourceB = s.ArtifactURI[s.RunB] + "/model"
	versions := []struct{ version, source, run string }{
		{VersionA, s.SourceA, s.RunA},
		{VersionB, s.SourceB, s.RunB},
		{VersionLegacy, LegacySource, ""},
	}
	for _, v := range versions {
		body := map[string]any{"name": ModelName, "source": v.source}
		if v.run != "" {
			body["run_id"] = v.run
		}
		tags := VersionTags(v.version)
		if d, ok := tags["security_decision"]; ok {
			body["tags"] = tagList(map[string]string{"security_decision": d})
		}
		var out struct {
			Version struct {
				Version string `json:"version"`
			} `json:"model_version"`
		}
		if err := r.call(ctx, "POST", "model-versions/create", body, &out); err != nil {
			return err
		}
		if out.Version.Version != v.version {
			return fmt.Errorf("model-versions/create made version %q of %s, want %q (the registry is not fresh)", out.Version.Version, ModelName, v.version)
		}
		for _, k := range sortedKeys(tags) {
			if k == "security_decision" {
				continue
			}
			err := r.call(ctx, "POST", "model-versions/set-tag", map[string]string{"name": ModelName, "version": v.version, "key": k, "value": tags[k]}, nil)
			if err != nil {
				return err
			}
		}
	}
	for _, a := range [][2]string{{AliasChampion, VersionB}, {AliasChallenger, VersionA}} {
		err := r.call(ctx, "POST", "registered-models/alias", map[string]string{"name": ModelName, "alias": a[0], "version": a[1]}, nil)
		if err != nil {
			return err
		}
	}
	return nil
}

// lookUp fills s from the scenario an earlier Seed left on the server,
// once that Seed has finished.
func (s *Scenario) lookUp(ctx context.Context, r *rest) error {
	if err := waitSeeded(ctx, r); err != nil {
		return err
	}
	for _, run := range []struct {
		id   *string
		name string
	}{{&s.RunA, RunNameA}, {&s.RunB, RunNameB}, {&s.RunC, RunNameC}, {&s.RunD, RunNameD}, {&s.RunE, RunNameE}} {
		var out struct {
			Runs []struct {
				Info struct {
					RunID       string `json:"run_id"`
					ArtifactURI string `json:"artifact_uri"`
				} `json:"info"`
				Outputs struct {
					Models []struct {
						ModelID string `json:"model_id"`
					} `json:"model_outputs"`
				} `json:"outputs"`
			} `json:"runs"`
		}
		err := r.call(ctx, "POST", "runs/search", map[string]any{
			"experiment_ids": []string{s.ExperimentID},
			"filter":         fmt.Sprintf("attributes.run_name = '%s'", run.name),
			"run_view_type":  "ALL",
			"max_results":    10,
		}, &out)
		if err != nil {
			return err
		}
		if len(out.Runs) != 1 {
			return fmt.Errorf("mlflowtest: experiment %s exists but has %d runs named %s: not a scenario Seed made", ExperimentName, len(out.Runs), run.name)
		}
		*run.id = out.Runs[0].Info.RunID
		s.ArtifactURI[*run.id] = out.Runs[0].Info.ArtifactURI
		if run.name == RunNameA && len(out.Runs[0].Outputs.Models) > 0 {
			s.LoggedModelA = out.Runs[0].Outputs.Models[0].ModelID
		}
	}
	s.Tags[s.RunA], s.Tags[s.RunB], s.Tags[s.RunC], s.Tags[s.RunD], s.Tags[s.RunE] = TagsA(), TagsB(s.RunA), TagsC(), TagsD(), TagsE()
	s.SourceA = s.ArtifactURI[s.RunA] + "/model"
	s.SourceB = s.ArtifactURI[s.RunB] + "/model"
	return nil
}

// FinishRunD ends run D: it tags security_decision=PASS and marks the run
// FINISHED at EndD, as its training job would.
func (s *Scenario) FinishRunD(ctx context.Context) error {
	r := newREST(s.TrackingURI)
	if err := r.call(ctx, "POST", "runs/set-tag", map[string]string{"run_id": s.RunD, "key": "security_decision", "value": "PASS"}, nil); err != nil {
		return err
	}
	return setStatus(ctx, r, s.RunD, "FINISHED", EndD)
}

// SetRunTag sets one tag of a run, e.g. to change a finished run after the
// fact.
func (s *Scenario) SetRunTag(ctx context.Context, runID, key, value string) error {
	return newREST(s.TrackingURI).call(ctx, "POST", "runs/set-tag", map[string]string{"run_id": runID, "key": key, "value": value}, nil)
}

// Upload stores one more artifact file in a run.
func (s *Scenario) Upload(ctx context.Context, runID, path string, data []byte) error {
	return newREST(s.TrackingURI).upload(ctx, s.ExperimentID, runID, path, data)
}
