package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redthread/redthread/graph"
)

// Read limits: a reader that asks for nothing in particular gets a page it
// can hold in memory; one that asks for more is capped, since bodies may be
// large and a reindex reads the log page by page anyway.
const (
	DefaultReadLimit = 1_000
	MaxReadLimit     = 100_000
)

// logSchema creates the event log's tables. event_log_stats keeps the
// totals up to date inside each Append, so Stats is one row read rather
// than a scan of every body.
//
// Layout versions: 1, the first; 2 adds event_log.encoding, so that bodies
// can be stored compressed (see encodeBody). Version 1 files are upgraded
// in place when opened: their rows keep encoding 0, the body as received.
var logSchema = schema{
	component: "event log",
	version:   2,
	upgrades: map[int][]string{
		1: {`ALTER TABLE event_log ADD COLUMN encoding INTEGER NOT NULL DEFAULT 0`},
	},
	onChange: "open it with a build that migrates it; never delete the log, it is the system of record",
	stmts:    logTables,
}

var logTables = []string{
	`CREATE TABLE IF NOT EXISTS event_log (
		log_offset INTEGER PRIMARY KEY,
		received   INTEGER NOT NULL,
		source     TEXT    NOT NULL,
		kind       TEXT    NOT NULL,
		sha256     TEXT    NOT NULL UNIQUE,
		producer   TEXT    NOT NULL,
		body       BLOB    NOT NULL,
		encoding   INTEGER NOT NULL DEFAULT 0 -- bodyEncoding: 0 raw, 1 S2
	)`,
	`CREATE TABLE IF NOT EXISTS event_log_stats (
		id      INTEGER PRIMARY KEY CHECK (id = 1),
		records INTEGER NOT NULL,
		bytes   INTEGER NOT NULL
	)`,
	// The totals are computed from the table only when the row is missing
	// (a new file), never on every open of a large log.
	`INSERT INTO event_log_stats (id, records, bytes)
		SELECT 1, (SELECT count(*) FROM event_log), (SELECT coalesce(sum(length(body)), 0) FROM event_log)
		WHERE NOT EXISTS (SELECT 1 FROM event_log_stats)`,
}

// Log is the append-only event log on SQLite. Offsets are the table's
// integer primary key: since nothing is ever deleted they run 1, 2, 3, …
// with no gaps. It is safe for concurrent use; appends queue for the one
// writer connection, reads do not wait for them.
type Log struct {
	db      *pools
	writeMu sync.Mutex // one append at a time on the writer connection

	insert     *sql.Stmt // append one record unless its sha256 is known
	existing   *sql.Stmt // the offset of a known sha256
	bumpTotals *sql.Stmt // add to event_log_stats
}

var _ graph.EventLog = (*Log)(nil)

// OpenLog opens (creating if needed) the event log in the SQLite file at
// path. Its writes are fsynced at every commit.
func OpenLog(path string) (*Log, error) {
	ctx := context.Background()
	p, err := openPools(ctx, path, syncFull, logSchema)
	if err != nil {
		return nil, err
	}
	l := &Log{db: p}
	prepare := func(dst **sql.Stmt, query string) {
		if err != nil {
			return
		}
		*dst, err = p.wc.PrepareContext(ctx, query)
	}
	prepare(&l.insert, `INSERT INTO event_log (received, source, kind, sha256, producer, body, encoding)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (sha256) DO NOTHING`)
	prepare(&l.existing, `SELECT log_offset FROM event_log WHERE sha256 = ?`)
	prepare(&l.bumpTotals, `UPDATE event_log_stats SET records = records + ?, bytes = bytes + ? WHERE id = 1`)
	if err != nil {
		l.Close()
		return nil, graph.Internal(fmt.Errorf("sqlite: prepare log statements: %w", err))
	}
	return l, nil
}

// Append appends recs in one transaction, fsynced before it returns. A
// record with no SHA256 gets the hash of its body; one whose SHA256 does
// not match its body is an EINVALID error and nothing is appended, since a
// wrong hash would make deduplication silently wrong. A zero Received is
// set to now.
func (l *Log) Append(ctx context.Context, recs []graph.Record) ([]graph.AppendResult, error) {
	if len(recs) == 0 {
		return []graph.AppendResult{}, nil
	}
	hashes := make([]string, len(recs))
	for i := range recs {
		sum := graph.BodySHA256(recs[i].Body)
		if recs[i].SHA256 != "" && recs[i].SHA256 != sum {
			return nil, graph.FieldErrorf(graph.EINVALID, fmt.Sprintf("records[%d].sha256", i),
				"%q is not the sha256 of the body (%s)", recs[i].SHA256, sum)
		}
		hashes[i] = sum
	}
	now := time.Now().UTC()

	if err := ctx.Err(); err != nil {
		return nil, internal(ctx, "begin append", err)
	}
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.db.begin(); err != nil {
		return nil, internal(ctx, "begin append", err)
	}
	committed := false
	defer func() {
		if !committed {
			l.db.rollback()
		}
	}()
	// The statements run without ctx (see pools.begin): an append is a few
	// milliseconds, and a half-written group commit has no use anyway.
	stmtCtx := context.WithoutCancel(ctx)

	results := make([]graph.AppendResult, len(recs))
	var scratch []byte // compressed bodies, each written before the next is made
	var added, bytes int64
	for i, r := range recs {
		received := r.Received
		if received.IsZero() {
			received = now
		}
		body := r.Body
		if body == nil {
			body = []byte{} // NOT NULL: an empty input is still an input
		}
		stored, enc := encodeBody(body, &scratch)
		// An insert that adds a row gets the new offset as the rowid;
		// a known sha256 adds none. Exec rather than RETURNING spares
		// database/sql a result set and SQLite the table it buffers one in.
		res, err := l.insert.ExecContext(stmtCtx, timeToNanos(received), r.Source, r.Kind, hashes[i], r.Producer, stored, int(enc))
		if err != nil {
			return nil, internal(ctx, "append record", err)
		}
		inserted, err := res.RowsAffected()
		if err != nil {
			return nil, internal(ctx, "append record", err)
		}
		var off int64
		if inserted == 1 {
			if off, err = res.LastInsertId(); err != nil {
				return nil, internal(ctx, "append record", err)
			}
			results[i] = graph.AppendResult{Offset: off}
			added++
			bytes += int64(len(body))
			continue
		}
		if err := l.existing.QueryRowContext(stmtCtx, hashes[i]).Scan(&off); err != nil {
			return nil, internal(ctx, "look up duplicate record", err)
		}
		results[i] = graph.AppendResult{Offset: off, Duplicate: true}
	}
	if added > 0 {
		if _, err := l.bumpTotals.ExecContext(stmtCtx, added, bytes); err != nil {
			return nil, internal(ctx, "update log totals", err)
		}
	}
	if err := l.db.commit(); err != nil {
		return nil, internal(ctx, "commit append", err)
	}
	committed = true
	return results, nil
}

// Read returns up to limit records with Offset > after, in offset order.
// A limit of 0 or less means DefaultReadLimit; more than MaxReadLimit is
// capped, so a caller pages with the last offset it got.
func (l *Log) Read(ctx context.Context, after int64, limit int) ([]graph.Record, error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	limit = min(limit, MaxReadLimit)
	rows, err := l.db.r.QueryContext(ctx, `SELECT log_offset, received, source, kind, sha256, producer, body, encoding
		FROM event_log WHERE log_offset > ? ORDER BY log_offset LIMIT ?`, max(after, 0), limit)
	if err != nil {
		return nil, internal(ctx, "read log", err)
	}
	defer rows.Close()
	recs := make([]graph.Record, 0, min(limit, 256))
	for rows.Next() {
		r, err := scanRecord(ctx, rows)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(ctx, "read log", err)
	}
	return recs, nil
}

// BySHA256 returns the record whose body has the given sha256 (lowercase
// hex); ok is false when the log holds none. It uses the hash's unique
// index.
func (l *Log) BySHA256(ctx context.Context, sha string) (rec graph.Record, ok bool, err error) {
	return l.one(ctx, `SELECT log_offset, received, source, kind, sha256, producer, body, encoding
		FROM event_log WHERE sha256 = ?`, sha)
}

// LatestFrom returns the newest record appended from source; ok is false
// when there is none. It walks the log backwards from its head, so it is
// quick for a source written often (such as a poller's cursor) and a full
// scan for one never written.
func (l *Log) LatestFrom(ctx context.Context, source string) (rec graph.Record, ok bool, err error) {
	return l.one(ctx, `SELECT log_offset, received, source, kind, sha256, producer, body, encoding
		FROM event_log WHERE source = ? ORDER BY log_offset DESC LIMIT 1`, source)
}

// one reads the single record a query selects.
func (l *Log) one(ctx context.Context, query string, args ...any) (graph.Record, bool, error) {
	r, err := scanRecord(ctx, l.db.r.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return graph.Record{}, false, nil
	}
	if err != nil {
		return graph.Record{}, false, err
	}
	return r, true, nil
}

// scanRecord reads one row of the record columns the log's queries select,
// decoding its body. sql.ErrNoRows is returned as is; any other failure is
// an EINTERNAL error naming the record's offset when it is known.
func scanRecord(ctx context.Context, row interface{ Scan(...any) error }) (graph.Record, error) {
	var r graph.Record
	var received int64
	var enc bodyEncoding
	var stored []byte
	if err := row.Scan(&r.Offset, &received, &r.Source, &r.Kind, &r.SHA256, &r.Producer, &stored, &enc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return graph.Record{}, err
		}
		return graph.Record{}, internal(ctx, "read log record", err)
	}
	body, err := decodeBody(stored, enc)
	if err != nil {
		return graph.Record{}, graph.Internal(fmt.Errorf("sqlite: log record %d: %w", r.Offset, err))
	}
	r.Body = body
	r.Received = nanosToTime(received)
	return r, nil
}

// Stats returns the number of records, the total size of their bodies and
// the highest offset.
func (l *Log) Stats(ctx context.Context) (graph.LogStats, error) {
	var s graph.LogStats
	err := l.db.r.QueryRowContext(ctx, `SELECT records, bytes, (SELECT coalesce(max(log_offset), 0) FROM event_log)
		FROM event_log_stats WHERE id = 1`).Scan(&s.Records, &s.Bytes, &s.Head)
	if err != nil {
		return graph.LogStats{}, internal(ctx, "log stats", err)
	}
	return s, nil
}

// Close closes the log's statements and connections.
func (l *Log) Close() error {
	for _, s := range []*sql.Stmt{l.insert, l.existing, l.bumpTotals} {
		if s != nil {
			s.Close()
		}
	}
	return l.db.close()
}
