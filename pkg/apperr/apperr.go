// Package apperr holds the typed errors that domain and application code return. They carry
// meaning (not found, invalid field, forbidden transition) but no transport: the gRPC edge
// maps them to status codes in one place (package grpcx), so a handler never picks a code.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error the way a caller needs to react to it.
type Kind int

// The kinds map one to one onto gRPC codes at the edge.
const (
	KindInvalidArgument Kind = iota + 1
	KindNotFound
	KindPermissionDenied
	KindFailedPrecondition
	KindAlreadyExists
	KindUnauthenticated
	KindUnavailable
	KindResourceExhausted
)

// FieldViolation names one request field and what is wrong with it.
type FieldViolation struct {
	Field       string
	Description string
}

// Error is a typed application error. Message must never contain personal data (no BSN,
// name or free text): it reaches callers and logs.
type Error struct {
	Kind       Kind
	Message    string
	Violations []FieldViolation
	// Resource and ID name the object for NOT_FOUND and ALREADY_EXISTS.
	Resource string
	ID       string
	// Cause is kept for logs only; it is never shown to callers.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "; %s: %s", v.Field, v.Description)
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, ": %v", e.Cause)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Cause }

// As returns the typed error inside err, if there is one: an *Error, or else a domain error
// that speaks the vocabulary below (RuleViolation, Forbidden, ForbiddenTransition, Missing,
// Conflict), turned into the *Error it stands for. An *Error anywhere in err wins over a
// domain error; err may wrap either (fmt.Errorf with %w, errors.Join).
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return fromDomain(err)
}

// IsKind reports whether err is a typed error of kind k.
func IsKind(err error, k Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == k
}

// Invalid reports one invalid request field.
func Invalid(field, description string) error {
	return &Error{Kind: KindInvalidArgument, Message: "invalid request",
		Violations: []FieldViolation{{Field: field, Description: description}}}
}

// NotFound reports that an object does not exist (or is not visible to the caller: BOLA
// checks may answer NOT_FOUND rather than confirm that someone else's id exists).
func NotFound(resource, id string) error {
	return &Error{Kind: KindNotFound, Message: resource + " not found", Resource: resource, ID: id}
}

// PermissionDenied reports that the caller may not do this.
func PermissionDenied(message string) error {
	return &Error{Kind: KindPermissionDenied, Message: message}
}

// FailedPrecondition reports a forbidden state transition or an unmet precondition.
func FailedPrecondition(message string) error {
	return &Error{Kind: KindFailedPrecondition, Message: message}
}

// AlreadyExists reports a conflicting existing object, naming it so the caller can use it.
func AlreadyExists(resource, id, message string) error {
	return &Error{Kind: KindAlreadyExists, Message: message, Resource: resource, ID: id}
}

// Unauthenticated reports a caller whose identity is missing or incomplete.
func Unauthenticated(message string) error {
	return &Error{Kind: KindUnauthenticated, Message: message}
}

// Unavailable reports a dependency that is temporarily unreachable; the call may be retried.
func Unavailable(message string, cause error) error {
	return &Error{Kind: KindUnavailable, Message: message, Cause: cause}
}

// Validation collects field violations so a caller learns about all of them at once.
type Validation struct{ violations []FieldViolation }

// Add records a violation.
func (v *Validation) Add(field, description string) {
	v.violations = append(v.violations, FieldViolation{Field: field, Description: description})
}

// Check records a violation when ok is false.
func (v *Validation) Check(ok bool, field, description string) {
	if !ok {
		v.Add(field, description)
	}
}

// Err returns nil when nothing was recorded, else an INVALID_ARGUMENT error.
func (v *Validation) Err() error {
	if len(v.violations) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalidArgument, Message: "invalid request", Violations: v.violations}
}
