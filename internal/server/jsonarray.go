package server

import (
	"errors"

	"github.com/redthread/redthread/internal/jsonscan"
)

// errNotArray is splitArray's answer to valid JSON that is not an array.
var errNotArray = errors.New("not a JSON array")

// splitArray returns the elements of the JSON array in body as sub-slices
// of body, without copying them. It answers the message of syntaxError for
// malformed JSON, and errNotArray for valid JSON of another kind.
//
// Batch bodies are hundreds of kilobytes. Unmarshalling them into
// []json.RawMessage scanned every byte twice and copied each element;
// here jsonscan.Valid scans once, and the split only has to find the commas
// at depth one of text already known to be valid, where a quote opens a
// string that ends at the next unescaped quote.
func splitArray(body []byte) ([][]byte, error) {
	if !jsonscan.Valid(body) {
		return nil, errors.New(syntaxError(body))
	}
	i := skipSpace(body, 0)
	if body[i] != '[' {
		return nil, errNotArray
	}
	var items [][]byte
	depth, start := 0, -1
	for ; i < len(body); i++ {
		switch c := body[i]; c {
		case '"':
			if start < 0 {
				start = i
			}
			for i++; body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++ // the escaped byte cannot end the string
				}
			}
		case '[', '{':
			depth++
			if depth == 2 && start < 0 {
				start = i
			}
		case ']', '}':
			depth--
			if depth == 0 { // the array's own bracket: valid JSON ends here
				if start >= 0 {
					items = append(items, trimSpaceRight(body[start:i]))
				}
				return items, nil
			}
		case ',':
			if depth == 1 {
				items = append(items, trimSpaceRight(body[start:i]))
				start = -1
			}
		case ' ', '\t', '\n', '\r':
		default: // the first byte of a number or a literal at depth one
			if start < 0 {
				start = i
			}
		}
	}
	return items, nil // unreachable for valid JSON
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// trimSpaceRight drops the JSON whitespace at the end of b.
func trimSpaceRight(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
