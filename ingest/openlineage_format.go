package ingest

import (
	"github.com/redthread/redthread/ingest/openlineage"
	"github.com/redthread/redthread/internal/pubsub"
)

// OpenLineage returns the decoder for the "openlineage" format: the lenient
// decoder of ingest/openlineage, then (when v is not nil) strict validation
// against the official JSON Schemas, then the mapping to graph mutations.
// The event shares the body's memory (see Decoder).
func OpenLineage(v *openlineage.Validator) Decoder {
	return func(body []byte) (Event, error) {
		ev, err := openlineage.DecodeOwned(body)
		if err != nil {
			return Event{}, err
		}
		if v != nil {
			if err := v.Validate(body); err != nil {
				return Event{}, err
			}
		}
		kind := string(ev.Kind())
		return Event{
			Kind:      kind,
			Producer:  ev.Producer(),
			EventTime: ev.EventTime(),
			Warnings:  ev.Warnings,
			Mutations: openlineage.Map(ev, 0),
			Notice: pubsub.Message{
				Kind: kind, EventType: string(ev.EventType()), EventTime: ev.EventTime(),
				Producer: ev.Producer(), JobKey: ev.JobKey(), RunKey: ev.RunKey(),
				Inputs: ev.InputKeys(), Outputs: ev.OutputKeys(), Warnings: ev.Warnings,
			},
		}, nil
	}
}
