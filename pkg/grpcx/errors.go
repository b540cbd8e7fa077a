package grpcx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/observability"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

var kindCodes = map[apperr.Kind]codes.Code{
	apperr.KindInvalidArgument:    codes.InvalidArgument,
	apperr.KindNotFound:           codes.NotFound,
	apperr.KindPermissionDenied:   codes.PermissionDenied,
	apperr.KindFailedPrecondition: codes.FailedPrecondition,
	apperr.KindAlreadyExists:      codes.AlreadyExists,
	apperr.KindUnauthenticated:    codes.Unauthenticated,
	apperr.KindUnavailable:        codes.Unavailable,
	apperr.KindResourceExhausted:  codes.ResourceExhausted,
}

// MaxViolations is the most field violations an answer lists; the rest are counted in one
// more. Status details travel in the HTTP/2 trailers: one per element of a long list made
// answers of megabytes from requests of kilobytes, past what a connection carries (the
// connection was torn down, for every call on it; the REST edge shares one).
const MaxViolations = 100

// ToStatus is the one place where errors become gRPC statuses. Typed errors keep their
// meaning (with field violations as google.rpc.BadRequest details and the object as
// ResourceInfo); so do domain errors of apperr's vocabulary (apperr.As recognises them, also
// wrapped, so no service translates its domain errors by hand); a transient PostgreSQL or NATS failure (pgxdb.IsTransient,
// natsx.IsTransient) is UNAVAILABLE, like a typed Unavailable error, with a google.rpc.RetryInfo
// detail, so standard retry policies retry it; statuses from peer services pass through except
// INTERNAL/UNKNOWN; anything else is masked as INTERNAL with the trace id, and logged in full.
func ToStatus(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := apperr.As(err); ok {
		st := status.New(kindCodes[e.Kind], e.Message)
		var details []any
		if len(e.Violations) > 0 {
			br := &errdetails.BadRequest{}
			violations := e.Violations
			if len(violations) > MaxViolations {
				// The fields themselves first, then the elements of lists, so that a long list
				// of bad elements does not hide another field's mistake.
				violations = slices.Clone(violations)
				element := func(v apperr.FieldViolation) int {
					if strings.Contains(v.Field, "[") {
						return 1
					}
					return 0
				}
				slices.SortStableFunc(violations, func(a, b apperr.FieldViolation) int { return cmp.Compare(element(a), element(b)) })
			}
			for i, v := range violations {
				if i == MaxViolations {
					br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: "request",
						Description: fmt.Sprintf("%d more violations not listed: correct the ones above and send it again", len(violations)-MaxViolations)})
					break
				}
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
			}
			details = append(details, br)
		}
		if e.Kind == apperr.KindUnavailable {
			details = append(details, retryAdvice())
		}
		if e.Resource != "" {
			details = append(details, &errdetails.ResourceInfo{ResourceType: e.Resource, ResourceName: e.ID, Description: e.Message})
		}
		if len(details) > 0 {
			if ds, derr := withDetails(st, details); derr == nil {
				st = ds
			}
		}
		if e.Cause != nil {
			log.WarnContext(ctx, "request failed", "code", st.Code().String(), "error", e.Error())
		}
		return st.Err()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	if pgxdb.IsTransient(err) || natsx.IsTransient(err) {
		log.WarnContext(ctx, "dependency unavailable", "error", err.Error())
		st, derr := status.New(codes.Unavailable, "temporarily unavailable; retry (a change with the same idempotency key)").WithDetails(retryAdvice())
		if derr != nil {
			return status.Error(codes.Unavailable, "temporarily unavailable; retry (a change with the same idempotency key)")
		}
		return st.Err()
	}
	if pgxdb.IsUnstorableText(err) {
		log.WarnContext(ctx, "request refused by the database: text it cannot store", "error", err.Error())
		return ToStatus(ctx, log, apperr.Invalid("request", "contains a character that cannot be stored (NUL, or its JSON escape \\u0000)"))
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Internal && st.Code() != codes.Unknown {
		return err
	}
	traceID := observability.TraceID(ctx)
	log.ErrorContext(ctx, "internal error", "error", err.Error())
	return status.Error(codes.Internal, "internal error (trace id "+traceID+")")
}

// RetryDelay is the back-off advised to callers in the RetryInfo detail of UNAVAILABLE.
const RetryDelay = time.Second

func retryAdvice() *errdetails.RetryInfo {
	return &errdetails.RetryInfo{RetryDelay: durationpb.New(RetryDelay)}
}

func withDetails(st *status.Status, details []any) (*status.Status, error) {
	for _, d := range details {
		var err error
		switch v := d.(type) {
		case *errdetails.BadRequest:
			st, err = st.WithDetails(v)
		case *errdetails.ResourceInfo:
			st, err = st.WithDetails(v)
		case *errdetails.RetryInfo:
			st, err = st.WithDetails(v)
		}
		if err != nil {
			return nil, err
		}
	}
	return st, nil
}
