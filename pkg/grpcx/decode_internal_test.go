package grpcx

import (
	"bytes"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// requestTypes are the request messages of every Wijkbrug RPC.
func requestTypes(t testing.TB) []protoreflect.MessageType {
	var out []protoreflect.MessageType
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if len(fd.Package()) < 9 || fd.Package()[:9] != "wijkbrug." {
			return true
		}
		for i := range fd.Services().Len() {
			ms := fd.Services().Get(i).Methods()
			for j := range ms.Len() {
				mt, err := protoregistry.GlobalTypes.FindMessageByName(ms.Get(j).Input().FullName())
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, mt)
			}
		}
		return true
	})
	if len(out) < 50 {
		t.Fatalf("only %d request types registered", len(out))
	}
	return out
}

// FuzzDecodeEveryMethod feeds raw bytes to the server's decoder for the request of every RPC:
// it never fails the call with a codec error (which gRPC would turn into INTERNAL); bytes that
// the protobuf decoder rejects come back as INVALID_ARGUMENT, bytes it accepts decode the same.
func FuzzDecodeEveryMethod(f *testing.F) {
	types := requestTypes(f)
	f.Add([]byte{0x0a, 0x7f, 0x01})
	f.Add([]byte{0x0a, 0x02, 0xff, 0xfe})
	f.Add([]byte{0x00})
	f.Add([]byte{0x08, 0x96, 0x01, 0x12, 0x03, 'a', 'b', 'c'})
	f.Add([]byte{0x0b, 0x0c})
	codec := newDecodeCodec()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mt := range types {
			msg := mt.New().Interface()
			if err := codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, msg); err != nil {
				t.Fatalf("%s: codec error reaches gRPC: %v", mt.Descriptor().FullName(), err)
			}
			want := mt.New().Interface()
			werr := proto.Unmarshal(data, want)
			err := takeDecodeError(msg)
			switch {
			case werr == nil && err != nil:
				t.Fatalf("%s: decodes, but refused: %v", mt.Descriptor().FullName(), err)
			case werr == nil && !proto.Equal(msg, want):
				t.Fatalf("%s: decodes differently", mt.Descriptor().FullName())
			case werr != nil && !apperr.IsKind(err, apperr.KindInvalidArgument):
				t.Fatalf("%s: undecodable bytes give %v", mt.Descriptor().FullName(), err)
			}
		}
	})
}

// The field of invalid UTF-8 is named as protovalidate names fields: an element of a repeated
// field by its index, so a caller learns which of its goals or decisions is wrong.
func TestInvalidUTF8FieldNamesTheElement(t *testing.T) {
	const mark = "MARK-MARK" // replaced by bytes that are not UTF-8, of the same length
	for want, m := range map[string]proto.Message{
		"goals[1].goal_id": &casedirectionv1.AdoptPlanRequest{CaseId: "c", Goals: []*casedirectionv1.GoalInput{{GoalId: "ok"}, {GoalId: mark}}},
		"goals[0].goal_id": &casedirectionv1.AdoptPlanRequest{Goals: []*casedirectionv1.GoalInput{{GoalId: mark}, {GoalId: "ok"}}},
		"decisions[2]":     &casedirectionv1.RecordCaseConferenceRequest{Decisions: []string{"a", "b", mark}, Attendees: []*casedirectionv1.Attendee{{ProfessionalId: "p"}}},
		"attendees[1].professional_id": &casedirectionv1.RecordCaseConferenceRequest{Decisions: []string{"a"},
			Attendees: []*casedirectionv1.Attendee{{ProfessionalId: "p"}, {ProfessionalId: mark}}},
		"provision.locations[1].name": &referralv1.UpsertProvisionRequest{Provision: &referralv1.Provision{Name: "n",
			Locations: []*referralv1.Location{{Name: "a"}, {Name: mark}}}},
		"provision.name": &referralv1.UpsertProvisionRequest{Provision: &referralv1.Provision{Name: mark}},
	} {
		data, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.Replace(data, []byte(mark), []byte("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7"), 1)
		if got := invalidUTF8Field(m.ProtoReflect().Descriptor(), data, 0); got != want {
			t.Errorf("%T: got %q, want %q", m, got, want)
		}
	}
}
