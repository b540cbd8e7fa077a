package grpcx_test

import (
	"testing"
	"time"

	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/svctest/rawcall"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Bytes that do not decode are the caller's mistake: INVALID_ARGUMENT with the field (or the
// request) named, never INTERNAL; a good request on the same connection still works.
func TestUndecodableRequestsAreInvalidArgument(t *testing.T) {
	f := start(t)
	cc, err := grpcx.Dial(f.addr, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	md := (&referralv1.GetSignalRequest{}).ProtoReflect().Descriptor()
	for name, tc := range map[string]struct {
		data  []byte
		field string
	}{
		"malformed wire format": {rawcall.Malformed, "request"},
		"invalid UTF-8":         {rawcall.InvalidUTF8(md), "signal_id"},
		"field number zero":     {[]byte{0x00, 0x01}, "request"},
	} {
		t.Run(name, func(t *testing.T) {
			err := rawcall.Invoke(ctx(t), cc, referralv1.ReferralService_GetSignal_FullMethodName, tc.data)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("want INVALID_ARGUMENT, got %v", err)
			}
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			if len(fields) != 1 || fields[0] != tc.field {
				t.Fatalf("want a BadRequest naming %q, got %v (%v)", tc.field, fields, err)
			}
		})
	}
	res, err := referralv1.NewReferralServiceClient(cc).GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: idOK})
	if err != nil || res.GetSignal().GetReporter() != "u1/gp/signal" {
		t.Fatalf("a good request after bad ones: %v %v", res, err)
	}
}

// The field rules in the protos are enforced before the handler: every broken rule is named.
func TestFieldRulesAreEnforced(t *testing.T) {
	f := start(t)
	gp := f.client(t, f.as(t, f.ca, "GP", time.Now().Add(time.Hour)))
	_, err := gp.GetSignal(ctx(t), &referralv1.GetSignalRequest{SignalId: "not-a-uuid"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument {
		t.Fatalf("want INVALID_ARGUMENT, got %v", err)
	}
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) != 1 || fields[0] != "signal_id" {
		t.Fatalf("want signal_id named, got %v", fields)
	}
}
