package gqlmodel

import (
	"time"

	"github.com/redthread/redthread/internal/pubsub"
)

// LineageEvent presents a pubsub.Message to the schema.
type LineageEvent struct{ m pubsub.Message }

// NewLineageEvent wraps m.
func NewLineageEvent(m pubsub.Message) *LineageEvent { return &LineageEvent{m: m} }

// Message returns the wrapped message.
func (e *LineageEvent) Message() pubsub.Message { return e.m }

// Offset is the record's event-log offset.
func (e *LineageEvent) Offset() int64 { return e.m.Offset }

// ReceivedAt is when Redthread received the input.
func (e *LineageEvent) ReceivedAt() time.Time { return e.m.Received }

// Source is where the input came from.
func (e *LineageEvent) Source() string { return e.m.Source }

// Kind is what the input is.
func (e *LineageEvent) Kind() string { return e.m.Kind }

// EventType is the OpenLineage eventType, or nil.
func (e *LineageEvent) EventType() *string { return optional(e.m.EventType) }

// EventTime is the producer's event time; zero shows as null.
func (e *LineageEvent) EventTime() time.Time { return e.m.EventTime }

// Producer is the producer URI, or nil.
func (e *LineageEvent) Producer() *string { return optional(e.m.Producer) }

// JobKey is the key of the job, or nil.
func (e *LineageEvent) JobKey() *string { return optional(e.m.JobKey) }

// RunKey is the key of the run, or nil.
func (e *LineageEvent) RunKey() *string { return optional(e.m.RunKey) }

// Inputs are the keys of the input datasets.
func (e *LineageEvent) Inputs() []string { return nonNil(e.m.Inputs) }

// Outputs are the keys of the output datasets.
func (e *LineageEvent) Outputs() []string { return nonNil(e.m.Outputs) }

// Warnings are the leniency warnings recorded while decoding.
func (e *LineageEvent) Warnings() []string { return nonNil(e.m.Warnings) }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nonNil keeps a non-null list field from showing null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
