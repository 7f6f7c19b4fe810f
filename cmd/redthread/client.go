package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient talks to a running Redthread over HTTP.
type apiClient struct {
	base   string
	apiKey string
	http   *http.Client
}

func newAPIClient(base, apiKey string) *apiClient {
	return &apiClient{
		base:   strings.TrimRight(base, "/"),
		apiKey: apiKey,
		http:   &http.Client{Timeout: 2 * time.Minute},
	}
}

// do sends a request and returns the status and body; transport failures
// are explained with the URL so a server that is not running is obvious.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, hdr map[string]string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot reach Redthread at %s (is `redthread serve` running? set -url): %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	return resp.StatusCode, b, err
}

// graphQLError is one entry of a GraphQL "errors" list.
type graphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// graphql runs a query and decodes its data into out.
func (c *apiClient) graphql(ctx context.Context, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	status, b, err := c.do(ctx, http.MethodPost, "/graphql", body, nil)
	if err != nil {
		return err
	}
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []graphQLError  `json:"errors"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("GraphQL answered %d with a non-JSON body: %.200s", status, b)
	}
	if len(resp.Errors) > 0 {
		e := resp.Errors[0]
		if code, ok := e.Extensions["code"].(string); ok {
			return fmt.Errorf("%s: %s", code, e.Message)
		}
		return fmt.Errorf("%s", e.Message)
	}
	return json.Unmarshal(resp.Data, out)
}
