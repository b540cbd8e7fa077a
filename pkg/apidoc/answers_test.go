package apidoc_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// zeroFilled is message md with every message field set to a message filled so in turn (to
// depth 4) and every list holding one such element or one zero value: the shape of an answer
// whose records leave every optional text, date, number and enum at its zero value, which
// answers carry (the REST edge emits zero values).
func zeroFilled(md protoreflect.MessageDescriptor, depth int) *dynamicpb.Message {
	m := dynamicpb.NewMessage(md)
	if depth == 0 {
		return m
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.IsMap() || (fd.ContainingOneof() != nil && fd.ContainingOneof().Fields().Get(0) != fd) {
			continue
		}
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			m.Mutable(fd).List().Append(protoreflect.ValueOfMessage(zeroFilled(fd.Message(), depth-1)))
		case fd.IsList():
			m.Mutable(fd).List().Append(zeroScalar(fd.Kind()))
		case fd.Kind() == protoreflect.MessageKind && !strings.HasPrefix(string(fd.Message().FullName()), "google.protobuf."):
			m.Set(fd, protoreflect.ValueOfMessage(zeroFilled(fd.Message(), depth-1)))
		}
	}
	return m
}

// zeroScalar is the zero value of a scalar kind (an enum's is its first, *_UNSPECIFIED value).
func zeroScalar(k protoreflect.Kind) protoreflect.Value {
	switch k {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(false)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(0)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(0)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(0)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(0)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(0)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(0)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(0)
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes(nil)
	}
	return protoreflect.ValueOfString("")
}

// Every answer the documents describe validates against its own schema when its records carry
// zero values: a REST partner who validates answers with a validator generated from the
// document (ajv, zod) must not reject real ones. The request rules (patterns, formats, minimum
// lengths, enums without *_UNSPECIFIED) had been applied to messages that answers carry as well
// (an allocation request's empty end_date, a provision's empty url), so answers failed them;
// requests get a schema of their own for such messages (inputSuffix) and keep the rules.
func TestAnswersWithZeroValuesFitTheirSchemas(t *testing.T) {
	ctx := context.Background()
	marshal := protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}
	checked := 0
	for service := range apidoc.Sources {
		doc, err := openapi3.NewLoader().LoadFromData(apidoc.Document(service))
		if err != nil {
			t.Fatalf("%s: %v", service, err)
		}
		if err := doc.Validate(ctx); err != nil {
			t.Errorf("%s: the document is not valid OpenAPI: %v", service, err)
		}
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				ok := op.Responses.Status(200)
				if ok == nil || ok.Value.Content.Get("application/json") == nil {
					continue
				}
				ref := ok.Value.Content.Get("application/json").Schema
				if ref == nil {
					continue // google.api.HttpBody: the outcome export's CSV, the report's PDF
				}
				name := strings.TrimPrefix(ref.Ref, "#/components/schemas/")
				d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
				if err != nil {
					t.Errorf("%s %s: answer schema %q is not a message", method, path, name)
					continue
				}
				b, err := marshal.Marshal(zeroFilled(d.(protoreflect.MessageDescriptor), 4))
				if err != nil {
					t.Fatal(err)
				}
				var answer any
				if err := json.Unmarshal(b, &answer); err != nil {
					t.Fatal(err)
				}
				if err := ref.Value.VisitJSON(answer, openapi3.MultiErrors()); err != nil {
					t.Errorf("%s %s %s: an answer with zero values does not fit %s:\n%v", service, method, path, name, err)
				}
				checked++
			}
		}
	}
	if checked < 40 {
		t.Fatalf("checked %d answers; the documents have more operations than that", checked)
	}
}

// Requests keep their rules where they share a message with answers: the request form of such
// a message carries them (Arrears' months, its creditor's OIN), the answers' form does not.
func TestSharedMessagesKeepTheirRulesForRequests(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(apidoc.Document("referral"))
	if err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	in, out := schemas["wijkbrug.referral.v1.Creditor-Input"], schemas["wijkbrug.referral.v1.Creditor"]
	if in == nil || out == nil {
		t.Fatalf("want the creditor's request and answer forms, have %v", slices.Sorted(func(yield func(string) bool) {
			for k := range schemas {
				if strings.Contains(k, "Creditor") && !yield(k) {
					return
				}
			}
		}))
	}
	if in.Value.Properties["oin"].Value.Pattern == "" || out.Value.Properties["oin"].Value.Pattern != "" {
		t.Errorf("creditor oin: request pattern %q, answer pattern %q", in.Value.Properties["oin"].Value.Pattern, out.Value.Properties["oin"].Value.Pattern)
	}
	if err := in.Value.VisitJSON(map[string]any{"oin": "", "name": "", "reference": ""}); err == nil {
		t.Error("a request's creditor with an empty OIN fits the request form; its rule refuses it")
	}
	// The request body that carries arrears names the request form, through Arrears-Input.
	sig := schemas["wijkbrug.referral.v1.SubmitSignalRequest"]
	arrears := sig.Value.Properties["arrears"]
	if arrears == nil || !strings.HasSuffix(refOf(arrears), "Arrears-Input") {
		t.Errorf("SubmitSignalRequest.arrears names %q, want the request form", refOf(arrears))
	}
}

func refOf(s *openapi3.SchemaRef) string {
	if s.Ref != "" {
		return s.Ref
	}
	for _, a := range s.Value.AllOf {
		if a.Ref != "" {
			return a.Ref
		}
	}
	return ""
}
