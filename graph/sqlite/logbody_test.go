package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redthread/redthread/graph"
	"github.com/redthread/redthread/graph/sqlite"
)

// eventBody is a JSON body of about n bytes shaped like a RunEvent.
func eventBody(n int) string {
	var b strings.Builder
	b.WriteString(`{"eventType":"COMPLETE","run":{"runId":"0193a1c2-7e4b-7c1d-9f00-5a1b2c3d4e5f"},"outputs":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"namespace":"postgres://db:5432","name":"public.features_%d","facets":{}}`, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

// storedBodies returns each row's encoding and stored body length, read
// straight from the file.
func storedBodies(t *testing.T, path string) map[int64][2]int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT log_offset, encoding, length(body) FROM event_log`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int64][2]int{}
	for rows.Next() {
		var off int64
		var enc, n int
		if err := rows.Scan(&off, &enc, &n); err != nil {
			t.Fatal(err)
		}
		got[off] = [2]int{enc, n}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestLogCompressesBodies checks that large bodies are stored compressed
// and read back, by every read, exactly as appended.
func TestLogCompressesBodies(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	l := openLog(t, path)
	big, small := eventBody(5000), `{"eventType":"START"}`
	res, err := l.Append(ctx, []graph.Record{rec(big), rec(small), rec("")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Offset != 1 || res[2].Offset != 3 {
		t.Fatalf("Append = %+v", res)
	}

	rows := storedBodies(t, path)
	if enc, n := rows[1][0], rows[1][1]; enc != 1 || n*2 > len(big) {
		t.Errorf("the %d-byte event is stored with encoding %d in %d bytes; want S2 (1) in under half", len(big), enc, n)
	}
	if enc, n := rows[2][0], rows[2][1]; enc != 0 || n != len(small) {
		t.Errorf("the short event is stored with encoding %d in %d bytes; want raw (0), %d bytes", enc, n, len(small))
	}

	want := []graph.Record{stored(1, big), stored(2, small), stored(3, "")}
	got, err := l.Read(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(bytes.Equal)); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
	r, ok, err := l.BySHA256(ctx, graph.BodySHA256([]byte(big)))
	if err != nil || !ok || string(r.Body) != big {
		t.Errorf("BySHA256 = %d bytes, %v, %v; want the big body", len(r.Body), ok, err)
	}
	r, ok, err = l.LatestFrom(ctx, "openlineage/http")
	if err != nil || !ok || r.Offset != 3 {
		t.Errorf("LatestFrom = offset %d, %v, %v; want 3", r.Offset, ok, err)
	}
	st, err := l.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if wantBytes := int64(len(big) + len(small)); st.Bytes != wantBytes {
		t.Errorf("Stats.Bytes = %d, want %d (bodies as received, not as stored)", st.Bytes, wantBytes)
	}
}

// TestLogDamagedBody checks that a row whose stored body does not decode
// fails the read with an error naming the record, rather than returning
// garbage or panicking.
func TestLogDamagedBody(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	l := openLog(t, path)
	if _, err := l.Append(ctx, []graph.Record{rec(eventBody(3000))}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`UPDATE event_log SET body = substr(body, 1, 40) WHERE log_offset = 1`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Read(ctx, 0, 10)
	if graph.ErrorCode(err) != graph.EINTERNAL || !strings.Contains(err.Error(), "log record 1") {
		t.Errorf("Read of a damaged body: %v, want EINTERNAL naming log record 1", err)
	}
}

// The event log's first layout (version 1), as builds before body
// compression created it.
var logV1 = []string{
	`CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`,
	`INSERT INTO schema_versions VALUES ('event log', 1)`,
	`CREATE TABLE event_log (
		log_offset INTEGER PRIMARY KEY,
		received   INTEGER NOT NULL,
		source     TEXT    NOT NULL,
		kind       TEXT    NOT NULL,
		sha256     TEXT    NOT NULL UNIQUE,
		producer   TEXT    NOT NULL,
		body       BLOB    NOT NULL
	)`,
	`CREATE TABLE event_log_stats (id INTEGER PRIMARY KEY CHECK (id = 1), records INTEGER NOT NULL, bytes INTEGER NOT NULL)`,
}

// TestLogUpgradesVersion1 checks that a log written before bodies were
// compressed opens, keeps every record as it was, and takes new ones
// compressed.
func TestLogUpgradesVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	old := eventBody(4000)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range logV1 {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	o := stored(1, old)
	if _, err := db.Exec(`INSERT INTO event_log VALUES (1, ?, ?, ?, ?, ?, ?)`,
		o.Received.UnixNano(), o.Source, o.Kind, o.SHA256, o.Producer, o.Body); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO event_log_stats VALUES (1, 1, ?)`, len(old)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	l := openLog(t, path)
	newer := eventBody(6000)
	res, err := l.Append(ctx, []graph.Record{rec(old), rec(newer)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]graph.AppendResult{{Offset: 1, Duplicate: true}, {Offset: 2}}, res); diff != "" {
		t.Errorf("Append after the upgrade (-want +got):\n%s", diff)
	}
	got, err := l.Read(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]graph.Record{o, stored(2, newer)}, got, cmp.Comparer(bytes.Equal)); diff != "" {
		t.Errorf("Read after the upgrade (-want +got):\n%s", diff)
	}
	rows := storedBodies(t, path)
	if rows[1] != [2]int{0, len(old)} || rows[2][0] != 1 {
		t.Errorf("stored (encoding, length) = %v; want the old row raw and the new one S2", rows)
	}
	if st, err := l.Stats(ctx); err != nil || st.Records != 2 || st.Bytes != int64(len(old)+len(newer)) {
		t.Errorf("Stats = %+v, %v; want 2 records of %d bytes", st, err, len(old)+len(newer))
	}
	if v := schemaVersion(t, path, "event log"); v != 2 {
		t.Errorf("recorded layout version %d after the upgrade, want 2", v)
	}
}

// TestLogRefusesUnknownOldVersion checks that a layout older than any
// upgrade this build knows is refused, and the file left untouched.
func TestLogRefusesUnknownOldVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range logV1 {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE schema_versions SET version = 0`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, err := sqlite.OpenLog(path)
	if err == nil {
		l.Close()
	}
	if graph.ErrorCode(err) != graph.ECONFLICT || !strings.Contains(err.Error(), "layout version 0") {
		t.Errorf("OpenLog of a version 0 file: %v, want ECONFLICT naming version 0", err)
	}
	if v := schemaVersion(t, path, "event log"); v != 0 {
		t.Errorf("recorded layout version %d after a refused open, want 0 (untouched)", v)
	}
}

func schemaVersion(t *testing.T, path, component string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`SELECT version FROM schema_versions WHERE component = ?`, component).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
