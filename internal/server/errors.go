package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/redthread/redthread/graph"
)

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Code    int    `json:"code"`            // HTTP status, as Marquez reports it
	Error   string `json:"error"`           // machine code: INVALID, TOO_LARGE, …
	Message string `json:"message"`         // what is wrong, for people
	Field   string `json:"field,omitempty"` // the offending field (JSON path or header), if known
}

func writeError(w http.ResponseWriter, status int, code, message, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorBody{Code: status, Error: code, Message: message, Field: field})
}

// statusOf maps a domain error code to its HTTP status, in one place.
func statusOf(code string) int {
	switch code {
	case graph.EINVALID:
		return http.StatusUnprocessableEntity
	case graph.ENOTFOUND:
		return http.StatusNotFound
	case graph.ECONFLICT:
		return http.StatusConflict
	case graph.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case graph.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case graph.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeDomainError writes err with its mapped status; internal errors show
// only "internal error".
func writeDomainError(w http.ResponseWriter, err error) {
	code := graph.ErrorCode(err)
	var msg string
	if code == graph.EINTERNAL {
		msg = "internal error"
	} else {
		msg = domainMessage(err)
	}
	writeError(w, statusOf(code), code, msg, graph.ErrorField(err))
}

// domainMessage is the caller-safe message without the field prefix (the
// field has its own member in the body).
func domainMessage(err error) string {
	var e *graph.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return graph.ErrorMessage(err)
}
