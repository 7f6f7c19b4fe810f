package mlflowtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// rest writes to an MLflow server. It is deliberately separate from the
// mlflow package's read-only Client, so the seed does not depend on the
// code under test.
type rest struct {
	base string // tracking URI without a trailing slash
	http *http.Client
}

func newREST(trackingURI string) *rest {
	return &rest{base: strings.TrimRight(trackingURI, "/"), http: &http.Client{Timeout: time.Minute}}
}

// restError is an MLflow error answer.
type restError struct {
	status  int
	code    string
	message string
	call    string
}

func (e *restError) Error() string {
	return fmt.Sprintf("mlflowtest: %s: HTTP %d %s: %s", e.call, e.status, e.code, e.message)
}

// call sends method to /api/2.0/mlflow/<endpoint> with in as JSON (nil:
// no body) and decodes the answer into out (nil: discard).
func (r *rest) call(ctx context.Context, method, endpoint string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return r.send(ctx, method, "/api/2.0/mlflow/"+endpoint, "application/json", body, out)
}

// get sends GET /api/2.0/mlflow/<endpoint>?q.
func (r *rest) get(ctx context.Context, endpoint string, q url.Values, out any) error {
	return r.send(ctx, http.MethodGet, "/api/2.0/mlflow/"+endpoint+"?"+q.Encode(), "", nil, out)
}

// upload stores data as artifact p of a run through the proxied artifact
// service (the server must run with --serve-artifacts).
func (r *rest) upload(ctx context.Context, experimentID, runID, p string, data []byte) error {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	path := fmt.Sprintf("/api/2.0/mlflow-artifacts/artifacts/%s/%s/artifacts/%s", url.PathEscape(experimentID), url.PathEscape(runID), strings.Join(segs, "/"))
	return r.send(ctx, http.MethodPut, path, "application/octet-stream", bytes.NewReader(data), nil)
}

func (r *rest) send(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("mlflowtest: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("mlflowtest: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &restError{status: resp.StatusCode, call: method + " " + path}
		var m struct {
			Code    string `json:"error_code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &m) == nil {
			e.code, e.message = m.Code, m.Message
		} else {
			e.message = strings.TrimSpace(string(data))
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("mlflowtest: %s %s: decoding %q: %w", method, path, data, err)
	}
	return nil
}

// tag is MLflow's key/value pair.
type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// tagList turns a map into MLflow's tag list, sorted by key.
func tagList(m map[string]string) []tag {
	out := make([]tag, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, tag{k, m[k]})
	}
	return out
}

// metric is one entry of runs/log-batch's metrics.
type metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
}

// metricList turns a map into MLflow's metric list, sorted by key and
// logged at time at.
func metricList(m map[string]float64, at time.Time) []metric {
	var out []metric
	for _, k := range sortedKeys(m) {
		out = append(out, metric{k, m[k], at.UnixMilli(), 0})
	}
	return out
}
