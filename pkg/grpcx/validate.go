package grpcx

import (
	"context"
	"errors"

	"buf.build/go/protovalidate"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// validateUnary enforces the field rules declared in the protos (protovalidate: required
// fields, formats, lengths, ranges, enum membership, repeated-field limits). Every broken rule
// becomes one field violation of a single INVALID_ARGUMENT, so the caller sees all of them at
// once. Rules a schema cannot state (the BSN 11-proef, rules across fields) stay in the
// handlers' request checks.
func validateUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if err := validationError(v.Validate(m)); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// validationError turns a protovalidate result into a typed error: broken rules are
// INVALID_ARGUMENT; a rule that cannot be evaluated is a server fault (masked as INTERNAL).
func validationError(err error) error {
	if err == nil {
		return nil
	}
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := &apperr.Error{Kind: apperr.KindInvalidArgument, Message: "invalid request"}
	for _, v := range ve.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		if field == "" {
			field = "request"
		}
		msg := v.Proto.GetMessage()
		if msg == "" {
			msg = v.Proto.GetRuleId()
		}
		out.Violations = append(out.Violations, apperr.FieldViolation{Field: field, Description: msg})
	}
	return out
}

// NewValidator returns the validator of the field rules in the protos.
func NewValidator() (protovalidate.Validator, error) { return protovalidate.New() }
