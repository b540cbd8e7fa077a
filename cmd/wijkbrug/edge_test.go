package main

import (
	"context"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/svctest/rawcall"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestPartnerEdges runs the checks of what partners send at the edges of all four services, on
// one suite: bytes that do not decode, the REST edge against gRPC, and the field rules.
func TestPartnerEdges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := suite.Start(ctx, suite.Options{Ephemeral: true})
	if err != nil {
		t.Fatalf("start suite: %v", err)
	}
	t.Cleanup(s.Stop)
	t.Run("undecodable", func(t *testing.T) { testUndecodable(t, s) })
}

// badRequestFields returns the fields a status's BadRequest names.
func badRequestFields(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// Every RPC of every service answers bytes that do not decode (malformed wire format, invalid
// UTF-8 in a string field) with INVALID_ARGUMENT naming the request or the field, never
// INTERNAL.
func testUndecodable(t *testing.T, s *suite.Suite) {
	for _, e := range s.Services {
		t.Run(e.Name, func(t *testing.T) {
			d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(e.Service))
			if err != nil {
				t.Fatal(err)
			}
			cc := dialAs(t, s, "team", e.Addr)
			methods := d.(protoreflect.ServiceDescriptor).Methods()
			utf8Checked := 0
			for i := range methods.Len() {
				m := methods.Get(i)
				full := "/" + string(d.FullName()) + "/" + string(m.Name())
				err := rawcall.Invoke(acting(t, "anna", "case_director", "edge-test"), cc, full, rawcall.Malformed)
				if status.Code(err) != codes.InvalidArgument || len(badRequestFields(err)) != 1 {
					t.Errorf("%s, malformed bytes: want INVALID_ARGUMENT with a BadRequest, got %v", m.Name(), err)
				}
				if data := rawcall.InvalidUTF8(m.Input()); data != nil {
					utf8Checked++
					err := rawcall.Invoke(acting(t, "anna", "case_director", "edge-test"), cc, full, data)
					if f := badRequestFields(err); status.Code(err) != codes.InvalidArgument || len(f) != 1 || f[0] == "request" {
						t.Errorf("%s, invalid UTF-8: want INVALID_ARGUMENT naming the field, got %v %v", m.Name(), err, f)
					}
				}
			}
			t.Logf("%d methods: malformed bytes refused by all, invalid UTF-8 by %d", methods.Len(), utf8Checked)
		})
	}
}
