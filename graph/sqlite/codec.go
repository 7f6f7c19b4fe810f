package sqlite

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/redthread/redthread/graph"
)

// Times are stored as integer nanoseconds since the Unix epoch, UTC, so
// that min/max merges and as-of filters are integer comparisons. A zero
// time.Time means "not known" and is stored as NULL: an event without a
// time must neither pull FirstSeen back to year 1 nor hide a node from
// every as-of query.
var (
	minStorableTime = time.Unix(0, math.MinInt64)
	maxStorableTime = time.Unix(0, math.MaxInt64)
)

// timeToNanos returns t as nanoseconds, NULL (nil) for the zero time. Times
// outside 1677–2262 (nanoseconds' range) are clamped: a producer's clock
// that far off is wrong either way, and clamping keeps the event.
func timeToNanos(t time.Time) any {
	switch {
	case t.IsZero():
		return nil
	case t.Before(minStorableTime):
		return int64(math.MinInt64)
	case t.After(maxStorableTime):
		return int64(math.MaxInt64)
	}
	return t.UnixNano()
}

// nanosToTime is the inverse of timeToNanos for a NOT NULL column.
func nanosToTime(n int64) time.Time { return time.Unix(0, n).UTC() }

// nullNanosToTime is the inverse of timeToNanos.
func nullNanosToTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return nanosToTime(n.Int64)
}

// offsetArg stores an unknown (zero) offset as NULL, for the same reason as
// times: min/max merges must skip it.
func offsetArg(o int64) any {
	if o == 0 {
		return nil
	}
	return o
}

// fold is the case folding of Search: key and name are stored folded, so a
// search is a substring test on both sides folded the same way, for every
// script, not only ASCII as SQLite's LIKE would do.
func fold(s string) string { return strings.ToLower(s) }

// encodeProps encodes normalized props (nil values included, as JSON null,
// which json_patch reads as "remove this key") into a JSON object.
func encodeProps(p graph.Props) (string, error) {
	if len(p) == 0 {
		return "{}", nil
	}
	b, err := marshalNoEscape(p)
	if err != nil {
		return "", graph.Errorf(graph.EINVALID, "props are not encodable as JSON: %v", err)
	}
	return string(b), nil
}

// decodeProps decodes a stored JSON object into normalized Props.
func decodeProps(s string) (graph.Props, error) {
	if s == "{}" || s == "" {
		return graph.Props{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode props: %w", err)
	}
	return graph.NormalizeProps(raw)
}

// Facets are stored as one JSON object mapping each facet name to a JSON
// string holding the facet's text exactly as given. Strings, unlike
// objects, are replaced whole by json_patch, which is what a facet update
// must do; and the text inside stays verbatim (json_patch would otherwise
// drop the nulls nested in a facet and reformat it).

// encodeFacets encodes facets (name → verbatim JSON, already validated)
// for storage.
func encodeFacets(f map[string]string) (string, error) {
	if len(f) == 0 {
		return "{}", nil
	}
	b, err := marshalNoEscape(f)
	if err != nil {
		return "", graph.Errorf(graph.EINVALID, "facets are not encodable as JSON: %v", err)
	}
	return string(b), nil
}

// decodeFacets is the inverse of encodeFacets.
func decodeFacets(s string) (graph.Facets, error) {
	if s == "{}" || s == "" {
		return graph.Facets{}, nil
	}
	var wrapped map[string]string
	if err := json.Unmarshal([]byte(s), &wrapped); err != nil {
		return nil, fmt.Errorf("decode facets: %w", err)
	}
	f := make(graph.Facets, len(wrapped))
	for name, raw := range wrapped {
		f[name] = json.RawMessage(raw)
	}
	return f, nil
}

// marshalNoEscape is json.Marshal without HTML escaping, which only makes
// stored text longer, and without the trailing newline of an Encoder.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// jsonList encodes keys (or labels, or types) as a JSON array for
// json_each, so that a set of any size is one bound parameter: no SQL text
// built from values and no SQLite variable limit.
func jsonList[S ~string](items []S) string {
	b, err := marshalNoEscape(items)
	if err != nil { // strings always encode; keep the compiler and vet content
		return "[]"
	}
	return string(b)
}
