package mlflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// APIError is a non-2xx answer of the MLflow server. MLflow writes
// {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "…"}; an answer in
// another shape (a proxy's HTML page) keeps its status, an empty Code and
// a short excerpt as Message.
type APIError struct {
	Status   int    // HTTP status
	Code     string // MLflow's error_code, e.g. RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE
	Message  string
	Endpoint string // method and path, e.g. "GET /api/2.0/mlflow/runs/get"

	// missing marks answers that mean "not found" in another code (MLflow
	// answers 400 INVALID_PARAMETER_VALUE for an unknown alias).
	missing bool
}

// Error names the endpoint, the status, MLflow's code and its message.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mlflow: %s: HTTP %d", e.Endpoint, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// IsNotFound reports whether err says the MLflow object asked for does not
// exist (RESOURCE_DOES_NOT_EXIST, HTTP 404, or an unknown alias).
func IsNotFound(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	return e.missing || e.Code == "RESOURCE_DOES_NOT_EXIST" || e.Status == http.StatusNotFound
}

// TooLargeError is an answer larger than the limit the caller set.
type TooLargeError struct {
	Endpoint string
	Limit    int64
	Size     int64 // the announced Content-Length, or -1 when unknown
}

// Error names the endpoint and the limit.
func (e *TooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("mlflow: %s: answer of %d bytes exceeds the limit of %d bytes", e.Endpoint, e.Size, e.Limit)
	}
	return fmt.Sprintf("mlflow: %s: answer exceeds the limit of %d bytes", e.Endpoint, e.Limit)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// newAPIError reads an error answer into an APIError.
func newAPIError(endpoint string, resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode, Endpoint: endpoint}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var m struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && (m.Code != "" || m.Message != "") {
		e.Code, e.Message = m.Code, m.Message
		return e
	}
	e.Message = excerpt(body, resp.StatusCode)
	return e
}

// excerpt is a one-line, at most 200-byte summary of a non-JSON error
// body; HTML pages are replaced by the status text.
func excerpt(body []byte, status int) string {
	s := strings.TrimSpace(string(body))
	if s == "" || strings.HasPrefix(s, "<") || !utf8.ValidString(s) {
		return http.StatusText(status)
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
