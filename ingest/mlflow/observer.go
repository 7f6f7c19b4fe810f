package mlflow

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"sync"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest"
)

// History tells the observer what was observed before.
type History interface {
	// LatestRecord returns the sha256 of the log record of the newest
	// observation projected onto the node with this key ("" if none).
	LatestRecord(ctx context.Context, key string) (string, error)
	// Record returns the log record with this sha256.
	Record(ctx context.Context, sha string) (graph.Record, bool, error)
}

// Observation statuses, as ObserveResult reports them.
const (
	StatusNew                = "new"                  // first observation of the object
	StatusChanged            = "changed"              // it changed since the last observation
	StatusChangedAfterFinish = "changed_after_finish" // a finished run's record changed: flagged, first values kept
	StatusUnchanged          = "unchanged"            // same as the last observation: nothing appended
	StatusRejected           = "rejected"             // the observation is invalid (see Err)
)

// ObserveResult says what became of one observation.
type ObserveResult struct {
	Key     string `json:"key,omitempty"` // the graph key of the object
	Status  string `json:"status"`
	Offset  int64  `json:"offset,omitempty"` // log offset of the record (0 when unchanged or rejected)
	Changes int    `json:"changes,omitempty"`
	Err     error  `json:"-"`
}

// Observer appends observations to the event log, each linked to the
// previous observation of the same object: an unchanged object appends
// nothing, a changed one carries what changed, and a change to a run that
// had already finished is flagged rather than overwriting what was first
// observed (seed principle: nothing is editable after execution).
type Observer struct {
	sub  Submitter
	hist History

	mu   sync.Mutex // one Observe at a time: each compares with the last
	last map[string]seen
}

// seen is what the observer remembers of an object's last observation.
type seen struct {
	content  string // ContentSHA256
	record   string // sha256 of its log record
	offset   int64
	finished bool
}

// maxRemembered bounds the observer's memory; past it, it asks History.
const maxRemembered = 200_000

// NewObserver returns an observer that appends through sub and asks hist
// about objects it has not seen since it started.
func NewObserver(sub Submitter, hist History) *Observer {
	return &Observer{sub: sub, hist: hist, last: map[string]seen{}}
}

// ObjectKey returns the graph key of the object an observation is about.
func ObjectKey(o *Observation) string {
	switch {
	case o.Kind == KindRun && o.Run != nil:
		return RunKeyOf(o.Run)
	case o.Kind == KindModelVersion && o.ModelVersion != nil:
		return graph.ModelVersionKey(Namespace(o.TrackingURI), o.ModelVersion.Name, o.ModelVersion.Version)
	case o.Kind == KindRegisteredModel && o.RegisteredModel != nil:
		return graph.RegisteredModelKey(Namespace(o.TrackingURI), o.RegisteredModel.Name)
	}
	return ""
}

// Observe compares each observation with the last one of its object and
// appends those that differ, from source (e.g. "mlflow/sync"). An object
// observed twice in obs keeps the later observation. Results are in the
// order of obs.
func (ob *Observer) Observe(ctx context.Context, source string, obs []*Observation) []ObserveResult {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	results := make([]ObserveResult, len(obs))
	last := map[string]int{} // key → index of its last observation in obs
	for i, o := range obs {
		if o.Supersedes != nil {
			results[i] = rejected(graph.FieldErrorf(graph.EINVALID, "supersedes", "set by Redthread, not by a client"))
			continue
		}
		if o.Format == "" {
			o.Format = ObservationFormat
		}
		if _, err := MapObservation(o, ""); err != nil {
			results[i] = rejected(err)
			continue
		}
		key := ObjectKey(o)
		results[i].Key = key
		if j, ok := last[key]; ok {
			results[j] = ObserveResult{Key: key, Status: StatusUnchanged}
		}
		last[key] = i
	}

	type change struct {
		i     int
		key   string
		state seen
	}
	var inputs []ingest.Input
	var changes []change
	for i, o := range obs {
		key := results[i].Key
		if results[i].Status != "" || key == "" || last[key] != i {
			continue
		}
		content := ContentSHA256(o)
		if s, ok := ob.last[key]; ok && s.content == content {
			results[i] = ObserveResult{Key: key, Status: StatusUnchanged, Offset: s.offset}
			continue
		}
		prev, prevObs, err := ob.previous(ctx, key)
		if err != nil {
			results[i] = ObserveResult{Key: key, Status: StatusRejected, Err: err}
			continue
		}
		if prev.content == content {
			results[i] = ObserveResult{Key: key, Status: StatusUnchanged, Offset: prev.offset}
			continue
		}
		status := StatusNew
		if prev.record != "" {
			status = StatusChanged
			o.Supersedes = &Supersedes{SHA256: prev.record, Offset: prev.offset,
				AfterFinish: o.Kind == KindRun && prev.finished, Changes: Diff(prevObs, o)}
			if o.Supersedes.AfterFinish {
				status = StatusChangedAfterFinish
			}
			results[i].Changes = len(o.Supersedes.Changes)
		}
		body, err := json.Marshal(o)
		o.Supersedes = nil
		if err != nil {
			results[i] = rejected(graph.Errorf(graph.EINVALID, "encode observation: %v", err))
			continue
		}
		results[i].Status = status
		finished := o.Kind == KindRun && o.Run.Info.Finished() || prev.finished
		changes = append(changes, change{i, key, seen{content: content, record: graph.BodySHA256(body), finished: finished}})
		inputs = append(inputs, ingest.Input{Source: source, Body: body})
	}
	if len(inputs) == 0 {
		return results
	}
	for j, r := range ob.sub.Submit(ctx, inputs) {
		c := changes[j]
		if r.Err != nil {
			results[c.i].Status, results[c.i].Err, results[c.i].Changes = StatusRejected, r.Err, 0
			continue
		}
		results[c.i].Offset = r.Offset
		c.state.offset = r.Offset
		if len(ob.last) >= maxRemembered {
			clear(ob.last)
		}
		ob.last[c.key] = c.state
	}
	return results
}

// GraphHistory is the History of a running Redthread: the graph store
// names the newest observation of a node, and the event log holds it.
type GraphHistory struct {
	// Nodes reads nodes from the graph store.
	Nodes func(ctx context.Context, keys ...string) ([]graph.Node, error)
	// BySHA256 finds a log record by the hash of its body.
	BySHA256 func(ctx context.Context, sha string) (graph.Record, bool, error)
	// Wait, if set, returns once the graph has applied every record
	// acknowledged so far, so Nodes sees the latest observation.
	Wait func(ctx context.Context) error
}

// LatestRecord implements History.
func (h GraphHistory) LatestRecord(ctx context.Context, key string) (string, error) {
	if h.Wait != nil {
		if err := h.Wait(ctx); err != nil {
			return "", err
		}
	}
	nodes, err := h.Nodes(ctx, key)
	if err != nil || len(nodes) == 0 {
		return "", err
	}
	sha, _ := nodes[0].Props["mlflow_record_sha256"].(string)
	return sha, nil
}

// Record implements History.
func (h GraphHistory) Record(ctx context.Context, sha string) (graph.Record, bool, error) {
	return h.BySHA256(ctx, sha)
}

func rejected(err error) ObserveResult { return ObserveResult{Status: StatusRejected, Err: err} }

// previous returns what is known of the last observation of key, and that
// observation when there is one.
func (ob *Observer) previous(ctx context.Context, key string) (seen, *Observation, error) {
	s, remembered := ob.last[key]
	sha := s.record
	if !remembered {
		var err error
		if sha, err = ob.hist.LatestRecord(ctx, key); err != nil || sha == "" {
			return seen{}, nil, err
		}
	}
	rec, ok, err := ob.hist.Record(ctx, sha)
	if err != nil || !ok {
		return seen{}, nil, err
	}
	prev, err := DecodeObservation(rec.Body)
	if err != nil {
		return seen{}, nil, nil // not an observation we can compare with: start afresh
	}
	finished := s.finished
	if prev.Kind == KindRun && prev.Run != nil && prev.Run.Info.Finished() {
		finished = true
	}
	if prev.Supersedes != nil && prev.Supersedes.AfterFinish {
		finished = true
	}
	return seen{content: ContentSHA256(prev), record: sha, offset: rec.Offset, finished: finished}, prev, nil
}

// Diff lists the fields that differ between two observations of one
// object, sorted by field name.
func Diff(before, after *Observation) []Change {
	a, b := flatten(before), flatten(after)
	var out []Change
	for _, k := range sortedKeys(union(a, b)) {
		va, ina := a[k]
		vb, inb := b[k]
		if ina == inb && va == vb {
			continue
		}
		c := Change{Field: k}
		if ina {
			v := va
			c.Before = &v
		}
		if inb {
			v := vb
			c.After = &v
		}
		out = append(out, c)
	}
	return out
}

func union(a, b map[string]string) map[string]bool {
	u := make(map[string]bool, len(a)+len(b))
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

// flatten lists what an observation says as field → value strings.
func flatten(o *Observation) map[string]string {
	f := map[string]string{}
	if o == nil {
		return f
	}
	put := func(k, v string) {
		if v != "" {
			f[k] = v
		}
	}
	if r := o.Run; r != nil {
		i := r.Info
		put("info.run_name", i.RunName)
		put("info.status", i.Status)
		put("info.user_id", i.UserID)
		put("info.start_time", rfc3339(i.StartTime))
		put("info.end_time", rfc3339(i.EndTime))
		put("info.artifact_uri", i.ArtifactURI)
		put("info.lifecycle_stage", i.LifecycleStage)
		for _, t := range r.Data.Tags {
			f["tags."+t.Key] = t.Value
		}
		for _, p := range r.Data.Params {
			f["params."+p.Key] = p.Value
		}
		for _, m := range r.Data.Metrics {
			f["metrics."+m.Key] = m.Value.String()
		}
		if r.Inputs != nil {
			for _, d := range r.Inputs.DatasetInputs {
				f["inputs."+d.Dataset.Name+"@"+d.Dataset.Digest] = datasetURI(d.Dataset)
			}
		}
	}
	for _, a := range o.Artifacts {
		if !a.IsDir {
			f["artifacts."+a.Path] = strconv.FormatInt(a.FileSize, 10)
		}
	}
	for _, c := range o.Checksums {
		f["checksums."+c.Path] = c.SHA256
	}
	for _, m := range o.Models {
		f["logged_models."+m.Info.ModelID] = m.Info.Status + " " + m.Info.ArtifactURI
	}
	if mv := o.ModelVersion; mv != nil {
		put("info.status", mv.Status)
		put("info.stage", mv.CurrentStage)
		put("info.source", mv.Source)
		put("info.run_id", mv.RunID)
		put("info.description", mv.Description)
		put("info.model_id", mv.ModelID)
		for _, t := range mv.Tags {
			f["tags."+t.Key] = t.Value
		}
		aliases := append([]string(nil), mv.Aliases...)
		sort.Strings(aliases)
		for _, a := range aliases {
			f["aliases."+a] = mv.Version
		}
	}
	if rm := o.RegisteredModel; rm != nil {
		put("info.description", rm.Description)
		for _, t := range rm.Tags {
			f["tags."+t.Key] = t.Value
		}
		for _, a := range rm.Aliases {
			f["aliases."+a.Alias] = a.Version
		}
	}
	return f
}
