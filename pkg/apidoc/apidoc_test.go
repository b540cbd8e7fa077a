package apidoc_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apidoc"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/outcomes/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	_ "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoregistry"
)

func base(t *testing.T, service string) []byte {
	t.Helper()
	var bases [][]byte
	for _, src := range apidoc.Sources[service] {
		b, err := os.ReadFile(filepath.Join("..", "gen", "openapi", src))
		if err != nil {
			t.Fatalf("%v (run make proto)", err)
		}
		bases = append(bases, b)
	}
	b, err := apidoc.Merge(bases...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The committed documents are what the protos say now. WIJKBRUG_UPDATE_DOCS=1 rewrites them
// (make proto does).
func TestOpenAPIDocumentsAreCurrent(t *testing.T) {
	for service := range apidoc.Sources {
		if os.Getenv("WIJKBRUG_UPDATE_DOCS") == "1" {
			doc, err := apidoc.Build(base(t, service), protoregistry.GlobalFiles)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(service+".openapi.yaml", doc, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := apidoc.Stale(apidoc.Document(service), base(t, service), protoregistry.GlobalFiles); err != nil {
			t.Errorf("%s: %v", service, err)
		}
	}
}

// The currency check fails on a document that misses a change: one made before a field rule
// or an operation was added.
func TestStaleOpenAPIDocumentIsRefused(t *testing.T) {
	doc := string(apidoc.Document("referral"))
	for name, stale := range map[string]string{
		"a rule dropped":      strings.Replace(doc, "maxLength: 200", "maxLength: 300", 1),
		"an operation missed": strings.Replace(doc, "operationId: ReferralService_SubmitSignal", "operationId: ReferralService_Other", 1),
	} {
		if stale == doc {
			t.Fatalf("%s: the document has nothing to change", name)
		}
		if err := apidoc.Stale([]byte(stale), base(t, "referral"), protoregistry.GlobalFiles); err == nil {
			t.Errorf("%s: a stale document passes the check", name)
		}
	}
}

// The published documents state the rules the services enforce (the tester's findings): the
// fields a request cannot do without are required, text limits are maxLength, and an enum
// lists only the values its field accepts (not *_UNSPECIFIED where a value is required, not
// the values an in or not_in rule refuses), while another field of the same enum keeps them.
func TestDocumentsStateTheEnforcedRules(t *testing.T) {
	schema := func(service, name string) map[string]any {
		t.Helper()
		var doc map[string]any
		if err := yaml.Unmarshal(apidoc.Document(service), &doc); err != nil {
			t.Fatal(err)
		}
		s, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if s == nil {
			t.Fatalf("%s: no schema %s", service, name)
		}
		return s
	}
	prop := func(s map[string]any, name string) map[string]any {
		return s["properties"].(map[string]any)[name].(map[string]any)
	}
	required := func(s map[string]any, fields ...string) {
		t.Helper()
		have := map[string]bool{}
		for _, r := range s["required"].([]any) {
			have[r.(string)] = true
		}
		for _, f := range fields {
			if !have[f] {
				t.Errorf("%v: %s is not required", s["description"], f)
			}
		}
	}
	enum := func(p map[string]any) []string {
		var out []string
		for _, v := range p["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}

	reg := schema("intake", "wijkbrug.intake.v1.RegisterIntakeRequest")
	required(reg, "channel", "urgency", "resident_bsn", "municipality_code")
	if got := enum(prop(reg, "channel")); slices.Contains(got, "CHANNEL_UNSPECIFIED") || slices.Contains(got, "CHANNEL_SIGNAL") || len(got) != 3 {
		t.Errorf("RegisterIntakeRequest.channel lists %v", got)
	}
	if _, ok := prop(reg, "channel")["minLength"]; ok {
		t.Error("an enum field gets no minLength")
	}
	ld := prop(reg, "life_domains")
	if got := enum(ld["items"].(map[string]any)); slices.Contains(got, "LIFE_DOMAIN_UNSPECIFIED") || ld["uniqueItems"] != true {
		t.Errorf("RegisterIntakeRequest.life_domains: %v", ld)
	}
	sig := schema("referral", "wijkbrug.referral.v1.SubmitSignalRequest")
	required(sig, "source_type", "legal_basis", "resident_bsn")
	if prop(sig, "category")["maxLength"] != 100 || prop(sig, "description")["maxLength"] != 10000 {
		t.Errorf("SubmitSignalRequest: category %v, description %v", prop(sig, "category"), prop(sig, "description"))
	}
	cancel := schema("referral", "wijkbrug.referral.v1.CancelReferralRequest")
	if got := enum(prop(cancel, "reason")); slices.Contains(got, "CANCEL_REASON_CONSENT_WITHDRAWN") || slices.Contains(got, "CANCEL_REASON_CASE_CLOSED") || !slices.Contains(got, "CANCEL_REASON_OTHER") {
		t.Errorf("CancelReferralRequest.reason lists %v", got)
	}
	// A list that must have an element is required (minItems says nothing of a list left out).
	required(schema("intake", "wijkbrug.intake.v1.RecordClarificationRequest"), "participants")
	// A body need not repeat what its path gives: the path's field is not required in it.
	required(cancel, "reason")
	if slices.Contains(cancel["required"].([]any), any("referral_id")) {
		t.Errorf("CancelReferralRequest requires referral_id in the body, which the path gives: %v", cancel["required"])
	}
	if w := schema("referral", "wijkbrug.referral.v1.WithdrawConsentRequest"); w["required"] != nil {
		t.Errorf("WithdrawConsentRequest requires %v in the body; the path gives consent_id", w["required"])
	}
	// The same enum elsewhere, without such a rule, keeps every value.
	ref := schema("referral", "wijkbrug.referral.v1.Referral")
	if got := enum(prop(ref, "cancel_reason")); !slices.Contains(got, "CANCEL_REASON_CONSENT_WITHDRAWN") {
		t.Errorf("Referral.cancel_reason lists %v", got)
	}
}
