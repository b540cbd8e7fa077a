package main

import (
	"fmt"

	"github.com/jhump/protoreflect/desc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// typedCodec decodes each answer into its generated Go type, as a partner's Go client built on
// the generated stubs does, instead of into ghz's dynamic message. ghz decodes answers with
// jhump/protoreflect's dynamic messages, through reflection: in a ListCases run at 16 callers
// that took a quarter of the machine's CPU (the bench's CPU profile, -profile-dir), on the
// same two cores as the services it measures. The answer is still decoded in full, and a
// malformed answer still fails the call; ghz's dynamic message stays empty (the bench reads
// nothing from it). Requests are encoded as before, by gRPC's own proto codec.
type typedCodec struct{ proto encoding.CodecV2 }

func newTypedCodec() typedCodec { return typedCodec{proto: encoding.GetCodecV2("proto")} }

func (c typedCodec) Name() string { return c.proto.Name() }

func (c typedCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c typedCodec) Unmarshal(data mem.BufferSlice, v any) error {
	d, ok := v.(interface {
		GetMessageDescriptor() *desc.MessageDescriptor
	})
	if !ok {
		return c.proto.Unmarshal(data, v)
	}
	name := protoreflect.FullName(d.GetMessageDescriptor().GetFullyQualifiedName())
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err != nil {
		return fmt.Errorf("bench: no generated type for %s: %w", name, err)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), mt.New().Interface())
}

// typedAnswers is the call option that makes a ghz run use typedCodec.
func typedAnswers() grpc.CallOption { return grpc.ForceCodecV2(newTypedCodec()) }
