package sqlite

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/redthread/redthread/graph"
)

// Times are stored as integer nanoseconds since the Unix epoch, UTC
// (graph.UnixNanos), so that min/max merges and as-of filters are integer
// comparisons. A zero time.Time means "not known" and is stored as NULL: an
// event without a time must neither pull FirstSeen back to year 1 nor hide
// a node from every as-of query.

// timeToNanos returns t as nanoseconds, NULL (nil) for the zero time.
func timeToNanos(t time.Time) any {
	if n, ok := graph.UnixNanos(t); ok {
		return n
	}
	return nil
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

// encodeProps encodes normalized props into a JSON object twice: patch
// with nil values as JSON null, which json_patch reads as "remove this
// key", and insert without them, what a new row stores. Members are in key
// order, so the same props always encode the same.
//
// Normalized props are flat (scalars and lists of scalars), which
// appendJSONValue writes directly, several times faster than encoding/json.
func encodeProps(p graph.Props) (patch, insert string, err error) {
	if len(p) == 0 {
		return "{}", "{}", nil
	}
	keys := make([]string, 0, len(p))
	nulls := false
	for k, v := range p {
		keys = append(keys, k)
		nulls = nulls || v == nil
	}
	slices.Sort(keys)
	encode := func(skipNulls bool) (string, error) {
		b := make([]byte, 0, 16*len(keys)+16)
		b = append(b, '{')
		first := true
		for _, k := range keys {
			v := p[k]
			if v == nil && skipNulls {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, k)
			b = append(b, ':')
			var ok bool
			if b, ok = appendJSONValue(b, v, true); !ok {
				return "", graph.Errorf(graph.EINVALID, "props are not encodable as JSON: %s holds a %T", k, v)
			}
		}
		return string(append(b, '}')), nil
	}
	if patch, err = encode(false); err != nil {
		return "", "", err
	}
	insert = patch
	if nulls {
		insert, _ = encode(true)
	}
	return patch, insert, nil
}

// appendJSONValue appends a normalized property value (or nil, as null),
// reporting false for anything else. A list may hold scalars only.
func appendJSONValue(b []byte, v any, list bool) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return appendJSONString(b, x), true
	case bool:
		return strconv.AppendBool(b, x), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return b, false
		}
		// The shortest text that reads back as the same float64; JSON
		// admits its exponent form ("1e+300").
		return strconv.AppendFloat(b, x, 'g', -1, 64), true
	case []any:
		if !list {
			return b, false
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if e == nil {
				return b, false
			}
			var ok bool
			if b, ok = appendJSONValue(b, e, false); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case []string: // canonical props keep the mapper's typed lists (graph.NormalizePropsShared)
		return appendJSONList(b, x, list, appendJSONString)
	case []bool:
		return appendJSONList(b, x, list, strconv.AppendBool)
	case []int64:
		return appendJSONList(b, x, list, func(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) })
	}
	return b, false
}

// appendJSONList appends a typed list of scalars as appendJSONValue does
// the same list as []any.
func appendJSONList[T any](b []byte, xs []T, list bool, appendOne func([]byte, T) []byte) ([]byte, bool) {
	if !list {
		return b, false
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOne(b, x)
	}
	return append(b, ']'), true
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 is replaced by
// U+FFFD, as encoding/json does; '<', '>' and '&' are kept as they are.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeProps decodes a stored JSON object into normalized Props. What is
// stored is always the flat object encodeProps wrote, merged by json_patch,
// which scanFlat reads several times faster than encoding/json; anything
// else it cannot read goes through encoding/json.
func decodeProps(s string) (graph.Props, error) {
	if s == "{}" || s == "" {
		return graph.Props{}, nil
	}
	p := graph.Props{}
	if scanFlat(s, func(k string, v any) bool {
		nv, err := graph.NormalizePropValue(v)
		p[k] = nv
		return err == nil
	}) {
		return p, nil
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
// for storage, in name order.
func encodeFacets(f map[string]string) (string, error) {
	if len(f) == 0 {
		return "{}", nil
	}
	names := make([]string, 0, len(f))
	n := 2
	for name, text := range f {
		names = append(names, name)
		n += len(name) + len(text) + 8
	}
	slices.Sort(names)
	b := make([]byte, 0, n+n/8)
	b = append(b, '{')
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = appendJSONString(b, f[name])
	}
	return string(append(b, '}')), nil
}

// decodeFacets is the inverse of encodeFacets.
func decodeFacets(s string) (graph.Facets, error) {
	if s == "{}" || s == "" {
		return graph.Facets{}, nil
	}
	f := graph.Facets{}
	if scanFlat(s, func(name string, v any) bool {
		text, ok := v.(string)
		f[name] = json.RawMessage(text)
		return ok
	}) {
		return f, nil
	}
	var wrapped map[string]string
	if err := json.Unmarshal([]byte(s), &wrapped); err != nil {
		return nil, fmt.Errorf("decode facets: %w", err)
	}
	f = make(graph.Facets, len(wrapped))
	for name, raw := range wrapped {
		f[name] = json.RawMessage(raw)
	}
	return f, nil
}

// scanFlat reads a JSON object whose values are strings, numbers
// (as json.Number), booleans or lists of those, calling put for each
// member in order. It reports false, having maybe called put for some
// members, if s is anything else or put does.
func scanFlat(s string, put func(key string, v any) bool) bool {
	if !utf8.ValidString(s) { // encoding/json would replace bad bytes; let it
		return false
	}
	sc := flatScanner{s: s}
	if !sc.byte('{') {
		return false
	}
	if sc.byte('}') {
		return sc.end()
	}
	for {
		key, ok := sc.str()
		if !ok || !sc.byte(':') {
			return false
		}
		v, ok := sc.value(true)
		if !ok || !put(key, v) {
			return false
		}
		if sc.byte(',') {
			continue
		}
		return sc.byte('}') && sc.end()
	}
}

// flatScanner is the cursor of scanFlat.
type flatScanner struct {
	s string
	i int
}

func (sc *flatScanner) space() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// byte consumes c (after white space) if it is next.
func (sc *flatScanner) byte(c byte) bool {
	sc.space()
	if sc.i < len(sc.s) && sc.s[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

func (sc *flatScanner) end() bool {
	sc.space()
	return sc.i == len(sc.s)
}

// str reads a JSON string. One without escapes is sliced from s with no
// copy. Facets, JSON inside a JSON string, always have escapes.
func (sc *flatScanner) str() (string, bool) {
	sc.space()
	if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
		return "", false
	}
	start := sc.i + 1
	escaped := false
	for j := start; j < len(sc.s); j++ {
		switch c := sc.s[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			sc.i = j + 1
			if !escaped {
				return sc.s[start:j], true
			}
			return unescapeJSON(sc.s[start:j])
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// value reads a scalar, or a list of scalars when list is allowed.
func (sc *flatScanner) value(list bool) (any, bool) {
	sc.space()
	if sc.i >= len(sc.s) {
		return nil, false
	}
	switch c := sc.s[sc.i]; {
	case c == '"':
		return sc.str()
	case c == 't' && strings.HasPrefix(sc.s[sc.i:], "true"):
		sc.i += 4
		return true, true
	case c == 'f' && strings.HasPrefix(sc.s[sc.i:], "false"):
		sc.i += 5
		return false, true
	case c == '-' || '0' <= c && c <= '9':
		start := sc.i
		for sc.i < len(sc.s) && strings.IndexByte("+-.eE0123456789", sc.s[sc.i]) >= 0 {
			sc.i++
		}
		return json.Number(sc.s[start:sc.i]), true
	case c == '[' && list:
		sc.i++
		out := []any{}
		if sc.byte(']') {
			return out, true
		}
		for {
			v, ok := sc.value(false)
			if !ok {
				return nil, false
			}
			out = append(out, v)
			if sc.byte(',') {
				continue
			}
			return out, sc.byte(']')
		}
	}
	return nil, false
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

// jsonInts encodes ids as a JSON array for json_each, as jsonList does
// strings.
func jsonInts(ids []int64) string {
	b := make([]byte, 0, 2+8*len(ids))
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// unescapeJSON decodes the escapes of the body of a JSON string (between
// its quotes), as RFC 8259 §7 defines them; a lone surrogate becomes
// U+FFFD, as encoding/json does.
func unescapeJSON(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '"', '\\', '/':
			b.WriteByte(s[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s, i+3); ok && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						b.WriteRune(d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return b.String(), true
}

// hex4 reads the four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i:i+4], 16, 16)
	return rune(n), err == nil
}
