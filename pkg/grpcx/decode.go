package grpcx

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	protov2 "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Undecodable requests.
//
// grpc-go turns every codec error into INTERNAL ("grpc: failed to unmarshal the received
// message"), before any interceptor runs, so a request with malformed wire format or invalid
// UTF-8 in a string field would be answered as if the server had failed. The server therefore
// uses decodeCodec: the standard protobuf codec, except that a decode failure is parked (keyed
// by the message the handler is about to receive) and the message is left empty; the first
// interceptor picks the failure up and answers INVALID_ARGUMENT naming the request (or the
// field of invalid UTF-8). Nothing is decoded twice and the library's own
// codec does the work.

// decodeCodec is the server's wire codec (see above). It only changes Unmarshal.
type decodeCodec struct{ encoding.CodecV2 }

func newDecodeCodec() decodeCodec { return decodeCodec{encoding.GetCodecV2(proto.Name)} }

// undecodable holds the decode error of a request message until the interceptor takes it.
var undecodable sync.Map

func (c decodeCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if err := c.CodecV2.Unmarshal(data, v); err != nil {
		if m, ok := v.(protov2.Message); ok {
			protov2.Reset(m)
		}
		undecodable.Store(v, decodeError(v, data.Materialize(), err))
	}
	return nil
}

// takeDecodeError returns (and forgets) the decode error of req, as INVALID_ARGUMENT.
func takeDecodeError(req any) error {
	v, ok := undecodable.LoadAndDelete(req)
	if !ok {
		return nil
	}
	return v.(error)
}

// decodeError describes a request that does not decode. The decoder's message holds no
// request content (no values), so it may be shown. It does not name the field of invalid
// UTF-8, so that field is looked up in the wire data.
func decodeError(v any, data []byte, err error) error {
	field, desc := "request", "does not decode as this method's protobuf message: "+err.Error()
	if m, ok := v.(protov2.Message); ok && strings.Contains(err.Error(), "invalid UTF-8") {
		if f := invalidUTF8Field(m.ProtoReflect().Descriptor(), data, 0); f != "" {
			field, desc = f, "contains invalid UTF-8"
		}
	}
	return &apperr.Error{Kind: apperr.KindInvalidArgument, Message: "request does not decode",
		Violations: []apperr.FieldViolation{{Field: field, Description: desc}}}
}

// invalidUTF8Field walks wire data of message md and returns the path of the first string
// field that is not UTF-8 ("" if none is found), in protovalidate's notation: an element of a
// repeated field by its 0-based index ("goals[1].goal_id", "decisions[2]"), which is how many
// elements of that field came before it on the wire.
func invalidUTF8Field(md protoreflect.MessageDescriptor, data []byte, depth int) string {
	seen := map[protowire.Number]int{} // elements of each repeated field so far
	for len(data) > 0 && depth < 20 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return ""
		}
		data = data[n:]
		m := protowire.ConsumeFieldValue(num, typ, data)
		if m < 0 {
			return ""
		}
		value := data[:m]
		data = data[m:]
		f := md.Fields().ByNumber(num)
		if f == nil || typ != protowire.BytesType {
			continue
		}
		b, _ := protowire.ConsumeBytes(value)
		name := string(f.Name())
		if f.IsList() {
			name += "[" + strconv.Itoa(seen[num]) + "]"
			seen[num]++
		}
		switch {
		case f.Kind() == protoreflect.StringKind && !utf8.Valid(b):
			return name
		case f.Kind() == protoreflect.MessageKind:
			if inner := invalidUTF8Field(f.Message(), b, depth+1); inner != "" {
				if f.IsMap() {
					return name
				}
				return name + "." + inner
			}
		}
	}
	return ""
}

// decodeUnary answers INVALID_ARGUMENT for a request that did not decode. It must run before
// any interceptor that can return early, so that every parked error is taken.
func decodeUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := takeDecodeError(req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// decodeStream does the same for every message a stream receives.
type decodeStream struct{ grpc.ServerStream }

func (s decodeStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return takeDecodeError(m)
}
