package gqlmodel

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/redthread/redthread/graph"
)

// MarshalTime writes t as an RFC 3339 string in UTC, or null for the zero
// time, which the domain uses for "unknown".
func MarshalTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// ArgumentField is the field the scalars' unmarshalers give their errors:
// they cannot know which argument they read, and the GraphQL handler
// replaces it with the argument's name, the last element of the error's
// path.
const ArgumentField = "$argument"

// UnmarshalTime reads an RFC 3339 string (any offset, optional fractional
// seconds) or a plain date, which means midnight UTC. Anything else is an
// EINVALID error, so the caller sees a coded input error rather than an
// internal one.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, graph.FieldErrorf(graph.EINVALID, ArgumentField, "a Time must be an RFC 3339 string, got %T", v)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, graph.FieldErrorf(graph.EINVALID, ArgumentField, "%q is not an RFC 3339 time such as 2024-05-01T12:00:00Z", s)
}

// JSON is an encoded JSON value, written to the response as is.
type JSON json.RawMessage

// MarshalGQL writes the value, or null when it is empty.
func (j JSON) MarshalGQL(w io.Writer) {
	if len(j) == 0 {
		_, _ = io.WriteString(w, "null")
		return
	}
	_, _ = w.Write(j)
}

// UnmarshalGQL encodes any input value. The schema takes no JSON input
// today; this keeps the scalar usable as one.
func (j *JSON) UnmarshalGQL(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return graph.FieldErrorf(graph.EINVALID, ArgumentField, "not a JSON value: %v", err)
	}
	*j = b
	return nil
}

// PropsJSON encodes properties as a JSON object ("{}" when there are none).
// Non-finite floats, which JSON cannot hold, are written as the strings
// "NaN", "Infinity" and "-Infinity", so one odd value does not hide a node.
func PropsJSON(p graph.Props) (JSON, error) {
	if len(p) == 0 {
		return JSON("{}"), nil
	}
	b, err := json.Marshal(p)
	if err == nil {
		return b, nil
	}
	clean := make(map[string]any, len(p))
	for k, v := range p {
		clean[k] = finite(v)
	}
	b, err = json.Marshal(clean)
	if err != nil {
		return nil, fmt.Errorf("encode properties: %w", err)
	}
	return b, nil
}

// finite replaces non-finite floats, alone or in a list, by their names.
func finite(v any) any {
	name := func(f float64) any {
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return f
	}
	switch x := v.(type) {
	case float64:
		return name(x)
	case float32:
		return name(float64(x))
	case []float64:
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = name(f)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = finite(e)
		}
		return out
	}
	return v
}

// FacetsJSON encodes facets as a JSON object ("{}" when there are none).
// Each facet is compacted; one that is not valid JSON is an error.
func FacetsJSON(f graph.Facets) (JSON, error) {
	if len(f) == 0 {
		return JSON("{}"), nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode facets: %w", err)
	}
	return b, nil
}
