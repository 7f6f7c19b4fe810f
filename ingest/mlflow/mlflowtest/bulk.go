package mlflowtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// BulkExperiment is the experiment SeedRuns fills.
const BulkExperiment = "bulk-risk-sweep"

// BulkOptions shape the runs SeedRuns creates.
type BulkOptions struct {
	Runs        int // how many runs
	Concurrency int // requests in flight (default 8)
	// ArtifactsEvery gives every n-th run a model file and a
	// checksums.json (0: none), so a sync also walks and hashes trees.
	ArtifactsEvery int
	// Progress, if set, is called with the number of runs created so far.
	Progress func(done int)
}

// SeedRuns creates opts.Runs finished runs in BulkExperiment, each with
// the seed's §2 tags, a few hyperparameters and global and per-subgroup
// metrics, as a hyperparameter sweep would log them. It returns the
// experiment id. Run i starts i seconds after a fixed time, so repeated
// syncs see a stable order.
func SeedRuns(ctx context.Context, trackingURI string, opts BulkOptions) (string, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	r := newREST(trackingURI)
	var exp struct {
		ID string `json:"experiment_id"`
	}
	if err := r.call(ctx, "POST", "experiments/create", map[string]string{"name": BulkExperiment}, &exp); err != nil {
		return "", err
	}
	base := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, opts.Concurrency)
	for w := 0; w < opts.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= opts.Runs || ctx.Err() != nil {
					return
				}
				if err := bulkRun(ctx, r, exp.ID, i, base, opts.ArtifactsEvery); err != nil {
					errs <- fmt.Errorf("run %d: %w", i, err)
					return
				}
				if n := done.Add(1); opts.Progress != nil {
					opts.Progress(int(n))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return "", err
	}
	return exp.ID, ctx.Err()
}

// bulkRun creates, logs and finishes run i.
func bulkRun(ctx context.Context, r *rest, expID string, i int, base time.Time, artifactsEvery int) error {
	start := base.Add(time.Duration(i) * time.Second)
	end := start.Add(20 * time.Minute)
	var out struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	name := fmt.Sprintf("risk-sweep-%05d", i)
	err := r.call(ctx, "POST", "runs/create", map[string]any{
		"experiment_id": expID, "run_name": name, "user_id": User, "start_time": start.UnixMilli(),
	}, &out)
	if err != nil {
		return err
	}
	id := out.Run.Info.RunID
	tags := codeAndDataTags(fmt.Sprintf("risk_sweep__%05d", i))
	tags["mlflow.user"] = User
	tags["security_decision"] = "PASS"
	params := map[string]string{
		"learning_rate": fmt.Sprintf("%.3f", 0.01+float64(i%20)*0.005),
		"max_depth":     fmt.Sprint(3 + i%8),
		"n_estimators":  fmt.Sprint(100 + 50*(i%10)),
		"seed":          fmt.Sprint(i),
	}
	auc := 0.80 + float64(i%97)/1000
	metrics := map[string]float64{"auc": auc, "ks": auc - 0.3, "auc_group__idade_18_25": auc - 0.02, "ks_group__idade_18_25": auc - 0.33}
	ms := metricList(metrics, end)
	if err := r.call(ctx, "POST", "runs/log-batch", map[string]any{
		"run_id": id, "tags": tagList(tags), "params": tagList(params), "metrics": ms,
	}, nil); err != nil {
		return err
	}
	if artifactsEvery > 0 && i%artifactsEvery == 0 {
		model := []byte(fmt.Sprintf("onnx-model-bytes-for-%s", name))
		files := map[string][]byte{"model/model.onnx": model}
		files["checksums.json"] = checksumsJSON(files)
		for _, p := range sortedKeys(files) {
			if err := r.upload(ctx, expID, id, p, files[p]); err != nil {
				return err
			}
		}
	}
	return r.call(ctx, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED", "end_time": end.UnixMilli()}, nil)
}
