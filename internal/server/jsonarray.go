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
// jsonscan.Elements checks the body and finds its elements in one pass.
func splitArray(body []byte) ([][]byte, error) {
	items, ok := jsonscan.Elements(body)
	if !ok {
		return nil, errors.New(syntaxError(body))
	}
	if body[skipSpace(body, 0)] != '[' { // valid JSON is never all whitespace
		return nil, errNotArray
	}
	return items, nil
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
