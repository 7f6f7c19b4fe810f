package graph

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NormalizeProps returns a copy of p in the one canonical form every Store
// returns, so that two stores (and a test's expectation) agree on what a
// property reads back as, whatever Go type the mapper used to write it:
//
//   - integers of any width, and floats or json.Numbers with an integral
//     value that fits, become int64; other numbers become float64;
//   - strings stay strings (invalid UTF-8 is replaced by U+FFFD, as JSON
//     encoding would do anyway), bools stay bools;
//   - a slice or array becomes []any of normalized scalars of one kind; a
//     list of numbers with any non-integral member becomes all float64,
//     so that a list keeps one type after a round trip through JSON;
//   - nil stays nil: in a mutation it means "remove this key".
//
// Anything else (maps, nested lists, nil inside a list, NaN, ±Inf, []byte,
// time.Time) is an EINVALID error naming the property: nested data belongs
// in Facets. A nil or empty p yields an empty, non-nil Props.
func NormalizeProps(p Props) (Props, error) {
	out := make(Props, len(p))
	for k, v := range p {
		nv, err := NormalizePropValue(v)
		if err != nil {
			return nil, FieldErrorf(EINVALID, "props."+k, "%s", ErrorMessage(err))
		}
		out[strings.ToValidUTF8(k, "\uFFFD")] = nv
	}
	return out, nil
}

// NormalizePropsShared is NormalizeProps for a caller that only reads the
// result. Props already in canonical form come back as they are, without a
// copy — as do typed []string, []bool and []int64 lists, which every store
// writes as the []any lists NormalizeProps would make of them. copied says
// whether the result is a new map the caller may modify. Mappers write
// canonical props, so a store's planning is spared a copy per mutation.
func NormalizePropsShared(p Props) (out Props, copied bool, err error) {
	if canonicalProps(p) {
		return p, false, nil
	}
	out, err = NormalizeProps(p)
	return out, true, err
}

// canonicalProps reports whether NormalizePropsShared may return p as is:
// keys valid UTF-8, values nil, what NormalizePropValue returns unchanged,
// or typed scalar lists.
func canonicalProps(p Props) bool {
	for k, v := range p {
		if !utf8.ValidString(k) || !canonicalValue(v) {
			return false
		}
	}
	return true
}

func canonicalValue(v any) bool {
	switch x := v.(type) {
	case nil, bool, int64, []bool, []int64:
		return true
	case string:
		return utf8.ValidString(x)
	case float64:
		// NormalizePropValue keeps a float only when it is finite and not
		// integral (or too large for int64).
		n, err := NormalizePropValue(x)
		_, isFloat := n.(float64)
		return err == nil && isFloat
	case []string:
		for _, s := range x {
			if !utf8.ValidString(s) {
				return false
			}
		}
		return true
	}
	return false
}

// NormalizePropValue normalizes one property value as NormalizeProps does.
// Its errors are *Error with code EINVALID.
func NormalizePropValue(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s, ok := normalizeScalar(v); ok {
		if f, isFloat := s.(float64); isFloat && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return nil, Errorf(EINVALID, "%v is not a storable number", f)
		}
		return s, nil
	}
	if list, ok := v.([]any); ok {
		return normalizeList(len(list), func(i int) any { return list[i] })
	}
	if _, isBytes := v.([]byte); isBytes {
		return nil, Errorf(EINVALID, "bytes are not a property type; use a string")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		return normalizeList(rv.Len(), func(i int) any { return rv.Index(i).Interface() })
	}
	return nil, Errorf(EINVALID, "a %T is not a property type (scalars or lists of scalars; nested data belongs in facets)", v)
}

// normalizeList normalizes the n elements that at returns into one []any of
// a single scalar kind.
func normalizeList(n int, at func(int) any) (any, error) {
	out := make([]any, n)
	kind := ""
	anyFloat := false
	for i := 0; i < n; i++ {
		e := at(i)
		s, ok := normalizeScalar(e)
		if !ok {
			if e == nil {
				return nil, Errorf(EINVALID, "list element %d is null", i)
			}
			return nil, Errorf(EINVALID, "list element %d: a %T is not a scalar (nested data belongs in facets)", i, e)
		}
		k := ""
		switch x := s.(type) {
		case string:
			k = "string"
		case bool:
			k = "bool"
		case int64:
			k = "number"
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, Errorf(EINVALID, "list element %d: %v is not a storable number", i, x)
			}
			k, anyFloat = "number", true
		}
		if kind != "" && k != kind {
			return nil, Errorf(EINVALID, "list mixes %ss and %ss; a list holds one scalar type", kind, k)
		}
		kind = k
		out[i] = s
	}
	if anyFloat {
		for i, e := range out {
			if n, ok := e.(int64); ok {
				out[i] = float64(n)
			}
		}
	}
	return out, nil
}

// normalizeScalar returns the canonical form of a scalar and true, or false
// when v is not a scalar. NaN and ±Inf are returned as float64 for the
// caller to reject.
func normalizeScalar(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return strings.ToValidUTF8(x, "\uFFFD"), true
		}
		return x, true
	case bool:
		return x, true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		return normalizeUint(uint64(x)), true
	case uint64:
		return normalizeUint(x), true
	case float64:
		return normalizeFloat(x), true
	case float32:
		return normalizeFloat(float64(x)), true
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, true
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !math.IsInf(f, 0) {
			return nil, false
		}
		return normalizeFloat(f), true
	}
	return nil, false
}

func normalizeUint(u uint64) any {
	if u > math.MaxInt64 {
		return float64(u)
	}
	return int64(u)
}

// normalizeFloat returns f as int64 when it is integral and fits: the
// JSON a store keeps cannot tell 3.0 from 3, so neither may the reader.
func normalizeFloat(f float64) any {
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return int64(f)
	}
	return f
}
