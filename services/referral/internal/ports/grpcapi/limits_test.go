package grpcapi

import (
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The page sizes the proto declares (and so the OpenAPI document partners generate clients
// from) are the ones the service enforces (probe-A F7): a client that keeps to the schema is
// never refused for its page size.
func TestDeclaredPageSizesAreTheEnforcedOnes(t *testing.T) {
	lte := func(m proto.Message, field protoreflect.Name) int {
		fd := m.ProtoReflect().Descriptor().Fields().ByName(field)
		rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
		return int(rules.GetInt32().GetLte())
	}
	for _, c := range []struct {
		name     string
		declared int
		enforced int
	}{
		{"SearchProvisions page_size", lte(&referralv1.SearchProvisionsRequest{}, "page_size"), SearchLimits.Max},
		{"SearchProvisions limit", lte(&referralv1.SearchProvisionsRequest{}, "limit"), SearchLimits.Max},
		{"ListConsents page_size", lte(&referralv1.ListConsentsRequest{}, "page_size"), ConsentLimits.Max},
		{"ExportDirectory page_size", lte(&referralv1.ExportDirectoryRequest{}, "page_size"), ExportLimits.Max},
		{"CreateReferral goal_ids", int(func() uint64 {
			fd := (&referralv1.CreateReferralRequest{}).ProtoReflect().Descriptor().Fields().ByName("goal_ids")
			rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
			return rules.GetRepeated().GetMaxItems()
		}()), 50},
	} {
		if c.declared != c.enforced {
			t.Errorf("%s: the proto declares at most %d, the service takes at most %d", c.name, c.declared, c.enforced)
		}
	}
}
