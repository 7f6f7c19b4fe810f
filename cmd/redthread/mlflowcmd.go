package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest/mlflow"
	"github.com/redthread/redthread/internal/server"
)

func runMLflow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "sync" {
		fmt.Fprintln(stderr, "Usage: redthread mlflow sync [flags]\n\n  sync   read an MLflow server once (experiments, runs, artifacts, model registry) into a running Redthread")
		return errUsage
	}
	return runMLflowSync(ctx, args[1:], stdout, stderr)
}

func runMLflowSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mlflow sync", "redthread mlflow sync [flags]", stderr)
	uri := fs.String("mlflow-uri", os.Getenv("MLFLOW_TRACKING_URI"), "MLflow tracking server (default $MLFLOW_TRACKING_URI)")
	token := fs.String("mlflow-token", "", "bearer token for the MLflow REST API (or MLFLOW_TRACKING_TOKEN)")
	url := fs.String("url", "http://127.0.0.1:5050", "base URL of a running Redthread")
	apiKey := fs.String("api-key", "", "bearer token, if the Redthread server requires one")
	var exps stringList
	fs.Var(&exps, "experiment", "experiment name or id to read (repeatable; default all)")
	since := fs.String("since", "", "only runs started at or after this time (RFC 3339, or a duration such as 24h back from now); default all")
	batch := fs.Int("batch", 50, "observations per request to Redthread")
	workers := fs.Int("concurrency", 4, "runs read from MLflow at once")
	skipModels := fs.Bool("skip-models", false, "leave the model registry out")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	quiet := fs.Bool("quiet", false, "no progress display")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mlflow sync takes no arguments (got %q)\n", fs.Args())
		return errUsage
	}
	if *uri == "" {
		fmt.Fprintln(stderr, "mlflow sync needs -mlflow-uri (or MLFLOW_TRACKING_URI)")
		return errUsage
	}
	opts := mlflow.SyncOptions{Source: "mlflow/sync", Experiments: exps, BatchSize: *batch, Concurrency: *workers, SkipModels: *skipModels}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return err
		}
		opts.Since = mlflow.Millis(t.UnixMilli())
	}
	client, err := mlflowClient(*uri, *token)
	if err != nil {
		return err
	}
	sink := &remoteObserver{api: newAPIClient(*url, *apiKey)}
	// Fail early, and clearly, when Redthread is not there.
	if status, _, err := sink.api.do(ctx, http.MethodGet, "/healthz", nil, nil); err != nil {
		return err
	} else if status != http.StatusOK {
		return fmt.Errorf("Redthread at %s answered /healthz with %d", *url, status)
	}

	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("syncing "+*uri), progressbar.OptionShowCount(),
			progressbar.OptionShowIts(), progressbar.OptionSetItsString("objects"),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSpinnerType(14))
		done := 0
		opts.Progress = func(st mlflow.SyncStats) {
			n := st.Runs + st.ModelVersions + st.RegisteredModels
			_ = bar.Add(n - done)
			done = n
			bar.Describe(fmt.Sprintf("syncing %s: %d runs, %d versions (new %d, changed %d, after finish %d, unchanged %d)",
				*uri, st.Runs, st.ModelVersions, st.New, st.Changed, st.ChangedAfterFin, st.Unchanged))
		}
	}
	st, err := mlflow.NewSyncer(client, sink).Sync(ctx, opts)
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	if *asJSON {
		out := map[string]any{
			"experiments": st.Experiments, "runs": st.Runs, "registered_models": st.RegisteredModels,
			"model_versions": st.ModelVersions, "new": st.New, "changed": st.Changed,
			"changed_after_finish": st.ChangedAfterFin, "unchanged": st.Unchanged, "rejected": st.Rejected,
			"seconds": st.Elapsed.Seconds(), "runs_per_second": rate(st.Runs, st.Elapsed),
		}
		if err != nil {
			out["error"] = err.Error()
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "synced %s in %s: %d experiments, %d runs (%.1f runs/s), %d registered models, %d model versions\n",
			*uri, st.Elapsed.Round(time.Millisecond), st.Experiments, st.Runs, rate(st.Runs, st.Elapsed), st.RegisteredModels, st.ModelVersions)
		fmt.Fprintf(stdout, "  new %d, changed %d, changed after finish %d (flagged), unchanged %d, rejected %d\n",
			st.New, st.Changed, st.ChangedAfterFin, st.Unchanged, st.Rejected)
	}
	if err != nil {
		return fmt.Errorf("sync stopped: %w (what was observed before stays; run it again to continue)", err)
	}
	if sink.firstRejection != "" {
		fmt.Fprintf(stderr, "first rejection: %s\n", sink.firstRejection)
	}
	return nil
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// parseSince reads an RFC 3339 time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("-since %q: want an RFC 3339 time (2025-11-12T00:00:00Z) or a duration (24h)", s)
}

// remoteObserver sends observations to a running Redthread, which keeps
// the history they are compared with.
type remoteObserver struct {
	api            *apiClient
	firstRejection string
}

// Observe implements mlflow.Sink over POST /api/v1/mlflow/observations.
func (r *remoteObserver) Observe(ctx context.Context, _ string, obs []*mlflow.Observation) ([]mlflow.ObserveResult, error) {
	raw, err := json.Marshal(obs)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	status, body, err := r.api.do(ctx, http.MethodPost, "/api/v1/mlflow/observations", buf.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	if err != nil {
		return nil, err
	}
	var resp server.ObservationsResponse
	if status == http.StatusRequestEntityTooLarge && len(obs) > 1 {
		// Runs with large artifact trees: send the batch in halves.
		half := len(obs) / 2
		first, err := r.Observe(ctx, "", obs[:half])
		if err != nil {
			return nil, err
		}
		rest, err := r.Observe(ctx, "", obs[half:])
		return append(first, rest...), err
	}
	if status != http.StatusOK && status != http.StatusMultiStatus {
		var e server.ErrorBody
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("Redthread answered %d: %s: %s", status, e.Error, e.Message)
		}
		return nil, fmt.Errorf("Redthread answered %d: %.200s", status, body)
	}
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.Results) != len(obs) {
		return nil, fmt.Errorf("unexpected reply from Redthread (%d): %.200s", status, body)
	}
	out := make([]mlflow.ObserveResult, len(obs))
	for i, res := range resp.Results {
		out[i] = mlflow.ObserveResult{Key: res.Key, Status: res.Status, Offset: res.Offset, Changes: res.Changes}
		if res.Error != "" {
			out[i].Err = graph.FieldErrorf(res.Error, strings.TrimPrefix(res.Field, fmt.Sprintf("[%d].", i)), "%s", res.Message)
			if r.firstRejection == "" {
				r.firstRejection = fmt.Sprintf("%s (%s): %s", res.Key, res.Field, res.Message)
			}
		}
	}
	return out, nil
}
