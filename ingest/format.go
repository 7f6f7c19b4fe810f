package ingest

import (
	"time"

	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/internal/pubsub"
)

// Event is an input that passed decoding and validation, ready to be
// appended to the log and projected.
type Event struct {
	Kind      string           // record kind, e.g. "RunEvent"
	Producer  string           // the producer URI, if the input names one
	EventTime time.Time        // the producer's event time
	Warnings  []string         // leniency warnings, each naming a field
	Mutations []graph.Mutation // the projection, with offsets still zero
	Notice    pubsub.Message   // the subscriber notice, less Offset/Received/Source
}

// Decoder turns one input body into an Event, or returns a *graph.Error
// naming what is wrong with it. It must be safe for concurrent use and must
// be deterministic: the log is replayed through it to rebuild the graph.
// The body is the decoder's to keep: the Event may share its memory, since
// nobody modifies a body once it is submitted (see Input.Body).
type Decoder func(body []byte) (Event, error)

// Formats maps a format name (the part of a record's Source before the
// first '/', e.g. "openlineage") to its decoder.
type Formats map[string]Decoder

// formatOf returns the format part of a source such as "openlineage/http".
func formatOf(source string) string {
	for i := 0; i < len(source); i++ {
		if source[i] == '/' {
			return source[:i]
		}
	}
	return source
}

// stampOffset sets the log offset on every node and edge of muts (on a
// group upsert, which its nodes and edges take).
func stampOffset(muts []graph.Mutation, offset int64) {
	for i := range muts {
		switch muts[i].Kind {
		case graph.UpsertNode:
			muts[i].Node.FirstOffset, muts[i].Node.LastOffset = offset, offset
		case graph.UpsertEdge:
			muts[i].Edge.FirstOffset, muts[i].Edge.LastOffset = offset, offset
		case graph.UpsertGroup:
			if g := muts[i].Group; g != nil {
				g.FirstOffset, g.LastOffset = offset, offset
			}
		}
	}
}
