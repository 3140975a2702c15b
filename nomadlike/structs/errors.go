package structs

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors that callers match with errors.Is.
var (
	// ErrNotFound is returned when an object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNotLeader is returned by a server that cannot serve a write because it is not the leader.
	ErrNotLeader = errors.New("no cluster leader")
	// ErrPermissionDenied is returned when a token or node secret does not allow the request.
	ErrPermissionDenied = errors.New("permission denied")
)

// CodedError carries an HTTP status code with a message meant for the user.
// The HTTP layer maps it with errors.As; it never matches message text.
type CodedError struct {
	Code int
	Msg  string
	Err  error
}

func (e *CodedError) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *CodedError) Unwrap() error { return e.Err }

// NewBadRequest returns a 400 error with a formatted message.
func NewBadRequest(format string, args ...any) error {
	return &CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// NewNotFound returns a 404 error naming what was not found; it matches ErrNotFound.
func NewNotFound(format string, args ...any) error {
	return &CodedError{Code: http.StatusNotFound, Msg: fmt.Sprintf(format, args...), Err: ErrNotFound}
}

// NewConflict returns a 409 error with a formatted message.
func NewConflict(format string, args ...any) error {
	return &CodedError{Code: http.StatusConflict, Msg: fmt.Sprintf(format, args...)}
}

// ValidationError collects every problem found in an object, each naming the
// field it is about (for example "TaskGroups[0].Tasks[1].Driver").
type ValidationError struct {
	Problems []FieldError
}

// FieldError is one validation problem.
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) String() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	if len(parts) == 1 {
		return "invalid: " + parts[0]
	}
	return fmt.Sprintf("%d problems:\n  * %s", len(parts), strings.Join(parts, "\n  * "))
}

// add records a problem at field.
func (e *ValidationError) add(field, format string, args ...any) {
	e.Problems = append(e.Problems, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// merge prefixes the problems of other with prefix and appends them.
func (e *ValidationError) merge(prefix string, other error) {
	if other == nil {
		return
	}
	var ve *ValidationError
	if errors.As(other, &ve) {
		for _, p := range ve.Problems {
			f := prefix
			if prefix == "" {
				f = p.Field
			} else if p.Field != "" {
				f = prefix + "." + p.Field
			}
			e.Problems = append(e.Problems, FieldError{Field: f, Msg: p.Msg})
		}
		return
	}
	e.add(prefix, "%v", other)
}

// err returns nil when there are no problems.
func (e *ValidationError) err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}
