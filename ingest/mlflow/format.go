package mlflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/ingest"
	"github.com/redthread/redthread/internal/pubsub"
)

// FormatName is the record-source format this package decodes:
// "mlflow/sync", "mlflow/poll", "mlflow/webhook", "mlflow/cursor".
const FormatName = "mlflow"

// Record kinds in the event log.
const (
	RecordRun             = "MLflowRun"
	RecordModelVersion    = "MLflowModelVersion"
	RecordRegisteredModel = "MLflowRegisteredModel"
	RecordWebhook         = "MLflowWebhook"
	RecordCursor          = "MLflowCursor"
)

// Producer is the producer recorded for MLflow inputs.
const Producer = "https://mlflow.org"

// Decoder returns the ingest decoder of the "mlflow" format: observations,
// webhook deliveries and poller cursors, told apart by their
// "redthread_mlflow" member. It is deterministic, as replay needs.
func Decoder() ingest.Decoder {
	return decode
}

func decode(body []byte) (ingest.Event, error) {
	var head struct {
		Format string `json:"redthread_mlflow"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return ingest.Event{}, jsonError("", err)
	}
	switch head.Format {
	case ObservationFormat:
		return decodeObservation(body)
	case WebhookFormat:
		return decodeWebhookRecord(body)
	case CursorFormat:
		var c Cursor
		if err := strictUnmarshal(body, &c); err != nil {
			return ingest.Event{}, err
		}
		if c.TrackingURI == "" {
			return ingest.Event{}, graph.FieldErrorf(graph.EINVALID, "tracking_uri", "required")
		}
		return ingest.Event{Kind: RecordCursor, Producer: Producer,
			Notice: pubsub.Message{Kind: RecordCursor}}, nil
	case "":
		return ingest.Event{}, graph.FieldErrorf(graph.EINVALID, "redthread_mlflow",
			"required: an MLflow record names its format (%s, %s or %s)", ObservationFormat, WebhookFormat, CursorFormat)
	}
	return ingest.Event{}, graph.FieldErrorf(graph.EINVALID, "redthread_mlflow", "unknown format %q", head.Format)
}

// DecodeObservation parses an observation, naming the offending field on
// error.
func DecodeObservation(body []byte) (*Observation, error) {
	var o Observation
	if err := strictUnmarshal(body, &o); err != nil {
		return nil, err
	}
	if o.Format != ObservationFormat {
		return nil, graph.FieldErrorf(graph.EINVALID, "redthread_mlflow", "want %q, got %q", ObservationFormat, o.Format)
	}
	return &o, nil
}

func decodeObservation(body []byte) (ingest.Event, error) {
	o, err := DecodeObservation(body)
	if err != nil {
		return ingest.Event{}, err
	}
	muts, err := MapObservation(o, graph.BodySHA256(body))
	if err != nil {
		return ingest.Event{}, err
	}
	ev := ingest.Event{Producer: Producer, Mutations: muts}
	switch o.Kind {
	case KindRun:
		ev.Kind = RecordRun
		ev.EventTime = ms(o.Run.Info.EndTime)
		if ev.EventTime.IsZero() {
			ev.EventTime = ms(o.Run.Info.StartTime)
		}
		ev.Notice = pubsub.Message{EventType: o.Run.Info.Status, RunKey: RunKeyOf(o.Run)}
		for _, m := range muts {
			if m.Kind == graph.UpsertEdge {
				switch m.Edge.Type {
				case graph.EdgeRunOf:
					ev.Notice.JobKey = m.Edge.To
				case graph.EdgeReadBy:
					ev.Notice.Inputs = append(ev.Notice.Inputs, m.Edge.From)
				case graph.EdgeProduced:
					ev.Notice.Outputs = append(ev.Notice.Outputs, m.Edge.To)
				}
			}
		}
	case KindModelVersion:
		ev.Kind = RecordModelVersion
		ev.EventTime = ms(o.ModelVersion.LastUpdatedTimestamp)
		ev.Notice.Outputs = []string{graph.ModelVersionKey(Namespace(o.TrackingURI), o.ModelVersion.Name, o.ModelVersion.Version)}
	case KindRegisteredModel:
		ev.Kind = RecordRegisteredModel
		ev.EventTime = ms(o.RegisteredModel.LastUpdatedTimestamp)
	}
	ev.Notice.Kind, ev.Notice.EventTime, ev.Notice.Producer = ev.Kind, ev.EventTime, ev.Producer
	return ev, nil
}

// strictUnmarshal decodes JSON into v, turning errors into *graph.Error
// that name the field.
func strictUnmarshal(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return jsonError("", err)
	}
	if dec.More() {
		return graph.Errorf(graph.EINVALID, "trailing data after the JSON document")
	}
	return nil
}

// jsonError converts an encoding/json error into an EINVALID error naming
// the field when json knows it.
func jsonError(prefix string, err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if prefix != "" {
			field = prefix + "." + field
		}
		return graph.FieldErrorf(graph.EINVALID, field, "expected %s, got JSON %s", typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return graph.Errorf(graph.EINVALID, "invalid JSON at byte %d: %v", syntaxErr.Offset, err)
	}
	if prefix != "" {
		return graph.FieldErrorf(graph.EINVALID, prefix, "%v", err)
	}
	return graph.Errorf(graph.EINVALID, "invalid JSON: %v", err)
}

// CursorFormat marks a poller cursor record.
const CursorFormat = "cursor/v1"

// Cursor is where the poller of one MLflow server stands: the latest run
// start time it has read, and the runs it saw unfinished, to read again.
// It is appended to the event log (source "mlflow/cursor") after a pass
// that moved it, so a restarted poller resumes.
type Cursor struct {
	Format      string `json:"redthread_mlflow"`
	TrackingURI string `json:"tracking_uri"`
	// StartTime is the highest run start_time read (ms); the next pass
	// reads runs that started at or after it.
	StartTime Millis `json:"start_time"`
	// Unfinished are run ids last seen RUNNING or SCHEDULED.
	Unfinished []string `json:"unfinished,omitempty"`
	// FullSyncAt is when the last full pass (every run, to catch edits to
	// finished runs) completed, in ms; 0 before the first.
	FullSyncAt Millis `json:"full_sync_at,omitempty"`
	// Previous is the log offset of the cursor this one follows, so that a
	// cursor equal to an older one is still a new record.
	Previous int64 `json:"previous,omitempty"`
}

// timeOrZero is a helper for event times in webhook payloads.
func timeOrZero(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
