package grpcx

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// validateUnary enforces the field rules declared in the protos (protovalidate: required
// fields, formats, lengths, ranges, enum membership, repeated-field limits). Every broken rule
// becomes one field violation of a single INVALID_ARGUMENT. Rules a schema cannot state (the
// BSN 11-proef, rules across fields) stay in the handlers' own request checks, which run
// before anything else a handler does.
//
// So that the caller still learns every bad field at once, a request that breaks the schema is
// handed to the handler with a context that is already cancelled: its request checks add their
// violations, and whatever would come after them (a transaction, a peer call, an access-log
// entry) cannot start on a cancelled context. The handler's answer is discarded; only its field
// violations are kept.
func validateUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		m, ok := req.(proto.Message)
		if !ok {
			return handler(ctx, req)
		}
		checked, err := schemaCheck(v, m)
		if err == nil {
			return handler(ctx, req)
		}
		schema, ok := apperr.As(err)
		if !ok {
			return nil, err
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		// The handler's own checks see the request as the schema checked it: a list over its
		// limit cut to it, so they do not name every element of a list of thousands either.
		if _, own := handler(cancelled, checked); own != nil {
			if e, ok := apperr.As(own); ok && e.Kind == apperr.KindInvalidArgument && len(e.Violations) > 0 {
				// The handler's violations (in its order, usually the message's), then the
				// schema's about fields it did not name. Handlers name an element as the schema
				// does ("goals[1].goal_id"), which covers only that element, so the schema's
				// violations of the other elements are still reported; a field named without
				// its index ("goals.goal_id", a form no handler should use) would cover that
				// field in every element.
				seen := map[string]bool{}
				merged := append([]apperr.FieldViolation(nil), e.Violations...)
				for _, fv := range merged {
					seen[fv.Field] = true
				}
				for _, fv := range schema.Violations {
					if !seen[fv.Field] && !seen[withoutIndexes(fv.Field)] {
						merged = append(merged, fv)
					}
				}
				schema.Violations = merged
			}
		}
		return nil, schema
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

// withoutIndexes turns "goals[0].goal_id" into "goals.goal_id", a field of any element, so a
// handler that named a field that way would not see it named twice.
func withoutIndexes(field string) string { return indexes.ReplaceAllString(field, "") }

var indexes = regexp.MustCompile(`\[[0-9]+\]`)

// Validator returns the validator of the field rules in the protos: one for the process, made
// at the first call. Making it registers every proto file linked in with cel (about 15 ms of
// CPU here); it is safe for concurrent use and keeps each message's compiled rules, so the
// four services of the all-in-one suite share it rather than making four. svc.Warm makes it
// ahead of a service's start.
var Validator = sync.OnceValues(func() (protovalidate.Validator, error) { return protovalidate.New() })

// ValidateRequest applies the field rules declared in m's proto exactly as the interceptor
// does and returns the same typed INVALID_ARGUMENT (nil when m keeps them). Tests that call a
// handler's own request checks without the interceptor (the fuzz targets) run it first, so
// they still cover the whole of what a request must satisfy.
func ValidateRequest(v protovalidate.Validator, m proto.Message) error {
	return schemaError(v, m)
}

// schemaError is what a request breaks of the rules every request keeps: the field rules in
// its proto, and no NUL character in any string (PostgreSQL's text cannot hold one, so such a
// value would fail at the INSERT, an INTERNAL, or be stored somewhere it can no longer be
// searched; no code, name or free text has a use for it). Both come as one INVALID_ARGUMENT.
func schemaError(v protovalidate.Validator, m proto.Message) error {
	_, err := schemaCheck(v, m)
	return err
}

// schemaCheck is schemaError, with the message it checked: m itself, or, when a list is longer
// than its rule allows, a copy with such lists cut to their limit. Such a list is named once,
// and only its elements within the limit are checked: every element's violations made answers
// many times the request's size. The other fields are checked as always.
func schemaCheck(v protovalidate.Validator, m proto.Message) (proto.Message, error) {
	long := overLongLists(m.ProtoReflect(), "", nil, 0)
	if len(long) > 0 {
		m = proto.Clone(m)
		cutLists(m.ProtoReflect(), 0)
	}
	err := validationError(v.Validate(m))
	bad := append(long, unstorableFields(m.ProtoReflect(), "", nil, 0)...)
	if len(bad) == 0 {
		return m, err
	}
	out, ok := apperr.As(err)
	if !ok {
		if err != nil {
			return m, err // a rule that could not be evaluated: a server fault, reported as such
		}
		out = &apperr.Error{Kind: apperr.KindInvalidArgument, Message: "invalid request"}
	}
	named := map[string]bool{}
	for _, fv := range out.Violations {
		named[fv.Field] = true
	}
	for _, fv := range bad {
		if !named[fv.Field] {
			out.Violations = append(out.Violations, fv)
		}
	}
	return m, out
}

// cutLists cuts every repeated field of m, nested ones included, to its max_items. The fields
// are collected first and changed after the walk, which must not change what it walks.
func cutLists(m protoreflect.Message, depth int) {
	if depth > maxWalkDepth {
		return
	}
	var fields []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if !fd.IsMap() && (fd.IsList() || fd.Kind() == protoreflect.MessageKind) {
			fields = append(fields, fd)
		}
		return true
	})
	for _, fd := range fields {
		if !fd.IsList() {
			cutLists(m.Mutable(fd).Message(), depth+1)
			continue
		}
		l := m.Mutable(fd).List()
		if most, ok := maxItems(fd); ok && uint64(l.Len()) > most {
			l.Truncate(int(most))
		}
		if fd.Kind() == protoreflect.MessageKind {
			for i := 0; i < l.Len(); i++ {
				cutLists(l.Get(i).Message(), depth+1)
			}
		}
	}
}

// overLongLists appends a violation for each repeated field of m, nested ones included, with
// more elements than its max_items rule allows, in protovalidate's words; the elements of such
// a list are not walked.
func overLongLists(m protoreflect.Message, prefix string, out []apperr.FieldViolation, depth int) []apperr.FieldViolation {
	if depth > maxWalkDepth {
		return out
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := val.List()
			if most, ok := maxItems(fd); ok && uint64(l.Len()) > most {
				out = append(out, apperr.FieldViolation{Field: path, Description: fmt.Sprintf("must contain no more than %d item(s)", most)})
				return true
			}
			if fd.Kind() == protoreflect.MessageKind {
				for i := 0; i < l.Len(); i++ {
					out = overLongLists(l.Get(i).Message(), path+"["+strconv.Itoa(i)+"].", out, depth+1)
				}
			}
		case fd.IsMap():
		case fd.Kind() == protoreflect.MessageKind:
			out = overLongLists(val.Message(), path+".", out, depth+1)
		}
		return true
	})
	return out
}

// listLimits caches each repeated field's max_items rule (a uint64; -1 as int64 for none):
// reading the rule from the field's options costs more than the walk.
var listLimits sync.Map

// maxItems is fd's max_items rule, if it has one.
func maxItems(fd protoreflect.FieldDescriptor) (uint64, bool) {
	if v, ok := listLimits.Load(fd); ok {
		n := v.(int64)
		return uint64(n), n >= 0
	}
	n := int64(-1)
	rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
	if r := rules.GetRepeated(); r.HasMaxItems() {
		n = int64(r.GetMaxItems())
	}
	listLimits.Store(fd, n)
	return uint64(n), n >= 0
}

// maxWalkDepth bounds the walk of nested messages (protobuf's own decoder allows 100 levels;
// no request of ours nests more than a few).
const maxWalkDepth = 32

// Why unstorableFields names a field.
const (
	nulProblem       = "must not contain a NUL character"
	timestampProblem = "not a valid timestamp: nanos must be 0 to 999,999,999 and the time between years 1 and 9999"
	durationProblem  = "not a valid duration: nanos must be -999,999,999 to 999,999,999 with the sign of seconds, at most 10,000 years"
)

// unstorableFields appends a violation, at its path (protovalidate's notation:
// "locations[0].name", `labels["k"]`), for each value of m that no rule of the schema can
// refuse and that cannot be stored or read back as sent: a string with a NUL character
// (PostgreSQL's text cannot hold it) and a google.protobuf.Timestamp or Duration out of its
// normalised range (nanos of a second or more, or negative, which the Go types silently carry
// over into the seconds).
func unstorableFields(m protoreflect.Message, prefix string, out []apperr.FieldViolation, depth int) []apperr.FieldViolation {
	if depth > maxWalkDepth {
		return out
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsMap():
			val.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := k.Value()
				elem := path + "[" + strconv.Quote(fmt.Sprint(key.Interface())) + "]"
				if fd.MapKey().Kind() == protoreflect.StringKind && strings.IndexByte(key.String(), 0) >= 0 {
					out = append(out, apperr.FieldViolation{Field: path, Description: nulProblem})
				}
				out = unstorableValue(fd.MapValue(), mv, elem, out, depth)
				return true
			})
		case fd.IsList():
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				out = unstorableValue(fd, l.Get(i), path+"["+strconv.Itoa(i)+"]", out, depth)
			}
		default:
			out = unstorableValue(fd, val, path, out, depth)
		}
		return true
	})
	return out
}

func unstorableValue(fd protoreflect.FieldDescriptor, val protoreflect.Value, path string, out []apperr.FieldViolation, depth int) []apperr.FieldViolation {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if strings.IndexByte(val.String(), 0) >= 0 {
			out = append(out, apperr.FieldViolation{Field: path, Description: nulProblem})
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		switch m := val.Message(); m.Descriptor().FullName() {
		case "google.protobuf.Timestamp":
			if !validTimestamp(m) {
				out = append(out, apperr.FieldViolation{Field: path, Description: timestampProblem})
			}
		case "google.protobuf.Duration":
			if !validDuration(m) {
				out = append(out, apperr.FieldViolation{Field: path, Description: durationProblem})
			}
		default:
			out = unstorableFields(m, path+".", out, depth+1)
		}
	}
	return out
}

// secondsAndNanos reads a Timestamp's or Duration's two fields.
func secondsAndNanos(m protoreflect.Message) (int64, int32) {
	fields := m.Descriptor().Fields()
	return m.Get(fields.ByName("seconds")).Int(), int32(m.Get(fields.ByName("nanos")).Int())
}

// validTimestamp is timestamppb's CheckValid on a reflected message (it may be a dynamic one).
func validTimestamp(m protoreflect.Message) bool {
	const minSeconds, maxSeconds = -62135596800, 253402300799 // 0001-01-01T00:00:00Z, 9999-12-31T23:59:59Z
	s, n := secondsAndNanos(m)
	return s >= minSeconds && s <= maxSeconds && n >= 0 && n < 1e9
}

// validDuration is durationpb's CheckValid on a reflected message.
func validDuration(m protoreflect.Message) bool {
	const maxSeconds = 315576000000 // 10,000 years
	s, n := secondsAndNanos(m)
	switch {
	case s < -maxSeconds || s > maxSeconds, n <= -1e9 || n >= 1e9:
		return false
	case s > 0 && n < 0, s < 0 && n > 0:
		return false
	}
	return true
}
