package resolvers

import (
	"context"
	"errors"
	"strings"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/gqlmodel"
	"github.com/redthread/redthread/internal/pubsub"
)

// Limits on arguments, beyond those of package graph.
const (
	// MaxKeys is the most keys one nodes query may name.
	MaxKeys = 1000
	// defaultDepth is lineage's depth when the argument is null; the schema
	// declares the same default.
	defaultDepth = 3
	// subscriberBuffer is how many events a subscription may lag behind
	// before the hub drops it.
	subscriberBuffer = 256
)

// coded returns err as an error that carries a graph error code: domain
// errors pass through, a cancelled or timed-out request is EUNAVAILABLE, and
// anything else is EINTERNAL (logged by the handler, shown as "internal
// error").
func coded(err error) error {
	if err == nil {
		return nil
	}
	var e *graph.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &graph.Error{Code: graph.EUNAVAILABLE, Message: "the request was cancelled or timed out", Err: err}
	}
	return graph.Internal(err)
}

// renameField returns err with its field from the store's name for an
// argument (such as "start", Traversal.Start) as the query calls it (to):
// the caller's field must name something in the query.
func renameField(err error, from, to string) error {
	var e *graph.Error
	if errors.As(err, &e) && e.Field == from {
		renamed := *e
		renamed.Field = to
		return &renamed
	}
	return err
}

// checkKey rejects a malformed key as EINVALID about field.
func checkKey(field, key string) (graph.ParsedKey, error) {
	p, err := graph.ParseKey(key)
	if err != nil {
		return graph.ParsedKey{}, &graph.Error{Code: graph.EINVALID, Field: field, Message: graph.ErrorMessage(err)}
	}
	return p, nil
}

// deref returns *p, or def when p is nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// eventMatcher decides which hub messages a lineageEvents subscriber gets.
type eventMatcher struct {
	kinds      map[string]bool
	eventTypes []string
	jobPrefix  []string // every prefix must match
	dataset    string   // exact key to find among inputs and outputs
	versions   bool     // dataset is a Dataset key: its versions match too
}

// newEventMatcher checks f (which may be nil) and compiles it.
func newEventMatcher(f *gqlmodel.LineageEventFilter) (*eventMatcher, error) {
	m := &eventMatcher{}
	if f == nil {
		return m, nil
	}
	if len(f.Kinds) > 0 {
		m.kinds = make(map[string]bool, len(f.Kinds))
		for _, k := range f.Kinds {
			m.kinds[k] = true
		}
	}
	m.eventTypes = f.EventTypes
	if p := deref(f.JobKeyPrefix, ""); p != "" {
		m.jobPrefix = append(m.jobPrefix, p)
	}
	if ns := deref(f.JobNamespace, ""); ns != "" {
		// JobKey with an empty name is exactly "job:<escaped namespace>:".
		m.jobPrefix = append(m.jobPrefix, graph.JobKey(ns, ""))
	}
	if k := deref(f.DatasetKey, ""); k != "" {
		p, err := checkKey("filter.datasetKey", k)
		if err != nil {
			return nil, err
		}
		switch p.Label {
		case graph.LabelDataset:
			m.versions = true
		case graph.LabelDatasetVersion:
		default:
			return nil, graph.FieldErrorf(graph.EINVALID, "filter.datasetKey",
				"%q is a %s key, not a dataset or dataset version key", k, p.Label)
		}
		m.dataset = k
	}
	return m, nil
}

// match reports whether msg passes every condition of the filter.
func (m *eventMatcher) match(msg pubsub.Message) bool {
	if m.kinds != nil && !m.kinds[msg.Kind] {
		return false
	}
	if len(m.eventTypes) > 0 {
		ok := false
		for _, t := range m.eventTypes {
			if strings.EqualFold(t, msg.EventType) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, p := range m.jobPrefix {
		if !strings.HasPrefix(msg.JobKey, p) {
			return false
		}
	}
	if m.dataset != "" && !m.mentionsDataset(msg.Inputs) && !m.mentionsDataset(msg.Outputs) {
		return false
	}
	return true
}

func (m *eventMatcher) mentionsDataset(keys []string) bool {
	for _, k := range keys {
		if k == m.dataset || m.versions && strings.HasPrefix(k, m.dataset+"@") {
			return true
		}
	}
	return false
}
