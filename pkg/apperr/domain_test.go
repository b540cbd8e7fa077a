package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
)

type (
	violation  struct{ field string }
	refusal    struct{}
	wrongSide  struct{}
	unknown    struct{}
	duplicated struct{}
)

func (violation) Error() string                     { return "rule broken" }
func (v violation) RuleViolation() (string, string) { return v.field, "must be set" }
func (refusal) Error() string                       { return "cannot go from A to B" }
func (refusal) ForbiddenTransition()                {}
func (wrongSide) Error() string                     { return "belongs to the other side" }
func (wrongSide) Forbidden()                        {}
func (unknown) Error() string                       { return "no such goal" }
func (unknown) NotFound() (resource, id string)     { return "goal", "g-1" }
func (duplicated) Error() string                    { return "already re-routed" }
func (duplicated) Conflict() (resource, id string)  { return "referral", "r-1" }

// TestAsRecognisesTheDomainVocabulary: As and IsKind see a domain error's kind through any
// wrapping, so application code that asks IsKind (a consumer deciding whether to retry, a
// lookup tolerating NOT_FOUND) needs no translated error either.
func TestAsRecognisesTheDomainVocabulary(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want apperr.Error
	}{
		{violation{"reason"}, apperr.Error{Kind: apperr.KindInvalidArgument, Message: "invalid request",
			Violations: []apperr.FieldViolation{{Field: "reason", Description: "must be set"}}}},
		{violation{}, apperr.Error{Kind: apperr.KindFailedPrecondition, Message: "rule broken"}},
		{refusal{}, apperr.Error{Kind: apperr.KindFailedPrecondition, Message: "cannot go from A to B"}},
		{wrongSide{}, apperr.Error{Kind: apperr.KindPermissionDenied, Message: "belongs to the other side"}},
		{unknown{}, apperr.Error{Kind: apperr.KindNotFound, Message: "goal not found", Resource: "goal", ID: "g-1"}},
		{duplicated{}, apperr.Error{Kind: apperr.KindAlreadyExists, Message: "already re-routed", Resource: "referral", ID: "r-1"}},
	} {
		for _, err := range []error{tc.err, fmt.Errorf("ctx: %w", tc.err), errors.Join(errors.New("other"), tc.err)} {
			e, ok := apperr.As(err)
			if !ok || e.Kind != tc.want.Kind || e.Message != tc.want.Message || e.Resource != tc.want.Resource || e.ID != tc.want.ID ||
				fmt.Sprint(e.Violations) != fmt.Sprint(tc.want.Violations) || e.Cause != nil {
				t.Errorf("%v: got %+v %v, want %+v", err, e, ok, tc.want)
			}
			if !apperr.IsKind(err, tc.want.Kind) {
				t.Errorf("%v: IsKind(%d) is false", err, tc.want.Kind)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%v: the domain error must stay in the chain", err)
			}
		}
	}
	if _, ok := apperr.As(errors.New("plain")); ok {
		t.Fatal("a plain error is not typed")
	}
	if _, ok := apperr.As(nil); ok {
		t.Fatal("nil is not typed")
	}
}
