package gqlhandler

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzCheckRequest: checkRequest never panics, passes only bodies that
// decode as a JSON object whose query and operationName are strings or
// null and whose variables and extensions are objects or null, and
// refuses the rest with a message.
func FuzzCheckRequest(f *testing.F) {
	for _, s := range []string{
		`{"query":"{ counts { totalNodes } }"}`,
		`{"query":null,"variables":{"a":1},"extensions":{"persistedQuery":{}}}`,
		`{"query":5}`, `[]`, `null`, ` null`, `"s"`, `true`, `1`, ``, ` `, `{"variables":[1]}`, `{"query":"x"} {}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		field, msg := checkRequest(body)
		if msg == "" && field != "" {
			t.Fatalf("field %q without a message", field)
		}
		var req struct {
			Query         *string         `json:"query"`
			OperationName *string         `json:"operationName"`
			Variables     *map[string]any `json:"variables"`
			Extensions    *map[string]any `json:"extensions"`
		}
		err := json.Unmarshal(body, &req)
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); msg == "" && (err != nil || trimmed[0] != '{') {
			t.Fatalf("accepted %q, which does not decode as an object: %v", body, err)
		}
		if msg != "" && err == nil && len(body) > 0 && body[0] == '{' {
			t.Fatalf("refused %q (%s: %s), which decodes", body, field, msg)
		}
	})
}
