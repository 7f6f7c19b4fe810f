// Package pubsub fans out notices of ingested events to GraphQL
// subscribers, in memory. Each subscriber has a buffered channel; a
// subscriber that falls behind is dropped (its channel closed), never waited
// on, so ingest never blocks on a slow reader.
package pubsub

import (
	"sync"
	"time"
)

// Message tells subscribers that one event was accepted and projected.
type Message struct {
	Offset    int64     // event-log offset
	Received  time.Time // when Redthread received it
	Source    string    // e.g. "openlineage/http"
	Kind      string    // "RunEvent", "DatasetEvent", "JobEvent", …
	EventType string    // OpenLineage eventType (START, COMPLETE, …), if any
	EventTime time.Time // the producer's event time
	Producer  string    // the producer URI
	JobKey    string    // key of the job, if any
	RunKey    string    // key of the run, if any
	Inputs    []string  // keys of input datasets (or versions)
	Outputs   []string  // keys of output datasets (or versions)
	Warnings  []string  // leniency warnings recorded while decoding
}

// Hub is an in-memory publisher. The zero value is not usable; use New.
type Hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	ch chan Message
}

// New returns an empty hub.
func New() *Hub { return &Hub{subs: make(map[*subscriber]struct{})} }

// Subscribe registers a subscriber with a channel of the given buffer size
// (at least 1). The returned cancel function unsubscribes and closes the
// channel; it is safe to call more than once. The channel is also closed if
// the subscriber falls more than buffer messages behind, or the hub closes.
func (h *Hub) Subscribe(buffer int) (<-chan Message, func()) {
	if buffer < 1 {
		buffer = 1
	}
	s := &subscriber{ch: make(chan Message, buffer)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(s.ch)
		return s.ch, func() {}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s.ch, func() { h.drop(s) }
}

func (h *Hub) drop(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Publish delivers m to every subscriber without blocking; subscribers whose
// buffer is full are dropped.
func (h *Hub) Publish(m Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- m:
		default:
			delete(h.subs, s)
			close(s.ch)
		}
	}
}

// Subscribers returns the number of live subscribers.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close drops every subscriber; later Subscribe calls get a closed channel.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
}
