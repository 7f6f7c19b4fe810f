package openlineage

import (
	"encoding/json"
	"time"

	"github.com/redthread/redthread/graph"
)

// DecodeBatch splits the body of the spec's batch endpoint, a JSON array of
// events, into its items, each to be decoded with Decode. An empty array is
// not an error. A body that is not a JSON array is an EINVALID error.
func DecodeBatch(body []byte) ([]json.RawMessage, error) {
	switch first := firstByte(body); first {
	case 0:
		return nil, graph.FieldErrorf(graph.EINVALID, "", "empty body: want a JSON array of events")
	case '[':
	default:
		if !json.Valid(body) {
			return nil, notJSON(body)
		}
		what := jsonValueKind(first)
		if first == '{' {
			what = "an object (send a single event to the single-event endpoint)"
		}
		return nil, graph.FieldErrorf(graph.EINVALID, "", "want a JSON array of events, got %s", what)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, notJSON(body)
	}
	return items, nil
}

// Kind is the event's kind, decided from its structure.
func (e *Event) Kind() Kind {
	if e == nil {
		return ""
	}
	return e.kind
}

// EventTime is the event's eventTime, in UTC.
func (e *Event) EventTime() time.Time {
	if e == nil {
		return time.Time{}
	}
	return e.time
}

func (e *Event) base() *BaseEvent {
	switch {
	case e == nil:
		return &BaseEvent{}
	case e.RunEvent != nil:
		return &e.RunEvent.BaseEvent
	case e.JobEvent != nil:
		return &e.JobEvent.BaseEvent
	case e.DatasetEvent != nil:
		return &e.DatasetEvent.BaseEvent
	}
	return &BaseEvent{}
}

// Producer is the producer URI the event names ("" if none).
func (e *Event) Producer() string { return e.base().Producer }

// SchemaURL is the schemaURL the event names ("" if none).
func (e *Event) SchemaURL() string { return e.base().SchemaURL }

// EventType is a RunEvent's eventType, upper-cased; "" when it has none
// and for the other kinds.
func (e *Event) EventType() EventType {
	if e == nil || e.RunEvent == nil {
		return ""
	}
	return e.RunEvent.EventType
}

// RunID is a RunEvent's runId as sent ("" for the other kinds).
func (e *Event) RunID() string {
	if e == nil || e.RunEvent == nil {
		return ""
	}
	return e.RunEvent.Run.RunID
}

// RunKey is the graph key of a RunEvent's run ("" for the other kinds).
func (e *Event) RunKey() string {
	if id := e.RunID(); id != "" {
		return graph.RunKey(id)
	}
	return ""
}

func (e *Event) job() *Job {
	switch {
	case e == nil:
		return nil
	case e.RunEvent != nil:
		return &e.RunEvent.Job
	case e.JobEvent != nil:
		return &e.JobEvent.Job
	}
	return nil
}

// JobKey is the graph key of the event's job ("" for a DatasetEvent).
func (e *Event) JobKey() string {
	if j := e.job(); j != nil {
		return graph.JobKey(j.Namespace, j.Name)
	}
	return ""
}

// DatasetKey is the graph key of a DatasetEvent's dataset ("" for the
// other kinds).
func (e *Event) DatasetKey() string {
	if e == nil || e.DatasetEvent == nil {
		return ""
	}
	return graph.DatasetKey(e.DatasetEvent.Dataset.Namespace, e.DatasetEvent.Dataset.Name)
}

// CorrelationID is the Z1 correlation id a RunEvent's run facets carry
// ("" if none).
func (e *Event) CorrelationID() string {
	if e == nil {
		return ""
	}
	return e.correlationID
}

func (e *Event) inputs() []InputDataset {
	switch {
	case e == nil:
		return nil
	case e.RunEvent != nil:
		return e.RunEvent.Inputs
	case e.JobEvent != nil:
		return e.JobEvent.Inputs
	}
	return nil
}

func (e *Event) outputs() []OutputDataset {
	switch {
	case e == nil:
		return nil
	case e.RunEvent != nil:
		return e.RunEvent.Outputs
	case e.JobEvent != nil:
		return e.JobEvent.Outputs
	}
	return nil
}

// InputKeys are the keys of the nodes the mapping links as the event's
// inputs, in event order without repeats: for a RunEvent the DatasetVersion
// when the input has a version facet, else the Dataset; for a JobEvent the
// Dataset.
func (e *Event) InputKeys() []string {
	var keys []string
	for _, in := range e.inputs() {
		k := graph.DatasetKey(in.Namespace, in.Name)
		if v := in.Facets.Version; v != nil && e.kind == KindRunEvent {
			k = graph.DatasetVersionKey(in.Namespace, in.Name, v.DatasetVersion)
		}
		keys = appendUnique(keys, k)
	}
	return keys
}

// OutputKeys are the keys of the nodes the mapping links as the event's
// outputs, in event order without repeats: for a RunEvent always a
// DatasetVersion (see OutputVersion); for a JobEvent the Dataset.
func (e *Event) OutputKeys() []string {
	var keys []string
	for _, out := range e.outputs() {
		k := graph.DatasetKey(out.Namespace, out.Name)
		if e.kind == KindRunEvent {
			v, _ := OutputVersion(out, e.RunID())
			k = graph.DatasetVersionKey(out.Namespace, out.Name, v)
		}
		keys = appendUnique(keys, k)
	}
	return keys
}

// Sources of a DatasetVersion's version, recorded in its version_source
// property.
const (
	VersionFromFacet = "facet" // the dataset's version facet
	VersionFromRun   = "run"   // "run-<runId>": one version per writing run
)

// OutputVersion is the version a run's output is recorded under: the
// version facet's datasetVersion, or else "run-<runId>" (runId normalised
// as in graph.RunKey), a new version per writing run as Marquez does.
// source is VersionFromFacet or VersionFromRun.
func OutputVersion(out OutputDataset, runID string) (version, source string) {
	if v := out.Facets.Version; v != nil && v.DatasetVersion != "" {
		return v.DatasetVersion, VersionFromFacet
	}
	return "run-" + graph.NormalizeRunID(runID), VersionFromRun
}

func appendUnique(keys []string, k string) []string {
	for _, x := range keys {
		if x == k {
			return keys
		}
	}
	return append(keys, k)
}
