package graph

import (
	"errors"
	"fmt"
)

// Error codes. They are mapped once to HTTP statuses (internal/server) and
// to GraphQL extensions.code (resolvers).
const (
	EINVALID      = "INVALID"      // the input is malformed or violates a rule
	ENOTFOUND     = "NOT_FOUND"    // the named thing does not exist
	ECONFLICT     = "CONFLICT"     // the input contradicts what is recorded
	EUNAUTHORIZED = "UNAUTHORIZED" // missing or wrong credentials or signature
	ETOOLARGE     = "TOO_LARGE"    // the input exceeds a configured limit
	EUNAVAILABLE  = "UNAVAILABLE"  // a backing service is down; retry later
	EINTERNAL     = "INTERNAL"     // a bug or an unexpected failure; details are logged, not shown
)

// Error is a domain error with a code, a message meant for the caller, and
// optionally the input field it is about (a JSON path such as
// "run.runId" or "inputs[2].namespace").
type Error struct {
	Code    string
	Message string
	Field   string
	Err     error // the cause, for logs; never shown to callers
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *Error about one input field.
func FieldErrorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error: callers see "internal error", logs see err.
func Internal(err error) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// EINTERNAL for any other non-nil error, or "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the message of a
// domain error (with its field), or "internal error" for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the field of the first *Error in err's chain, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
