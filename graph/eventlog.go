package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Record is one entry of the append-only event log, the system of record.
// Every accepted input (an OpenLineage event, an MLflow snapshot, a webhook
// delivery, a deployment report) is appended before it is acknowledged.
type Record struct {
	Offset   int64     // assigned by Append: 1, 2, 3, …
	Received time.Time // when Redthread received it (UTC)
	Source   string    // where it came from, e.g. "openlineage/http", "openlineage/file"
	Kind     string    // what it is, e.g. "RunEvent", "DatasetEvent", "JobEvent"
	SHA256   string    // lowercase hex sha256 of Body
	Producer string    // the producer URI the event names, if any
	Body     []byte    // the input exactly as received (decompressed)
}

// BodySHA256 returns the lowercase hex sha256 of body.
func BodySHA256(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// AppendResult tells what Append did with one record.
type AppendResult struct {
	Offset    int64 // the record's offset (the earlier one for a duplicate)
	Duplicate bool  // a record with the same SHA256 was already in the log
}

// LogStats describe the event log.
type LogStats struct {
	Records int64 // number of records
	Bytes   int64 // total size of the bodies
	Head    int64 // highest offset, 0 if empty
}

// EventLog is the append-only, durable event log. Nothing in it is ever
// edited or deleted.
type EventLog interface {
	// Append appends the records in one durable step (fsynced before it
	// returns) and assigns their offsets. A record without a SHA256 gets
	// the hash of its body. A record whose SHA256 is already in the log (or
	// earlier in recs) is not appended again: its result is Duplicate with
	// the existing offset.
	Append(ctx context.Context, recs []Record) ([]AppendResult, error)
	// Read returns up to limit records with Offset > after, in order.
	Read(ctx context.Context, after int64, limit int) ([]Record, error)
	// Stats returns the size of the log.
	Stats(ctx context.Context) (LogStats, error)
	// Close releases the log.
	Close() error
}
