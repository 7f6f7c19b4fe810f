package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/pubsub"
)

// Log is the part of graph.EventLog the pipeline uses.
type Log interface {
	Append(ctx context.Context, recs []graph.Record) ([]graph.AppendResult, error)
	Read(ctx context.Context, after int64, limit int) ([]graph.Record, error)
	Stats(ctx context.Context) (graph.LogStats, error)
}

// Store is the part of graph.Store the pipeline uses.
type Store interface {
	Apply(ctx context.Context, batches ...graph.Batch) error
	AppliedOffset(ctx context.Context) (int64, error)
}

// Preparer is implemented by a Store that can plan an Apply apart from
// running it (graph/neo4j): PrepareApply validates and plans the batches
// without the store's server and returns the write, which then behaves as
// Apply(ctx, batches...) would, recording the highest offset atomically
// with the mutations. The applier then plans the next group while the
// store writes the previous one.
type Preparer interface {
	PrepareApply(batches ...graph.Batch) (write func(context.Context) error, err error)
}

// Publisher receives a notice for every newly projected event.
type Publisher interface {
	Publish(pubsub.Message)
}

// Options tune the pipeline. Zero values take the defaults.
type Options struct {
	MaxGroupRecords int // most records appended in one transaction (default 1000)
	// MaxApplyRecords bounds one store Apply: under load the applier
	// merges the groups queued for it until it holds this many records
	// (default 8000). Events repeat jobs, datasets and schema fields,
	// and a larger Apply coalesces more of them into one row: in the
	// bench workload 12.4 rows per event at 2,000 events, 6.7 at 8,000.
	MaxApplyRecords int
	// MaxBacklogRecords bounds the records that are durable and
	// acknowledged but not yet taken by the applier (default 8000, and
	// at least MaxApplyRecords): beyond it group commits wait, so that
	// acknowledgements slow to the projection's pace and memory stays
	// bounded. It is also about the most a read-your-writes query waits
	// for under full load (with the Apply being written).
	MaxBacklogRecords int
	ApplyTimeout      time.Duration // how long one Apply may take before it counts as failed (default 30s)
	RetryInterval     time.Duration // how often a lagging projection retries (default 2s)
	ReplayChunk       int           // records read per step when replaying the log (default 500)
	// CommitWait is how long the committer, while requests keep arriving
	// together (the last group commit held several), waits for more of
	// them before a group commit of fewer than CommitRecords records
	// (default 1ms; negative: never waits). Each commit is an fsync and
	// a fixed CPU cost, which one event per request from many clients
	// otherwise pays every few events.
	CommitWait    time.Duration
	CommitRecords int // records a group commit waits for under load (default 8)
	// AwaitProjection makes Submit return only once its events are also
	// applied to the graph store. By default Submit returns once they are
	// durable in the log, and the applier projects large groups behind
	// it; readers that must see their own writes call WaitApplied.
	AwaitProjection bool
	Logger          *slog.Logger
	Registerer      prometheus.Registerer // nil: metrics are not registered
}

func (o *Options) defaults() {
	if o.MaxGroupRecords <= 0 {
		o.MaxGroupRecords = 1000
	}
	if o.MaxApplyRecords <= 0 {
		o.MaxApplyRecords = 8000
	}
	if o.MaxBacklogRecords <= 0 {
		o.MaxBacklogRecords = 8000
	}
	o.MaxBacklogRecords = max(o.MaxBacklogRecords, o.MaxApplyRecords)
	if o.ApplyTimeout <= 0 {
		o.ApplyTimeout = 30 * time.Second
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 2 * time.Second
	}
	if o.ReplayChunk <= 0 {
		o.ReplayChunk = 500
	}
	if o.CommitWait == 0 {
		o.CommitWait = time.Millisecond
	}
	if o.CommitRecords <= 0 {
		o.CommitRecords = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Input is one body to ingest.
type Input struct {
	Source string // "<format>/<channel>", e.g. "openlineage/http"
	// Body is the input exactly as received, decompressed. The log record
	// and the decoded event keep it: never modify it once submitted.
	Body []byte
}

// Result says what became of one Input.
type Result struct {
	Offset    int64    // log offset (the earlier one for a duplicate); 0 if rejected
	Duplicate bool     // the same body was already in the log: nothing changed
	Warnings  []string // leniency warnings
	Err       error    // a *graph.Error if the input was rejected
}

// Pipeline is the ingest write path. Create it with New, start Run in its
// own goroutine, then call Submit from any goroutine.
type Pipeline struct {
	log     Log
	store   Store
	pub     Publisher
	formats Formats
	opts    Options
	m       *metrics

	reqs    chan *request
	toApply chan *group
	backlog *backlog // records handed to the applier and not yet taken
	running atomic.Bool
	stopped chan struct{}
	started chan struct{} // closed once Run knows the log head

	// head is owned by the committer goroutine, applied and knownHead by
	// the applier goroutine, once Run has started. lastHead mirrors head
	// for the applier; storeDown is set while the store fails.
	head      int64
	applied   int64
	knownHead int64
	lastHead  atomic.Int64
	storeDown atomic.Bool
	flying    *flight // a Preparer store's write under way; applier only

	mu       sync.Mutex // guards the fields below, read by Status
	status   Status
	advanced chan struct{} // closed (and replaced) whenever status.Applied grows
}

// Status is a snapshot of the pipeline for readiness and metrics.
type Status struct {
	Head        int64 // highest log offset
	Applied     int64 // highest offset applied to the store
	LogRecords  int64
	LogBytes    int64
	StoreHealth error // the last apply error, nil once the store caught up
}

// Lag is the number of log records not yet projected.
func (s Status) Lag() int64 { return s.Head - s.Applied }

type pending struct {
	rec graph.Record
	ev  Event
	res *Result
}

type request struct {
	items []pending
	done  chan struct{}
}

// group is what the committer hands the applier: the requests of one
// group commit, the records it appended (duplicates left out) and the log
// head after it.
type group struct {
	reqs  []*request
	fresh []*pending
	head  int64
}

// ErrStopped is returned by Submit once Run has returned.
var ErrStopped = graph.Errorf(graph.EUNAVAILABLE, "ingest pipeline is shutting down")

// New returns a pipeline over the given log and store. formats decides how
// each record source is decoded, both at Submit and when replaying.
func New(log Log, store Store, pub Publisher, formats Formats, opts Options) *Pipeline {
	opts.defaults()
	return &Pipeline{
		log: log, store: store, pub: pub, formats: formats, opts: opts,
		m:        newMetrics(opts.Registerer),
		reqs:     make(chan *request, 256),
		toApply:  make(chan *group, opts.MaxBacklogRecords+4),
		backlog:  newBacklog(opts.MaxBacklogRecords),
		stopped:  make(chan struct{}),
		started:  make(chan struct{}),
		advanced: make(chan struct{}),
	}
}

// Status returns the current head, applied offset and log size.
func (p *Pipeline) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// Submit decodes, validates and appends the inputs, and returns when every
// accepted one is durable in the log (and, unless the store is failing,
// applied to the graph). Rejected inputs carry a *graph.Error in Result.Err
// and are not appended; they never affect the others.
func (p *Pipeline) Submit(ctx context.Context, inputs []Input) []Result {
	start := time.Now()
	results := make([]Result, len(inputs))
	req := &request{done: make(chan struct{})}
	for i, in := range inputs {
		format := formatOf(in.Source)
		dec, ok := p.formats[format]
		if !ok {
			results[i].Err = graph.Errorf(graph.EINVALID, "unknown input format %q", format)
			p.m.rejected.WithLabelValues(in.Source, graph.EINVALID).Inc()
			continue
		}
		ev, err := decodeSafely(dec, in.Body)
		if err != nil {
			results[i].Err = err
			p.m.rejected.WithLabelValues(in.Source, graph.ErrorCode(err)).Inc()
			continue
		}
		results[i].Warnings = ev.Warnings
		// The log hashes the body as it appends it (a hash given here would
		// only be hashed again, to check it, on the committer's goroutine).
		req.items = append(req.items, pending{
			rec: graph.Record{
				Received: start.UTC(), Source: in.Source, Kind: ev.Kind,
				Producer: ev.Producer, Body: in.Body,
			},
			ev:  ev,
			res: &results[i],
		})
	}
	if len(req.items) == 0 {
		return results
	}
	if !p.running.Load() {
		return p.fail(req, results, ErrStopped)
	}
	select {
	case p.reqs <- req:
	case <-p.stopped:
		return p.fail(req, results, ErrStopped)
	case <-ctx.Done():
		return p.fail(req, results, graph.Errorf(graph.EUNAVAILABLE, "request cancelled before it was logged"))
	}
	// Once handed over, wait for the committer even if ctx ends: the
	// caller must learn whether its events were logged.
	select {
	case <-req.done:
	case <-p.stopped:
		select {
		case <-req.done:
		default:
			return p.fail(req, results, ErrStopped)
		}
	}
	p.m.latency.Observe(time.Since(start).Seconds())
	return results
}

func (p *Pipeline) fail(req *request, results []Result, err error) []Result {
	for _, it := range req.items {
		it.res.Err = err
	}
	return results
}

// decodeSafely turns a decoder panic into an internal error, so one bad
// input can never take the server down.
func decodeSafely(dec Decoder, body []byte) (ev Event, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = graph.Internal(fmt.Errorf("decoder panic: %v", r))
		}
	}()
	return dec(body)
}

// CountRejected records an input rejected before it reached the pipeline
// (too large, wrong media type, unauthenticated), so /metrics shows every
// rejection by reason in one place.
func (p *Pipeline) CountRejected(source, reason string) {
	p.m.rejected.WithLabelValues(source, reason).Inc()
}

// Run replays whatever the store has not applied yet, then serves Submit
// calls until ctx ends; it returns nil on a clean stop. It runs two
// goroutines: the committer appends groups to the log while the applier
// applies the previous ones to the store, so the two writes overlap.
func (p *Pipeline) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("ingest: Run called twice")
	}
	defer close(p.stopped)
	stats, err := p.log.Stats(ctx)
	if err != nil {
		return fmt.Errorf("ingest: reading log stats: %w", err)
	}
	applied, err := p.store.AppliedOffset(ctx)
	if err != nil {
		p.opts.Logger.Warn("graph store not reachable at start; events will be logged and projected when it answers", "err", err)
		applied = -1
		p.storeDown.Store(true)
	}
	p.head, p.knownHead, p.applied = stats.Head, stats.Head, applied
	p.lastHead.Store(stats.Head)
	p.setStatus(stats.Records, stats.Bytes, err)
	close(p.started)
	if applied >= 0 && applied < p.head {
		p.opts.Logger.Info("replaying event log into the graph", "from", applied+1, "to", p.head)
		p.catchUp(ctx)
	}

	applierDone := make(chan struct{})
	go func() {
		defer close(applierDone)
		p.applier(ctx)
	}()
	defer func() {
		close(p.toApply)
		<-applierDone
	}()
	loaded := false // the last group commit held more than one request
	for {
		select {
		case <-ctx.Done():
			p.drain()
			return nil
		case req := <-p.reqs:
			reqs := p.collect(req, loaded)
			loaded = len(reqs) > 1
			g := p.commit(ctx, reqs)
			if !p.opts.AwaitProjection || p.storeDown.Load() {
				// The events are durable: answer now. The applier
				// projects them behind (while the store fails, it
				// replays them from the log when it answers again).
				for _, r := range g.reqs {
					close(r.done)
				}
				g.reqs = nil
				if p.storeDown.Load() {
					continue
				}
			}
			p.backlog.add(len(g.fresh))
			p.toApply <- g
		}
	}
}

// collect gathers the requests queued behind req for one group commit, up
// to MaxGroupRecords records. Under load (loaded: the last group commit
// held several requests) it also waits up to CommitWait for requests
// still to come, until it holds CommitRecords records.
func (p *Pipeline) collect(req *request, loaded bool) []*request {
	reqs, n := []*request{req}, len(req.items)
	var deadline <-chan time.Time
	for n < p.opts.MaxGroupRecords {
		var r *request
		select {
		case r = <-p.reqs:
		default:
			if !loaded || p.opts.CommitWait < 0 || n >= p.opts.CommitRecords {
				return reqs
			}
			if deadline == nil {
				t := time.NewTimer(p.opts.CommitWait)
				defer t.Stop()
				deadline = t.C
			}
			select {
			case r = <-p.reqs:
			case <-deadline:
				return reqs
			}
		}
		reqs = append(reqs, r)
		n += len(r.items)
	}
	return reqs
}

// smallApply is the size in records under which the applier lets the
// groups it holds wait for the write under way to land, gathering more,
// rather than plan them alongside it. One event per request from many
// clients otherwise made applies of a dozen events, each with its own
// commit: measured, 10% of the CPU per event.
const smallApply = 500

// The applier's backlog (Options.MaxBacklogRecords) is bounded in records,
// not in groups: one event per request makes groups of a few records, and
// a bound of a few groups then starved the applier into one small
// transaction per group (each with its fixed cost), which held
// acknowledgements back to that pace. A bound in records lets small groups
// pile up into the large transactions the store applies fastest. The
// channel that carries the groups has room for one group per record (and
// a few to spare), so that the record bound, not the channel, is what
// waits.
//
// The bounds were 2,000 records per Apply and 4,000 in the backlog; 8,000
// and 8,000 measured, in batches into the embedded store, 6,589–6,754
// against 5,470–5,842 events/s applied and 261–263 against 292–304 µs of
// CPU per event, for a peak resident memory of 2.5–3.1 against 1.5 GiB.

// backlog counts the records queued for the applier. add waits while the
// queue is full; a group larger than the bound is admitted alone.
type backlog struct {
	mu    sync.Mutex
	more  *sync.Cond
	n     int
	limit int
}

func newBacklog(limit int) *backlog {
	b := &backlog{limit: limit}
	b.more = sync.NewCond(&b.mu)
	return b
}

// add waits for room for n records and queues them.
func (b *backlog) add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.n > 0 && b.n+n > b.limit {
		b.more.Wait()
	}
	b.n += n
}

// take removes n records from the queue.
func (b *backlog) take(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n -= n
	b.more.Broadcast()
}

// drain fails requests still queued at shutdown, so no caller waits forever
// and none is told its event was logged when it was not.
func (p *Pipeline) drain() {
	for {
		select {
		case req := <-p.reqs:
			for _, it := range req.items {
				it.res.Err = ErrStopped
			}
			close(req.done)
		default:
			return
		}
	}
}

// commit appends the requests' records in one durable transaction and
// returns the group for the applier.
func (p *Pipeline) commit(ctx context.Context, reqs []*request) *group {
	g := &group{reqs: reqs}
	var items []*pending
	for _, r := range reqs {
		for i := range r.items {
			items = append(items, &r.items[i])
		}
	}
	recs := make([]graph.Record, len(items))
	for i, it := range items {
		recs[i] = it.rec
	}
	p.m.groupRecords.Observe(float64(len(recs)))
	results, err := p.log.Append(context.WithoutCancel(ctx), recs)
	if err != nil {
		p.opts.Logger.Error("appending to the event log failed", "err", err, "records", len(recs))
		for _, it := range items {
			it.res.Err = graph.Errorf(graph.EUNAVAILABLE, "event log unavailable; retry")
		}
		g.head = p.head
		return g
	}
	// From here on the log holds the bodies: the applier needs only the
	// decoded events, and letting the bodies go (a batch's are slices of
	// its whole request) keeps the applier's backlog to half the memory.
	var bytes int64
	for i, it := range items {
		it.res.Offset, it.res.Duplicate = results[i].Offset, results[i].Duplicate
		it.rec.Offset = results[i].Offset
		size := int64(len(it.rec.Body))
		it.rec.Body = nil
		if results[i].Duplicate {
			p.m.events.WithLabelValues(it.rec.Source, it.rec.Kind, "duplicate").Inc()
			continue
		}
		bytes += size
		p.m.events.WithLabelValues(it.rec.Source, it.rec.Kind, "accepted").Inc()
		g.fresh = append(g.fresh, it)
	}
	if len(g.fresh) > 0 {
		p.head = g.fresh[len(g.fresh)-1].rec.Offset
		p.lastHead.Store(p.head)
		p.addLogSize(int64(len(g.fresh)), bytes)
	}
	g.head = p.head
	return g
}

// applier applies committed groups in order, merging groups that queued
// up into one store transaction, publishes notices and wakes the callers.
// While the store fails it retries from the log every RetryInterval.
func (p *Pipeline) applier(ctx context.Context) {
	retry := time.NewTicker(p.opts.RetryInterval)
	defer retry.Stop()
	lastTick := p.applied // applied at the previous tick
	prep, pipelined := p.store.(Preparer)
	for {
		select {
		case g, ok := <-p.toApply:
			if !ok {
				p.land(ctx)
				return
			}
			groups := []*group{g}
			n := len(g.fresh)
		more:
			for n < p.opts.MaxApplyRecords {
				var g2 *group
				select {
				case g2, ok = <-p.toApply:
				default:
					// Few records while a write is under way: planning
					// them now would save little, and waiting for the
					// write to land (which the next write must anyway)
					// gathers the groups that arrive meanwhile into one
					// apply, with fewer commits and more coalescing.
					if !pipelined || p.flying == nil || n >= smallApply {
						break more
					}
					select {
					case g2, ok = <-p.toApply:
					case err := <-p.flying.doneC():
						p.landed(ctx, err)
						continue
					}
				}
				if !ok {
					break more
				}
				groups = append(groups, g2)
				n += len(g2.fresh)
			}
			p.backlog.take(n)
			if pipelined {
				p.applyPipelined(ctx, prep, groups)
			} else {
				p.applyGroups(ctx, groups)
			}
		case err := <-p.flying.doneC():
			p.landed(ctx, err)
		case <-retry.C:
			// Replay from the log only what the groups handed over will
			// not bring: while the store fails (the committer then stops
			// handing groups over), or when projection is behind, made no
			// progress for a whole interval and has no group queued (one
			// held back around a recovery). Under load the applier is
			// always behind by the groups queued for it; replaying those
			// from the log would decode them a second time, on this one
			// goroutine.
			if p.flying != nil {
				continue // projection is under way; a replay would race it
			}
			p.knownHead = max(p.knownHead, p.lastHead.Load())
			stalled := p.applied == lastTick && len(p.toApply) == 0
			if p.applied < p.knownHead && (p.storeDown.Load() || stalled) {
				p.catchUp(ctx)
			}
			lastTick = p.applied
		}
	}
}

// applyGroups projects the fresh records of groups, then releases their
// callers. Records are applied in log order: if the store is behind (it
// failed earlier), the gap is replayed from the log first.
func (p *Pipeline) applyGroups(ctx context.Context, groups []*group) {
	fresh := p.freshOf(groups)
	defer p.release(groups, fresh)
	if len(fresh) == 0 {
		return
	}
	// Records a replay from the log already applied are left out; the
	// rest are applied from the events in hand when they follow the
	// applied offset without a gap, and replayed from the log otherwise.
	todo := after(p.applied, fresh)
	switch {
	case len(todo) == 0:
	case !contiguous(p.applied, todo):
		p.catchUp(ctx)
	default:
		if err := p.applyAll(ctx, batchesOf(todo)); err == nil {
			p.applied = todo[len(todo)-1].rec.Offset
		}
		p.setApplied()
	}
}

// freshOf lists the fresh records of groups and notes their head.
func (p *Pipeline) freshOf(groups []*group) []*pending {
	var fresh []*pending
	for _, g := range groups {
		fresh = append(fresh, g.fresh...)
		p.knownHead = max(p.knownHead, g.head)
	}
	return fresh
}

// after leaves out the leading records at or below offset.
func after(offset int64, fresh []*pending) []*pending {
	for len(fresh) > 0 && fresh[0].rec.Offset <= offset {
		fresh = fresh[1:]
	}
	return fresh
}

// batchesOf turns records into the store's batches.
func batchesOf(todo []*pending) []graph.Batch {
	batches := make([]graph.Batch, len(todo))
	for i, it := range todo {
		stampOffset(it.ev.Mutations, it.rec.Offset)
		batches[i] = graph.Batch{Offset: it.rec.Offset, Mutations: it.ev.Mutations}
	}
	return batches
}

// release publishes the notices of fresh once they are applied, and wakes
// the callers of groups.
func (p *Pipeline) release(groups []*group, fresh []*pending) {
	if len(fresh) > 0 && p.applied >= fresh[len(fresh)-1].rec.Offset && p.pub != nil {
		for _, it := range fresh {
			msg := it.ev.Notice
			msg.Offset, msg.Received, msg.Source = it.rec.Offset, it.rec.Received, it.rec.Source
			p.pub.Publish(msg)
		}
	}
	for _, g := range groups {
		for _, r := range g.reqs {
			close(r.done)
		}
	}
}

// A flight is a write of a Preparer store under way on its own goroutine
// while the applier plans the next group.
type flight struct {
	groups  []*group
	fresh   []*pending
	batches []graph.Batch
	last    int64 // the offset applied once it succeeds
	start   time.Time
	done    chan error // receives the write's outcome
}

// doneC is the channel the flight's outcome arrives on; nil (never ready)
// without a flight.
func (f *flight) doneC() <-chan error {
	if f == nil {
		return nil
	}
	return f.done
}

// applyPipelined applies groups on a Preparer store: it plans them while
// the previous write (if any) runs, waits for that write, then starts
// theirs and returns without waiting for it. Anything out of the ordinary
// (a failed write, a gap, a plan the store refuses) falls back to
// applyGroups once the previous write has landed, so the offset rules are
// those of the serial path.
func (p *Pipeline) applyPipelined(ctx context.Context, prep Preparer, groups []*group) {
	expect := p.applied // what the store will have applied when the flight lands
	if p.flying != nil {
		expect = p.flying.last
	}
	fresh := p.freshOf(groups)
	todo := after(expect, fresh)
	if len(todo) == 0 || !contiguous(expect, todo) || p.storeDown.Load() || expect < 0 {
		p.land(ctx)
		p.applyGroups(ctx, groups)
		return
	}
	batches := batchesOf(todo)
	write, err := prep.PrepareApply(batches...)
	p.land(ctx)
	if err != nil || p.applied != expect {
		p.applyGroups(ctx, groups)
		return
	}
	f := &flight{groups: groups, fresh: fresh, batches: batches, last: todo[len(todo)-1].rec.Offset,
		start: time.Now(), done: make(chan error, 1)}
	go func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.ApplyTimeout)
		defer cancel()
		f.done <- write(actx)
	}()
	p.flying = f
}

// land waits for the write under way, if any, and lands it.
func (p *Pipeline) land(ctx context.Context) {
	if p.flying != nil {
		p.landed(ctx, <-p.flying.done)
	}
}

// landed records the outcome of the write under way and releases its
// callers. A write the store refused as invalid is applied again by
// applyAll, which isolates the record at fault.
func (p *Pipeline) landed(ctx context.Context, err error) {
	f := p.flying
	p.flying = nil
	p.observe(f.start, len(f.batches), err)
	if err != nil && graph.ErrorCode(err) == graph.EINVALID {
		err = p.applyAll(ctx, f.batches)
	}
	if err == nil {
		p.applied = f.last
	}
	p.setApplied()
	p.release(f.groups, f.fresh)
}

// contiguous reports whether items' offsets follow applied one by one.
func contiguous(applied int64, items []*pending) bool {
	for _, it := range items {
		if it.rec.Offset != applied+1 {
			return false
		}
		applied = it.rec.Offset
	}
	return true
}

// apply applies batches with a timeout and records the outcome.
func (p *Pipeline) apply(ctx context.Context, batches []graph.Batch) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.ApplyTimeout)
	defer cancel()
	start := time.Now()
	err := p.store.Apply(actx, batches...)
	p.observe(start, len(batches), err)
	return err
}

// observe records the outcome of an Apply of n batches begun at start.
func (p *Pipeline) observe(start time.Time, n int, err error) {
	p.m.applySeconds.Observe(time.Since(start).Seconds())
	p.m.applyRecords.Observe(float64(n))
	if err != nil {
		p.m.applyErrors.Inc()
		p.opts.Logger.Warn("applying to the graph store failed; events stay in the log and will be replayed", "err", err)
	}
	p.storeDown.Store(err != nil)
	p.mu.Lock()
	p.status.StoreHealth = err
	p.mu.Unlock()
}

// applyAll applies batches; if the store refuses them as invalid, it
// retries one batch at a time and projects each refused one as empty, so a
// single record the store cannot take (a mapping bug) never stalls the
// projection. The record stays in the log for a reindex once fixed.
func (p *Pipeline) applyAll(ctx context.Context, batches []graph.Batch) error {
	err := p.apply(ctx, batches)
	if err == nil || graph.ErrorCode(err) != graph.EINVALID || len(batches) == 0 {
		return err
	}
	for _, b := range batches {
		err := p.apply(ctx, []graph.Batch{b})
		if err == nil {
			continue
		}
		if graph.ErrorCode(err) != graph.EINVALID {
			return err
		}
		p.opts.Logger.Error("graph store refused the projection of a log record; projecting it as empty (it stays in the log)",
			"offset", b.Offset, "err", err)
		p.m.skipped.Inc()
		if err := p.apply(ctx, []graph.Batch{{Offset: b.Offset}}); err != nil {
			return err
		}
	}
	return nil
}

// catchUp replays log records after the applied offset into the store,
// stopping at the first failure (to retry later).
func (p *Pipeline) catchUp(ctx context.Context) {
	if p.applied < 0 {
		off, err := p.store.AppliedOffset(ctx)
		if err != nil {
			p.storeDown.Store(true)
			p.mu.Lock()
			p.status.StoreHealth = err
			p.mu.Unlock()
			return
		}
		p.applied = off
	}
	for p.applied < p.knownHead {
		if ctx.Err() != nil {
			return
		}
		batches, last, err := ReadBatches(ctx, p.log, p.formats, p.applied, p.opts.ReplayChunk)
		if err != nil {
			p.opts.Logger.Error("reading the event log for replay failed", "err", err)
			return
		}
		if last == p.applied {
			return
		}
		if err := p.applyAll(ctx, batches); err != nil {
			return
		}
		p.applied = last
		p.setApplied()
	}
}

// ReadBatches reads up to limit records after offset `after` and decodes
// them into batches. last is the offset of the last record read (after if
// none). A record that no longer decodes (a decoder bug fixed since) is
// logged and projected as an empty batch, so replay never stalls on it.
func ReadBatches(ctx context.Context, log Log, formats Formats, after int64, limit int) (batches []graph.Batch, last int64, err error) {
	recs, err := log.Read(ctx, after, limit)
	if err != nil {
		return nil, after, err
	}
	last = after
	batches = make([]graph.Batch, 0, len(recs))
	for _, rec := range recs {
		last = rec.Offset
		b := graph.Batch{Offset: rec.Offset}
		if dec, ok := formats[formatOf(rec.Source)]; ok {
			if ev, err := decodeSafely(dec, rec.Body); err == nil {
				stampOffset(ev.Mutations, rec.Offset)
				b.Mutations = ev.Mutations
			}
		}
		batches = append(batches, b)
	}
	return batches, last, nil
}

func (p *Pipeline) setStatus(records, bytes int64, storeErr error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = Status{Head: p.head, Applied: max(p.applied, 0), LogRecords: records, LogBytes: bytes, StoreHealth: storeErr}
	p.m.logRecords.Set(float64(records))
	p.m.logBytes.Set(float64(bytes))
	p.m.head.Set(float64(p.head))
	p.m.lag.Set(float64(p.status.Lag()))
}

func (p *Pipeline) addLogSize(records, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status.Head = p.head
	p.status.LogRecords += records
	p.status.LogBytes += bytes
	p.m.logRecords.Set(float64(p.status.LogRecords))
	p.m.logBytes.Set(float64(p.status.LogBytes))
	p.m.head.Set(float64(p.head))
	p.m.lag.Set(float64(p.status.Lag()))
}

func (p *Pipeline) setApplied() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a := max(p.applied, 0); a > p.status.Applied {
		p.status.Applied = a
		close(p.advanced)
		p.advanced = make(chan struct{})
	}
	p.m.applied.Set(float64(p.status.Applied))
	p.m.lag.Set(float64(p.status.Lag()))
}

// Started is closed once Run has read the log's head and the graph's
// applied offset, before it replays what the graph lacks. From then on
// Head and WaitApplied give readers their own writes, so a server should
// take requests only after it.
func (p *Pipeline) Started() <-chan struct{} { return p.started }

// Head returns the highest offset acknowledged so far.
func (p *Pipeline) Head() int64 { return p.lastHead.Load() }

// WaitApplied waits until the graph store has applied every record up to
// offset, or ctx ends (its error is returned). A query that waits for the
// Head it saw when it started sees every event acknowledged before it.
func (p *Pipeline) WaitApplied(ctx context.Context, offset int64) error {
	for {
		p.mu.Lock()
		applied, ch := p.status.Applied, p.advanced
		p.mu.Unlock()
		if applied >= offset {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
