package mlflow

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redthread/redthread/graph"
)

// Sink receives observations: an *Observer in the same process (see
// ObserverSink), or a running Redthread over HTTP.
type Sink interface {
	Observe(ctx context.Context, source string, obs []*Observation) ([]ObserveResult, error)
}

// ObserverSink adapts an Observer to Sink.
type ObserverSink struct{ *Observer }

// Observe implements Sink.
func (s ObserverSink) Observe(ctx context.Context, source string, obs []*Observation) ([]ObserveResult, error) {
	return s.Observer.Observe(ctx, source, obs), nil
}

// SyncOptions tune one sync pass. Zero values take the defaults.
type SyncOptions struct {
	Source      string   // record source (default "mlflow/sync")
	Experiments []string // experiment names or ids to read (default: every active one)
	// Since, when not zero, reads only runs that started at or after it
	// (ms); Recheck names runs to read again whatever their start time
	// (the ones a poller saw unfinished).
	Since   Millis
	Recheck []string
	// SkipModels leaves the model registry out of the pass.
	SkipModels  bool
	BatchSize   int // observations per Sink call (default 50)
	Concurrency int // runs read from MLflow at once (default 4)
	// Progress, if set, is called after every batch.
	Progress func(SyncStats)
}

// SyncStats count what one pass read and what became of it.
type SyncStats struct {
	Experiments      int
	Runs             int // runs observed
	RegisteredModels int
	ModelVersions    int
	New              int
	Changed          int
	ChangedAfterFin  int // finished runs whose MLflow record changed
	Unchanged        int
	Rejected         int
	// MaxStartTime is the latest run start time read (ms), the next
	// cursor; Unfinished the runs read while RUNNING or SCHEDULED.
	MaxStartTime Millis
	Unfinished   []string
	Elapsed      time.Duration
}

// Syncer reads an MLflow server and hands what it sees to a Sink.
type Syncer struct {
	client *Client
	sink   Sink

	mu       sync.Mutex
	olRunIDs map[string]string // MLflow run id → its openlineage.run_id tag ("" if none)
}

// NewSyncer returns a syncer from client to sink.
func NewSyncer(client *Client, sink Sink) *Syncer {
	return &Syncer{client: client, sink: sink, olRunIDs: map[string]string{}}
}

// Sync reads the experiments, runs and model registry of the MLflow
// server once and observes them. It stops at the first error from MLflow
// or the sink; what was observed before stays observed.
func (s *Syncer) Sync(ctx context.Context, opts SyncOptions) (st SyncStats, err error) {
	start := time.Now()
	if opts.Source == "" {
		opts.Source = "mlflow/sync"
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 50
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	st = SyncStats{MaxStartTime: opts.Since}
	defer func() { st.Elapsed = time.Since(start) }()

	exps, err := s.client.AllExperiments(ctx)
	if err != nil {
		return st, err
	}
	if len(opts.Experiments) > 0 {
		exps = slices.DeleteFunc(exps, func(e Experiment) bool {
			return !slices.Contains(opts.Experiments, e.ExperimentID) && !slices.Contains(opts.Experiments, e.Name)
		})
		if len(exps) == 0 {
			return st, fmt.Errorf("mlflow: no experiment named %s", strings.Join(opts.Experiments, ", "))
		}
	}
	st.Experiments = len(exps)
	byID := make(map[string]*Experiment, len(exps))
	ids := make([]string, 0, len(exps))
	for i := range exps {
		byID[exps[i].ExperimentID] = &exps[i]
		ids = append(ids, exps[i].ExperimentID)
	}

	pending := &batcher{s: s, opts: opts, st: &st}
	seen := map[string]bool{}
	// MLflow caps experiment ids per search; read them in chunks.
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 100)]
		ids = ids[len(chunk):]
		q := RunQuery{ExperimentIDs: chunk, OrderBy: []string{"attributes.start_time ASC"}, MaxResults: 500, ViewType: "ALL"}
		if opts.Since > 0 {
			q.Filter = fmt.Sprintf("attributes.start_time >= %d", int64(opts.Since))
		}
		for {
			runs, next, err := s.client.SearchRuns(ctx, q)
			if err != nil {
				return st, err
			}
			for _, r := range runs {
				seen[r.Info.ID()] = true
			}
			if err := pending.runs(ctx, runs, byID); err != nil {
				return st, err
			}
			if next == "" {
				break
			}
			q.PageToken = next
		}
	}
	var again []Run
	for _, id := range opts.Recheck {
		if seen[id] {
			continue
		}
		r, err := s.client.GetRun(ctx, id)
		if IsNotFound(err) {
			continue // deleted for good: nothing more to observe
		}
		if err != nil {
			return st, err
		}
		again = append(again, r)
	}
	if err := pending.runs(ctx, again, byID); err != nil {
		return st, err
	}
	if !opts.SkipModels {
		if err := s.models(ctx, pending); err != nil {
			return st, err
		}
	}
	if err := pending.flush(ctx); err != nil {
		return st, err
	}
	sort.Strings(st.Unfinished)
	return st, nil
}

// models observes every registered model and model version.
func (s *Syncer) models(ctx context.Context, b *batcher) error {
	rms, err := s.client.AllRegisteredModels(ctx)
	if err != nil {
		return err
	}
	aliases := map[[2]string][]string{} // (name, version) → aliases
	for _, rm := range rms {
		for _, a := range rm.Aliases {
			k := [2]string{rm.Name, a.Version}
			aliases[k] = append(aliases[k], a.Alias)
		}
		o := s.client.ObserveRegisteredModel(rm)
		b.st.RegisteredModels++
		if err := b.add(ctx, &o); err != nil {
			return err
		}
	}
	mvs, err := s.client.AllModelVersions(ctx, "")
	if err != nil {
		return err
	}
	for _, mv := range mvs {
		// The registered model's aliases are the authority on where an
		// alias points; search results may leave a version's list empty.
		mv.Aliases = append([]string(nil), aliases[[2]string{mv.Name, mv.Version}]...)
		sort.Strings(mv.Aliases)
		o := s.client.ObserveModelVersion(mv)
		if mv.RunID != "" {
			ol, err := s.openLineageRunID(ctx, mv.RunID)
			if err != nil {
				return err
			}
			o.OpenLineageRunID = ol
		}
		b.st.ModelVersions++
		if err := b.add(ctx, &o); err != nil {
			return err
		}
	}
	return nil
}

// openLineageRunID returns the openlineage.run_id tag of an MLflow run,
// reading the run when this syncer has not seen it.
func (s *Syncer) openLineageRunID(ctx context.Context, runID string) (string, error) {
	s.mu.Lock()
	ol, ok := s.olRunIDs[runID]
	s.mu.Unlock()
	if ok {
		return ol, nil
	}
	r, err := s.client.GetRun(ctx, runID)
	if IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	s.remember(&r)
	return s.olRunIDs[runID], nil
}

func (s *Syncer) remember(r *Run) {
	ol := ""
	if k := RunKeyOf(r); k != graph.RunKey(r.Info.ID()) {
		ol = strings.TrimPrefix(k, "run:")
	}
	s.mu.Lock()
	if len(s.olRunIDs) > maxRemembered {
		clear(s.olRunIDs)
	}
	s.olRunIDs[r.Info.ID()] = ol
	s.mu.Unlock()
}

// batcher observes runs concurrently and sends observations to the sink
// in batches, in the order MLflow listed them.
type batcher struct {
	s    *Syncer
	opts SyncOptions
	st   *SyncStats
	buf  []*Observation
}

// runs reads each run's artifacts and logged models (Concurrency at a
// time) and queues the observations.
func (b *batcher) runs(ctx context.Context, runs []Run, exps map[string]*Experiment) error {
	obs := make([]*Observation, len(runs))
	errs := make([]error, len(runs))
	sem := make(chan struct{}, b.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range runs {
		r := runs[i]
		b.s.remember(&r)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			o, err := b.s.client.ObserveRun(ctx, r, exps[r.Info.ExperimentID])
			obs[i], errs[i] = &o, err
		}()
	}
	wg.Wait()
	for i, r := range runs {
		if errs[i] != nil {
			return fmt.Errorf("mlflow: observe run %s: %w", r.Info.ID(), errs[i])
		}
		if r.Info.StartTime > b.st.MaxStartTime {
			b.st.MaxStartTime = r.Info.StartTime
		}
		if !r.Info.Finished() && r.Info.LifecycleStage != "deleted" {
			b.st.Unfinished = append(b.st.Unfinished, r.Info.ID())
		}
		b.st.Runs++
		if err := b.add(ctx, obs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (b *batcher) add(ctx context.Context, o *Observation) error {
	b.buf = append(b.buf, o)
	if len(b.buf) >= b.opts.BatchSize {
		return b.flush(ctx)
	}
	return nil
}

func (b *batcher) flush(ctx context.Context) error {
	if len(b.buf) == 0 {
		return nil
	}
	res, err := b.s.sink.Observe(ctx, b.opts.Source, b.buf)
	if err != nil {
		return err
	}
	var firstErr error
	for i, r := range res {
		switch r.Status {
		case StatusNew:
			b.st.New++
		case StatusChanged:
			b.st.Changed++
		case StatusChangedAfterFinish:
			b.st.ChangedAfterFin++
		case StatusUnchanged:
			b.st.Unchanged++
		default:
			b.st.Rejected++
			if firstErr == nil && r.Err != nil && unavailable(r.Err) {
				firstErr = fmt.Errorf("observation %d (%s): %w", i, r.Key, r.Err)
			}
		}
	}
	b.buf = b.buf[:0]
	if b.opts.Progress != nil {
		b.opts.Progress(*b.st)
	}
	return firstErr
}

// unavailable reports whether an observation failed because Redthread
// cannot take it now (the log or pipeline is down): the pass stops there,
// rather than counting every later observation as rejected.
func unavailable(err error) bool {
	c := graph.ErrorCode(err)
	return c == graph.EUNAVAILABLE || c == graph.EINTERNAL
}
