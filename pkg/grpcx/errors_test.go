package grpcx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain errors as a service's domain package writes them: standard library only, each with
// one method of apperr's vocabulary.
type (
	ruleErr   struct{ field, reason string }
	stateErr  struct{ from, to string }
	sideErr   struct{}
	goneErr   struct{ id string }
	replayErr struct{ id string }
)

func (e ruleErr) Error() string                         { return strings.TrimPrefix(e.field+": "+e.reason, ": ") }
func (e ruleErr) RuleViolation() (field, reason string) { return e.field, e.reason }
func (e *stateErr) Error() string                       { return "a case cannot go from " + e.from + " to " + e.to }
func (*stateErr) ForbiddenTransition()                  {}
func (sideErr) Error() string                           { return "this transition belongs to the other side" }
func (sideErr) Forbidden()                              {}
func (e goneErr) Error() string                         { return "goal " + e.id + " is not a goal of the plan" }
func (e goneErr) NotFound() (resource, id string)       { return "goal", e.id }
func (e replayErr) Error() string                       { return "referral " + e.id + " has already been re-routed" }
func (e replayErr) Conflict() (resource, id string)     { return "referral", e.id }

// Compile-time: the test types speak the vocabulary.
var (
	_ apperr.RuleViolation       = ruleErr{}
	_ apperr.ForbiddenTransition = (*stateErr)(nil)
	_ apperr.Forbidden           = sideErr{}
	_ apperr.Missing             = goneErr{}
	_ apperr.Conflict            = replayErr{}
)

// TestDomainVocabularyMapsToCodes: every kind of domain error becomes its status code with
// its message, field or resource at the one edge mapping, also wrapped by fmt.Errorf or
// errors.Join; nothing from the wrapping reaches the caller.
func TestDomainVocabularyMapsToCodes(t *testing.T) {
	type want struct {
		code     codes.Code
		message  string
		field    string // BadRequest field violation
		reason   string
		resource string // ResourceInfo
		id       string
	}
	kinds := []struct {
		name string
		err  error
		want want
	}{
		{"rule violation", ruleErr{"valid_to", "must not be in the past"},
			want{code: codes.InvalidArgument, message: "invalid request", field: "valid_to", reason: "must not be in the past"}},
		{"rule violation without a field", ruleErr{"", "has already ended"},
			want{code: codes.FailedPrecondition, message: "has already ended"}},
		{"forbidden transition", &stateErr{"CLOSED", "ACTIVE"},
			want{code: codes.FailedPrecondition, message: "a case cannot go from CLOSED to ACTIVE"}},
		{"forbidden", sideErr{},
			want{code: codes.PermissionDenied, message: "this transition belongs to the other side"}},
		{"not found", goneErr{"g-1"},
			want{code: codes.NotFound, message: "goal not found", resource: "goal", id: "g-1"}},
		{"conflict", replayErr{"r-1"},
			want{code: codes.AlreadyExists, message: "referral r-1 has already been re-routed", resource: "referral", id: "r-1"}},
	}
	for _, k := range kinds {
		for _, wrap := range []struct {
			name string
			err  error
		}{
			{"as is", k.err},
			{"wrapped", fmt.Errorf("store case c-1 (secret detail): %w", k.err)},
			{"wrapped twice", fmt.Errorf("outer: %w", fmt.Errorf("inner secret detail: %w", k.err))},
			{"joined", errors.Join(errors.New("secret detail"), k.err)},
		} {
			t.Run(k.name+"/"+wrap.name, func(t *testing.T) {
				st := status.Convert(grpcx.ToStatus(context.Background(), slog.New(slog.DiscardHandler), wrap.err))
				if st.Code() != k.want.code || st.Message() != k.want.message {
					t.Fatalf("got %s %q, want %s %q", st.Code(), st.Message(), k.want.code, k.want.message)
				}
				var br *errdetails.BadRequest
				var ri *errdetails.ResourceInfo
				for _, d := range st.Details() {
					switch v := d.(type) {
					case *errdetails.BadRequest:
						br = v
					case *errdetails.ResourceInfo:
						ri = v
					}
				}
				if k.want.field != "" {
					if br == nil || len(br.GetFieldViolations()) != 1 || br.GetFieldViolations()[0].GetField() != k.want.field ||
						br.GetFieldViolations()[0].GetDescription() != k.want.reason {
						t.Fatalf("field violation: %v", st.Details())
					}
				} else if br != nil {
					t.Fatalf("unexpected field violation: %v", br)
				}
				if k.want.resource != "" {
					if ri == nil || ri.GetResourceType() != k.want.resource || ri.GetResourceName() != k.want.id {
						t.Fatalf("resource info: %v", st.Details())
					}
				} else if ri != nil {
					t.Fatalf("unexpected resource info: %v", ri)
				}
			})
		}
	}
}

// TestTypedErrorWinsOverDomainError: an *apperr.Error chosen by the application is what the
// caller gets, even when it wraps a domain error.
func TestTypedErrorWinsOverDomainError(t *testing.T) {
	err := errors.Join(&stateErr{"A", "B"}, apperr.NotFound("case", "c-1"))
	if st := status.Convert(grpcx.ToStatus(context.Background(), slog.New(slog.DiscardHandler), err)); st.Code() != codes.NotFound {
		t.Fatalf("got %v", st)
	}
}

// TestUnrecognisedErrorIsMaskedInternal: a plain error (also one that wraps or resembles a
// domain error without its method) stays INTERNAL, and its text reaches only the log.
func TestUnrecognisedErrorIsMaskedInternal(t *testing.T) {
	for _, err := range []error{
		errors.New("secret detail"),
		fmt.Errorf("forbidden case transition: secret detail: %w", errors.New("a case cannot go from A to B")),
	} {
		var logs bytes.Buffer
		st := status.Convert(grpcx.ToStatus(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), err))
		if st.Code() != codes.Internal || strings.Contains(st.Message(), "secret detail") || len(st.Details()) != 0 {
			t.Fatalf("must be masked INTERNAL: %s %q %v", st.Code(), st.Message(), st.Details())
		}
		if !strings.Contains(logs.String(), "secret detail") {
			t.Fatalf("the log must keep the error: %s", logs.String())
		}
		if _, ok := apperr.As(err); ok {
			t.Fatalf("apperr.As must not recognise %v", err)
		}
	}
}

// Text PostgreSQL cannot store (a NUL, or its JSON escape in a jsonb value) that reached the
// database inside another value is the caller's mistake: INVALID_ARGUMENT, not INTERNAL.
func TestUnstorableTextIsInvalidArgument(t *testing.T) {
	for _, code := range []string{"22021", "22P05"} {
		err := fmt.Errorf("insert provision: %w", &pgconn.PgError{Code: code, Message: "invalid byte sequence"})
		st := status.Convert(grpcx.ToStatus(context.Background(), slog.New(slog.DiscardHandler), err))
		if st.Code() != codes.InvalidArgument || len(st.Details()) == 0 {
			t.Fatalf("SQLSTATE %s: got %s %q %v", code, st.Code(), st.Message(), st.Details())
		}
	}
	st := status.Convert(grpcx.ToStatus(context.Background(), slog.New(slog.DiscardHandler), &pgconn.PgError{Code: "22001"}))
	if st.Code() != codes.Internal {
		t.Fatalf("another data error stays INTERNAL: %s", st.Code())
	}
}

// A peer's NOT_FOUND keeps what the peer says it did not find (a provider, where the caller
// asked about an allocation); the adapter's resource is the fallback.
func TestPeerNotFoundKeepsThePeersResource(t *testing.T) {
	st, err := status.New(codes.NotFound, "provider not found").WithDetails(&errdetails.ResourceInfo{ResourceType: "provider", ResourceName: "99999999"})
	if err != nil {
		t.Fatal(err)
	}
	e, ok := apperr.As(grpcx.PeerError("provider-monitoring", "allocation", st.Err()))
	if !ok || e.Kind != apperr.KindNotFound || e.Resource != "provider" || e.ID != "99999999" {
		t.Fatalf("got %+v", e)
	}
	e, _ = apperr.As(grpcx.PeerError("provider-monitoring", "allocation", status.Error(codes.NotFound, "gone")))
	if e == nil || e.Resource != "allocation" {
		t.Fatalf("without ResourceInfo: %+v", e)
	}
}
