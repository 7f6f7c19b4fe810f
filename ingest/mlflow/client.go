package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ClientOptions configure a Client. The zero value is usable.
type ClientOptions struct {
	// HTTPClient sends the requests; nil means a client with a 5 minute
	// timeout per request.
	HTTPClient *http.Client
	// Token, when set, is sent as "Authorization: Bearer <Token>"
	// (Databricks and MLflow's auth app accept it).
	Token string
	// Username and Password, when set and Token is not, are sent as basic
	// auth. Credentials in the tracking URI are used when these are empty.
	Username, Password string
	// UserAgent is sent with every request; empty means "redthread".
	UserAgent string
	// Retries is how many times a request is repeated after a connection
	// error, a 429 or a 5xx answer: 0 means 3, a negative value none.
	Retries int
	// MaxResponseBytes bounds every response body read; 0 means 64 MiB.
	// A larger answer is an error, never truncated data.
	MaxResponseBytes int64
}

// Default values of ClientOptions.
const (
	DefaultRetries          = 3
	DefaultMaxResponseBytes = 64 << 20
)

// Client reads an MLflow tracking server and model registry through the
// REST API 2.0. It is safe for concurrent use. Every method only reads, so
// every request may be retried.
type Client struct {
	base     *url.URL // scheme, host and path prefix, no credentials
	uri      string   // base as a string, without a trailing slash
	http     *http.Client
	auth     func(*http.Request)
	agent    string
	retries  int
	maxBytes int64
	// backoff is the pause before retry n (1-based); tests shorten it.
	backoff func(n int, resp *http.Response) time.Duration
}

// NewClient returns a client of the MLflow server at trackingURI, an
// http or https URL such as "http://127.0.0.1:5000" or
// "https://host/mlflow" (a path prefix is kept).
func NewClient(trackingURI string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(trackingURI))
	if err != nil {
		return nil, fmt.Errorf("mlflow: tracking URI %q: %w", trackingURI, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("mlflow: tracking URI %q: scheme must be http or https (file, sqlite and databricks URIs are not served over REST)", trackingURI)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("mlflow: tracking URI %q has no host", trackingURI)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("mlflow: tracking URI %q: a query or fragment is not allowed", trackingURI)
	}
	user, pass := opts.Username, opts.Password
	if u.User != nil && user == "" && pass == "" {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	u.User = nil
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{
		base:     u,
		uri:      u.String(),
		http:     opts.HTTPClient,
		agent:    opts.UserAgent,
		retries:  opts.Retries,
		maxBytes: opts.MaxResponseBytes,
		backoff:  defaultBackoff,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 5 * time.Minute}
	}
	if c.agent == "" {
		c.agent = "redthread"
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxResponseBytes
	}
	switch {
	case opts.Token != "":
		token := opts.Token
		c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
	case user != "" || pass != "":
		c.auth = func(r *http.Request) { r.SetBasicAuth(user, pass) }
	}
	return c, nil
}

// TrackingURI returns the server's URI as observations carry it: the one
// given to NewClient without credentials or a trailing slash.
func (c *Client) TrackingURI() string { return c.uri }

// apiPath is the prefix of the tracking and registry endpoints.
const apiPath = "/api/2.0/mlflow/"

// getJSON sends GET <apiPath><endpoint>?query and decodes the answer.
func (c *Client) getJSON(ctx context.Context, endpoint string, query url.Values, out any) error {
	body, err := c.do(ctx, http.MethodGet, apiPath+endpoint, query, nil, c.maxBytes)
	if err != nil {
		return err
	}
	return decodeBody(http.MethodGet, apiPath+endpoint, body, out)
}

// postJSON sends POST <apiPath><endpoint> with in as JSON and decodes the
// answer.
func (c *Client) postJSON(ctx context.Context, endpoint string, in, out any) error {
	payload, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("mlflow: POST %s: %w", apiPath+endpoint, err)
	}
	body, err := c.do(ctx, http.MethodPost, apiPath+endpoint, nil, payload, c.maxBytes)
	if err != nil {
		return err
	}
	return decodeBody(http.MethodPost, apiPath+endpoint, body, out)
}

func decodeBody(method, path string, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("mlflow: %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// do sends one request to path (escaped, below the tracking URI),
// retrying it after connection errors, 429 and 5xx answers, and returns
// the body of a 2xx answer of at most limit bytes.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, payload []byte, limit int64) ([]byte, error) {
	u := *c.base
	unescaped, err := url.PathUnescape(path)
	if err != nil {
		return nil, fmt.Errorf("mlflow: %s %s: %w", method, path, err)
	}
	u.Path = c.base.Path + unescaped
	u.RawPath = c.base.EscapedPath() + path
	u.RawQuery = query.Encode()
	endpoint := method + " " + path
	var lastErr error
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("mlflow: %s: %w", endpoint, err)
		}
		body, resp, err := c.once(ctx, method, u.String(), endpoint, payload, limit)
		if err == nil {
			return body, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			// Canceled while the attempt was answered: say so, rather than
			// pass the answer off as the outcome.
			return nil, fmt.Errorf("mlflow: %s: %w (after: %v)", endpoint, ctx.Err(), lastErr)
		}
		if !retryable(err) || attempt >= c.retries {
			return nil, lastErr
		}
		wait := c.backoff(attempt+1, resp)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("mlflow: %s: %w (after: %v)", endpoint, ctx.Err(), lastErr)
		case <-t.C:
		}
	}
}

// once sends a single request. The response is returned, body closed,
// with an error so the caller can read Retry-After.
func (c *Client) once(ctx context.Context, method, rawURL, endpoint string, payload []byte, limit int64) ([]byte, *http.Response, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("mlflow: %s: %w", endpoint, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, &transportError{endpoint: endpoint, err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, resp, newAPIError(endpoint, resp)
	}
	if resp.ContentLength > limit {
		return nil, resp, &TooLargeError{Endpoint: endpoint, Limit: limit, Size: resp.ContentLength}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, resp, &transportError{endpoint: endpoint, err: err}
	}
	if int64(len(body)) > limit {
		return nil, resp, &TooLargeError{Endpoint: endpoint, Limit: limit, Size: -1}
	}
	return body, resp, nil
}

// retryable reports whether err may pass on a second try: a connection
// error that is not a cancellation, 429, or a 5xx answer.
func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return !errors.Is(te.err, context.Canceled) && !errors.Is(te.err, context.DeadlineExceeded)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status >= 500
	}
	return false
}

// defaultBackoff waits 200 ms, 400 ms, 800 ms … up to 5 s, or what the
// failed answer's Retry-After (in seconds) asks when that is under 30 s.
func defaultBackoff(n int, resp *http.Response) time.Duration {
	if resp != nil {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 && s < 30 {
			return time.Duration(s) * time.Second
		}
	}
	d := 200 * time.Millisecond << min(n-1, 5)
	return min(d, 5*time.Second)
}

// transportError is a request that got no HTTP answer.
type transportError struct {
	endpoint string
	err      error
}

func (e *transportError) Error() string { return fmt.Sprintf("mlflow: %s: %v", e.endpoint, e.err) }
func (e *transportError) Unwrap() error { return e.err }
