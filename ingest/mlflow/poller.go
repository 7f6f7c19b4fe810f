package mlflow

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest"
)

// CursorSource is the record source of poller cursors.
const CursorSource = "mlflow/cursor"

// CursorLog finds the newest cursor record; *sqlite.Log is one.
type CursorLog interface {
	LatestFrom(ctx context.Context, source string) (graph.Record, bool, error)
}

// PollerOptions tune a Poller. Zero values take the defaults.
type PollerOptions struct {
	Interval    time.Duration // between passes (default 30s)
	FullEvery   time.Duration // between full passes, which re-read finished runs (default 1h)
	Experiments []string      // experiment names or ids (default all)
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
	Now         func() time.Time
}

// Poller keeps the graph in step with an MLflow server: every Interval it
// reads runs that started since its cursor plus the runs it last saw
// unfinished (MLflow keeps no update time for runs), and the model
// registry; every FullEvery it reads every run, so that an edit to a
// finished run is caught and flagged. Its cursor is appended to the event
// log, so a restart resumes where it stopped.
type Poller struct {
	syncer *Syncer
	sub    Submitter
	log    CursorLog
	uri    string
	opts   PollerOptions

	passes       *prometheus.CounterVec
	observations *prometheus.CounterVec

	mu       sync.Mutex
	cursor   Cursor
	offset   int64 // log offset of cursor
	lastErr  error
	lastPass time.Time
}

// NewPoller returns a poller of client's server that appends through sub
// and finds its cursor in log.
func NewPoller(client *Client, sub Submitter, log CursorLog, hist History, opts PollerOptions) *Poller {
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.FullEvery <= 0 {
		opts.FullEvery = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Poller{
		syncer: NewSyncer(client, ObserverSink{NewObserver(sub, hist)}),
		sub:    sub, log: log, uri: client.TrackingURI(), opts: opts,
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redthread_mlflow_poll_passes_total", Help: "MLflow poller passes by kind (incremental, full) and result (ok, error).",
		}, []string{"kind", "result"}),
		observations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redthread_mlflow_observations_total", Help: "MLflow objects observed by the poller, by outcome (new, changed, changed_after_finish, unchanged, rejected).",
		}, []string{"status"}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(p.passes, p.observations)
	}
	return p
}

// PollStatus is the poller's state for readiness reports.
type PollStatus struct {
	TrackingURI string
	Cursor      Cursor
	LastPass    time.Time
	LastErr     error
}

// Status returns the cursor and the outcome of the last pass.
func (p *Poller) Status() PollStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PollStatus{TrackingURI: p.uri, Cursor: p.cursor, LastPass: p.lastPass, LastErr: p.lastErr}
}

// Run polls until ctx ends. Failed passes are logged and retried at the
// next interval; nothing is lost, since a pass that failed left the cursor
// where it was.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.load(ctx); err != nil {
		return err
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		_ = p.Pass(ctx)
		t.Reset(p.opts.Interval)
	}
}

// load reads the newest cursor of this server from the log.
func (p *Poller) load(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec, ok, err := p.log.LatestFrom(ctx, CursorSource)
	if err != nil || !ok {
		p.cursor = Cursor{Format: CursorFormat, TrackingURI: p.uri}
		return err
	}
	var c Cursor
	if json.Unmarshal(rec.Body, &c) != nil || c.TrackingURI != p.uri {
		p.opts.Logger.Info("mlflow: no cursor for this server in the log; starting with a full pass", "tracking_uri", p.uri)
		p.cursor = Cursor{Format: CursorFormat, TrackingURI: p.uri}
		return nil
	}
	p.cursor, p.offset = c, rec.Offset
	p.opts.Logger.Info("mlflow: resuming from the logged cursor", "tracking_uri", p.uri,
		"start_time", rfc3339(c.StartTime), "unfinished", len(c.Unfinished), "offset", rec.Offset)
	return nil
}

// Pass runs one poll pass now and saves the cursor it reached.
func (p *Poller) Pass(ctx context.Context) error {
	p.mu.Lock()
	cur := p.cursor
	p.mu.Unlock()
	now := p.opts.Now()
	full := cur.FullSyncAt == 0 || now.Sub(ms(cur.FullSyncAt)) >= p.opts.FullEvery
	opts := SyncOptions{Source: "mlflow/poll", Experiments: p.opts.Experiments}
	kind := "full"
	if !full {
		kind = "incremental"
		opts.Since, opts.Recheck = cur.StartTime, cur.Unfinished
	}
	st, err := p.syncer.Sync(ctx, opts)
	for status, n := range map[string]int{StatusNew: st.New, StatusChanged: st.Changed,
		StatusChangedAfterFinish: st.ChangedAfterFin, StatusUnchanged: st.Unchanged, StatusRejected: st.Rejected} {
		p.observations.WithLabelValues(status).Add(float64(n))
	}
	if err == nil {
		next := Cursor{Format: CursorFormat, TrackingURI: p.uri, StartTime: max(cur.StartTime, st.MaxStartTime),
			Unfinished: st.Unfinished, FullSyncAt: cur.FullSyncAt, Previous: p.offset}
		if full {
			next.FullSyncAt = Millis(now.UnixMilli())
		}
		err = p.save(ctx, cur, next)
	}
	p.mu.Lock()
	p.lastErr, p.lastPass = err, p.opts.Now()
	p.mu.Unlock()
	if err != nil {
		p.passes.WithLabelValues(kind, "error").Inc()
		p.opts.Logger.Warn("mlflow: poll pass failed; retrying at the next interval", "tracking_uri", p.uri, "err", err)
		return err
	}
	p.passes.WithLabelValues(kind, "ok").Inc()
	p.opts.Logger.Debug("mlflow: poll pass", "kind", kind, "runs", st.Runs, "model_versions", st.ModelVersions,
		"new", st.New, "changed", st.Changed, "changed_after_finish", st.ChangedAfterFin, "elapsed", st.Elapsed)
	return nil
}

// save appends next to the log when it moved from cur.
func (p *Poller) save(ctx context.Context, cur, next Cursor) error {
	if cur.StartTime == next.StartTime && cur.FullSyncAt == next.FullSyncAt && slices.Equal(cur.Unfinished, next.Unfinished) && p.offset != 0 {
		return nil
	}
	body, err := json.Marshal(next)
	if err != nil {
		return err
	}
	res := p.sub.Submit(ctx, []ingest.Input{{Source: CursorSource, Body: body}})
	if res[0].Err != nil {
		return res[0].Err
	}
	p.mu.Lock()
	p.cursor, p.offset = next, res[0].Offset
	p.mu.Unlock()
	return nil
}
