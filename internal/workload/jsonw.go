package workload

import (
	"encoding/hex"
	"strconv"
	"time"
)

// Events are written by appending to a byte slice rather than through
// encoding/json: the field order is fixed (so output is byte-stable), the
// static parts of an event are rendered once per plan, and generation stays
// far from being the bottleneck of an ingest benchmark.

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendKey appends "key": (with a leading comma unless first).
func appendKey(b []byte, key string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = appendString(b, key)
	return append(b, ':')
}

// appendStringField appends "key":"value".
func appendStringField(b []byte, key, value string, first bool) []byte {
	return appendString(appendKey(b, key, first), value)
}

// appendIntField appends "key":n.
func appendIntField(b []byte, key string, n int64, first bool) []byte {
	return strconv.AppendInt(appendKey(b, key, first), n, 10)
}

// appendBoolField appends "key":true|false.
func appendBoolField(b []byte, key string, v bool, first bool) []byte {
	return strconv.AppendBool(appendKey(b, key, first), v)
}

// timeLayout is RFC 3339 with milliseconds, as OpenLineage clients write it.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// appendTime appends t (UTC, milliseconds) as a JSON string.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"')
}

// appendTimeField appends "key":"time".
func appendTimeField(b []byte, key string, t time.Time, first bool) []byte {
	return appendTime(appendKey(b, key, first), t)
}

// uuid is a 16-byte UUID.
type uuid [16]byte

// String returns u in the dashed 8-4-4-4-12 form.
func (u uuid) String() string { return string(u.appendTo(nil)) }

// appendTo appends u in the dashed form (no quotes).
func (u uuid) appendTo(b []byte) []byte {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], u[10:16])
	return append(b, s[:]...)
}

// hex32 returns u as 32 hex digits, the form MLflow writes run ids in.
func (u uuid) hex32() string { return hex.EncodeToString(u[:]) }

// facetHead appends `"name":{"_producer":…,"_schemaURL":…` (the facet's
// object is left open).
func facetHead(b []byte, name, producer, schemaURL string, first bool) []byte {
	b = appendKey(b, name, first)
	b = append(b, '{')
	b = appendStringField(b, "_producer", producer, true)
	return appendStringField(b, "_schemaURL", schemaURL, false)
}
