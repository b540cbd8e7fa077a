package apperr

import "errors"

// The domain error vocabulary. A service's domain packages import only the standard library,
// so they cannot return an *Error; instead each domain error type has one of the methods
// below, and As (so IsKind, and the gRPC edge) recognises it wherever it is in the chain. No
// application code translates domain errors by hand: a domain error that reaches the edge
// keeps its meaning even if nobody remembered it. The interfaces are here for reference and
// for compile-time checks (var _ apperr.ForbiddenTransition = …) outside the domain.
//
// Messages come from the domain error's own Error() (or, for Missing, from its resource), never
// from what wraps it, so nothing from an outer error reaches the caller. They must hold no
// personal data, like every Message.

// RuleViolation is a broken rule about the content of a request: INVALID_ARGUMENT with
// field and reason as a field violation. A rule about no request field (field "") is about
// the state of the object instead: FAILED_PRECONDITION with the error's message.
type RuleViolation interface {
	error
	RuleViolation() (field, reason string)
}

// ForbiddenTransition is a change the object's state does not allow (a forbidden transition,
// an action its status rules out, an unmet precondition): FAILED_PRECONDITION with the error's
// message, which names the states involved.
type ForbiddenTransition interface {
	error
	ForbiddenTransition()
}

// Forbidden is a change the caller may not make whatever the state (e.g. the other side's
// transition of a referral): PERMISSION_DENIED with the error's message.
type Forbidden interface {
	error
	Forbidden()
}

// Missing is an object the request names that does not exist: NOT_FOUND naming resource and
// id, with the same message NotFound gives, so the answer does not differ from that for an
// id nobody knows.
type Missing interface {
	error
	NotFound() (resource, id string)
}

// Conflict is an object that already exists and stands in the way (e.g. a referral already
// re-routed): ALREADY_EXISTS naming that object, so the caller can use it, with the error's
// message.
type Conflict interface {
	error
	Conflict() (resource, id string)
}

// fromDomain is the one place that reads the vocabulary. The kinds are tried in a fixed
// order, so an error that joins several gets the same answer every time.
func fromDomain(err error) (*Error, bool) {
	if err == nil {
		return nil, false
	}
	var (
		rv RuleViolation
		fb Forbidden
		ft ForbiddenTransition
		ms Missing
		cf Conflict
	)
	switch {
	case errors.As(err, &rv):
		if field, _ := rv.RuleViolation(); field != "" {
			// Every field a joined error names (errors.Join of several rule violations).
			return &Error{Kind: KindInvalidArgument, Message: "invalid request", Violations: fieldViolations(err, nil)}, true
		}
		return &Error{Kind: KindFailedPrecondition, Message: rv.Error()}, true
	case errors.As(err, &fb):
		return &Error{Kind: KindPermissionDenied, Message: fb.Error()}, true
	case errors.As(err, &ft):
		return &Error{Kind: KindFailedPrecondition, Message: ft.Error()}, true
	case errors.As(err, &ms):
		resource, id := ms.NotFound()
		return NotFound(resource, id).(*Error), true
	case errors.As(err, &cf):
		resource, id := cf.Conflict()
		return &Error{Kind: KindAlreadyExists, Message: cf.Error(), Resource: resource, ID: id}, true
	}
	return nil, false
}

// fieldViolations collects the rule violations with a field in err's tree (wrapped and
// joined errors), in order.
func fieldViolations(err error, out []FieldViolation) []FieldViolation {
	if rv, ok := err.(RuleViolation); ok {
		if field, reason := rv.RuleViolation(); field != "" {
			return append(out, FieldViolation{Field: field, Description: reason})
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = fieldViolations(e, out)
		}
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			out = fieldViolations(inner, out)
		}
	}
	return out
}
