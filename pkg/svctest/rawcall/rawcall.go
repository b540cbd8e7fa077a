// Package rawcall puts arbitrary bytes on the gRPC wire, for tests of what a server does with
// requests that do not decode.
package rawcall

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// rawCodec sends and receives bytes as they are, so a test can put anything on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// Invoke calls method on cc with data as the request bytes, unchecked.
func Invoke(ctx context.Context, cc grpc.ClientConnInterface, method string, data []byte) error {
	var out []byte
	return cc.Invoke(ctx, method, &data, &out, grpc.ForceCodec(rawCodec{}))
}

// Malformed is wire format that no message decodes: a length-delimited field 1 whose length
// runs past the end of the data.
var Malformed = []byte{0x0a, 0x7f, 0x01}

// InvalidUTF8 returns a message of type md whose first string field (searched depth first
// through message fields) holds bytes that are not UTF-8, or nil when md has no string field.
func InvalidUTF8(md protoreflect.MessageDescriptor) []byte {
	return invalidUTF8(md, map[protoreflect.FullName]bool{})
}

func invalidUTF8(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) []byte {
	if seen[md.FullName()] {
		return nil
	}
	seen[md.FullName()] = true
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() == protoreflect.StringKind && !f.IsMap() {
			b := protowire.AppendTag(nil, f.Number(), protowire.BytesType)
			return protowire.AppendBytes(b, []byte{'o', 'k', 0xff, 0xfe})
		}
	}
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() == protoreflect.MessageKind && !f.IsMap() {
			if inner := invalidUTF8(f.Message(), seen); inner != nil {
				b := protowire.AppendTag(nil, f.Number(), protowire.BytesType)
				return protowire.AppendBytes(b, inner)
			}
		}
	}
	return nil
}
