package service_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/google/uuid"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// directory is an HSDS-style directory of five provisions in GM0363.
func directory(ids []string) string {
	svc := func(id, name, desc string, domains []string, terms []string, minAge, maxAge int, districts []string, capacity string, waiting int) map[string]any {
		areas := []map[string]string{}
		for _, d := range districts {
			areas = append(areas, map[string]string{"name": d, "extent_type": "cbs_district", "extent": d})
		}
		attrs := []map[string]any{}
		for _, t := range terms {
			attrs = append(attrs, map[string]any{"taxonomy_term": map[string]string{"code": t, "taxonomy": "wijkbrug"}})
		}
		return map[string]any{"id": id, "organization_id": buddyOrg.OIN, "name": name, "description": desc, "status": "active",
			"minimum_age": minAge, "maximum_age": maxAge, "service_areas": areas, "attributes": attrs, "assured_date": "2026-01-15",
			"service_at_locations": []map[string]any{{"location": map[string]any{"name": "Buurthuis", "addresses": []map[string]string{{"address_1": "Dorpsstraat 1", "postal_code": "1011AA", "city": "Amsterdam", "x_district_code": "WK036300"}}}}},
			"x_wijkbrug": map[string]any{"kind": "COMMUNITY", "municipality_code": "GM0363", "capacity_status": capacity, "waiting_days": waiting,
				"accepts_digital_referrals": true, "life_domains": domains}}
	}
	dir := map[string]any{
		"organizations": []map[string]string{{"id": buddyOrg.OIN, "name": buddyOrg.Name}},
		"services": []any{
			svc(ids[0], "Schuldhulpmaatje Centrum", "Vrijwilligers helpen met administratie en schulden", []string{"FINANCES"}, []string{"debt-help"}, 18, 0, []string{"WK036300"}, "AVAILABLE", 0),
			svc(ids[1], "Budgetcursus", "Cursus omgaan met geld", []string{"FINANCES"}, []string{"debt-help"}, 18, 0, nil, "WAITLIST", 30),
			svc(ids[2], "Jongerenwerk Oost", "Jongerenwerk en schulden bij jongeren", []string{"FINANCES", "DAYTIME_ACTIVITIES"}, []string{"youth-work"}, 12, 23, []string{"WK036301"}, "AVAILABLE", 0),
			svc(ids[3], "Maatjesproject", "Een maatje tegen eenzaamheid", []string{"SOCIAL_NETWORK"}, []string{"buddy-project"}, 18, 0, nil, "AVAILABLE", 5),
			svc(ids[4], "Tienerschuldhulp", "Schulden bij tieners", []string{"FINANCES"}, []string{"debt-help"}, 12, 17, []string{"WK036300"}, "AVAILABLE", 0),
		},
	}
	raw, _ := json.Marshal(dir)
	return string(raw)
}

func TestSocialMapSearchImportExport(t *testing.T) {
	h := start(t)
	tc := h.client(t, team)
	ids := []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	imp, err := tc.ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: directory(ids)})
	if err != nil || imp.GetCreated() != 5 || imp.GetUpdated() != 0 {
		t.Fatalf("import: %v %v", imp, err)
	}
	search := func(req *referralv1.SearchProvisionsRequest) []string {
		t.Helper()
		req.MunicipalityCode = "GM0363"
		resp, err := h.client(t, buddyOrg).SearchProvisions(h.ctx, req)
		if err != nil {
			t.Fatalf("search %v: %v", req, err)
		}
		var names []string
		for _, p := range resp.GetProvisions() {
			names = append(names, p.GetName())
		}
		return names
	}
	finances := []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}
	// An adult with money problems in WK036300: the district's own offer and the
	// municipality-wide course (available before waiting list); not the youth offers nor the
	// other district's.
	if got := search(&referralv1.SearchProvisionsRequest{DistrictCode: "WK036300", LifeDomains: finances, Age: 40, HasAge: true}); !slices.Equal(got, []string{"Schuldhulpmaatje Centrum", "Budgetcursus"}) {
		t.Fatalf("adult, finances, WK036300: %v", got)
	}
	// A 15-year-old in the same district: only the teenagers' offer.
	if got := search(&referralv1.SearchProvisionsRequest{DistrictCode: "WK036300", LifeDomains: finances, Age: 15, HasAge: true}); !slices.Equal(got, []string{"Tienerschuldhulp"}) {
		t.Fatalf("teenager: %v", got)
	}
	// A 15-year-old in WK036301: youth work there.
	if got := search(&referralv1.SearchProvisionsRequest{DistrictCode: "WK036301", LifeDomains: finances, Age: 15, HasAge: true}); !slices.Equal(got, []string{"Jongerenwerk Oost"}) {
		t.Fatalf("teenager in Oost: %v", got)
	}
	if got := search(&referralv1.SearchProvisionsRequest{TaxonomyTerm: "buddy-project"}); !slices.Equal(got, []string{"Maatjesproject"}) {
		t.Fatalf("taxonomy: %v", got)
	}
	// Free text (Dutch stemming: "eenzaam" finds "eenzaamheid"; "schulden" ranks by relevance).
	if got := search(&referralv1.SearchProvisionsRequest{Text: "eenzaam"}); !slices.Equal(got, []string{"Maatjesproject"}) {
		t.Fatalf("text eenzaam: %v", got)
	}
	if got := search(&referralv1.SearchProvisionsRequest{Text: "schulden", DistrictCode: "WK036300"}); len(got) != 2 || !slices.Contains(got, "Schuldhulpmaatje Centrum") || !slices.Contains(got, "Tienerschuldhulp") {
		t.Fatalf("text schulden: %v", got)
	}
	// Paged, one or two at a time, a search gives the same provisions in the same order as in
	// one page (keyset over relevance, capacity, waiting days, coverage, name, id).
	pageAll := func(req *referralv1.SearchProvisionsRequest) []string {
		t.Helper()
		req.MunicipalityCode = "GM0363"
		var names []string
		for range 10 {
			resp, err := h.client(t, buddyOrg).SearchProvisions(h.ctx, req)
			if err != nil {
				t.Fatalf("search page %v: %v", req, err)
			}
			for _, p := range resp.GetProvisions() {
				names = append(names, p.GetName())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return names
			}
		}
		t.Fatalf("search did not end: %v", names)
		return nil
	}
	for _, q := range []*referralv1.SearchProvisionsRequest{{Text: "schulden"}, {}, {LifeDomains: finances}} {
		whole := search(proto.Clone(q).(*referralv1.SearchProvisionsRequest))
		for _, size := range []int32{1, 2} {
			paged := proto.Clone(q).(*referralv1.SearchProvisionsRequest)
			paged.PageSize = size
			if got := pageAll(paged); !slices.Equal(got, whole) || len(whole) < 2 {
				t.Fatalf("search %v by %d: %v, want %v", q, size, got, whole)
			}
		}
	}
	first, err := h.client(t, buddyOrg).SearchProvisions(h.ctx, &referralv1.SearchProvisionsRequest{MunicipalityCode: "GM0363", PageSize: 1})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", err, first)
	}
	for field, req := range map[string]*referralv1.SearchProvisionsRequest{
		"page_token": {MunicipalityCode: "GM0363", Text: "schulden", PageToken: first.GetNextPageToken()},
		"page_size":  {MunicipalityCode: "GM0363", PageSize: 10000},
		"limit":      {MunicipalityCode: "GM0363", Limit: -1},
	} {
		if f := violations(t, mustErr(h.client(t, buddyOrg).SearchProvisions(h.ctx, req))); !f[field] {
			t.Errorf("bad %s: violations %v", field, f)
		}
	}

	// Export gives the same directory back; importing it again updates, creates nothing.
	exp, err := h.client(t, buddyOrg).ExportDirectory(h.ctx, &referralv1.ExportDirectoryRequest{MunicipalityCode: "GM0363"})
	if err != nil || exp.GetServices() != 5 || !strings.Contains(exp.GetHsdsJson(), `"assured_date": "2026-01-15"`) {
		t.Fatalf("export: %v %v", exp, err)
	}
	re, err := tc.ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: exp.GetHsdsJson()})
	if err != nil || re.GetCreated() != 0 || re.GetUpdated() != 5 {
		t.Fatalf("re-import: %v %v", re, err)
	}
	again, err := h.client(t, buddyOrg).ExportDirectory(h.ctx, &referralv1.ExportDirectoryRequest{MunicipalityCode: "GM0363"})
	if err != nil || again.GetHsdsJson() != exp.GetHsdsJson() {
		t.Fatalf("export after a round trip differs:\n%s\n---\n%s", exp.GetHsdsJson(), again.GetHsdsJson())
	}
	got, err := tc.GetProvision(h.ctx, &referralv1.GetProvisionRequest{ProvisionId: ids[0]})
	if err != nil || got.GetProvision().GetLocations()[0].GetDistrictCode() != "WK036300" || got.GetProvision().GetVerifiedAt() == nil {
		t.Fatalf("get: %v %v", got, err)
	}

	// Bad directories are refused as a whole, naming every bad field.
	var bad map[string]any
	_ = json.Unmarshal([]byte(directory([]string{"nope", ids[1], ids[2], ids[3], ids[4]})), &bad)
	services := bad["services"].([]any)
	services[1].(map[string]any)["minimum_age"] = 50
	services[1].(map[string]any)["maximum_age"] = 20
	services[2].(map[string]any)["x_wijkbrug"].(map[string]any)["municipality_code"] = "Amsterdam"
	raw, _ := json.Marshal(bad)
	f := violations(t, mustErr(tc.ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: string(raw)})))
	for _, field := range []string{"services[0].id", "services[1].max_age", "services[2].municipality_code"} {
		if !f[field] {
			t.Errorf("want violation of %s, got %v", field, f)
		}
	}
	if f := violations(t, mustErr(tc.ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: "{"}))); !f["hsds_json"] {
		t.Fatalf("malformed JSON: %v", f)
	}
	// Only the maintaining team changes an entry; providers do not maintain the map.
	other := h.client(t, otherTeam)
	if _, err := other.UpsertProvision(h.ctx, &referralv1.UpsertProvisionRequest{IdempotencyKey: h.key(), Provision: got.GetProvision()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("another team changing the entry: %v", err)
	}
	if _, err := h.client(t, buddyOrg).UpsertProvision(h.ctx, &referralv1.UpsertProvisionRequest{IdempotencyKey: h.key(), Provision: got.GetProvision()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a provider changing the map: %v", err)
	}
}
