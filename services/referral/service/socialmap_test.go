package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/google/uuid"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
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
	t.Parallel()
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
	// An age given without has_age filters too (it was dropped: the adults' offer came back).
	if got := search(&referralv1.SearchProvisionsRequest{DistrictCode: "WK036300", LifeDomains: finances, Age: 15}); !slices.Equal(got, []string{"Tienerschuldhulp"}) {
		t.Fatalf("teenager without has_age: %v", got)
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
		"limit ":     {MunicipalityCode: "GM0363", Limit: 1, PageSize: 2}, // one would be dropped
		// WK059900 is a district of GM0599.
		"district_code": {MunicipalityCode: "GM0363", DistrictCode: "WK059900"},
	} {
		if f := violations(t, mustErr(h.client(t, buddyOrg).SearchProvisions(h.ctx, req))); !f[strings.TrimSpace(field)] {
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
	// An area of a kind Wijkbrug does not read, or none at all, would have widened the
	// provision to the whole municipality had it been skipped.
	services[3].(map[string]any)["service_areas"] = []any{map[string]any{"name": "WK036300", "extent_type": "cbs_district", "extent": "WK036300"},
		map[string]any{"name": "1011", "extent_type": "postcode", "extent": "1011"}}
	services[4].(map[string]any)["service_areas"] = []any{nil}
	raw, _ := json.Marshal(bad)
	f := violations(t, mustErr(tc.ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: string(raw)})))
	for _, field := range []string{"services[0].id", "services[1].max_age", "services[2].municipality_code",
		"services[3].service_areas[1].extent_type", "services[4].service_areas[0].extent_type"} {
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

// A directory ImportDirectory accepted can always be exported (probe-A F3): the export comes
// in pages, each cut before its JSON would pass 3 MiB, so none hits the 4 MiB answer limit,
// and each is a directory ImportDirectory takes as it is.
func TestLargeDirectoryExportsInPages(t *testing.T) {
	t.Parallel()
	h := start(t)
	// Importing and exporting megabytes takes longer than svctest.Ctx allows on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	h.ctx = grpcx.ActingUser(ctx, "professional-1", "professional", "social-map")
	tc := h.client(t, team)
	long := strings.Repeat("€", 4000) // the longest description, 12 kB of UTF-8
	const n = 400                     // ~5 MB of HSDS JSON in all
	want := map[string]bool{}
	for batch := 0; batch < 2; batch++ {
		var services []any
		for i := 0; i < n/2; i++ {
			id := uuid.NewString()
			want[id] = true
			services = append(services, map[string]any{"id": id, "organization_id": buddyOrg.OIN, "name": fmt.Sprintf("Maatje %04d", batch*n/2+i),
				"description": long, "status": "active", "attributes": []any{map[string]any{"taxonomy_term": map[string]string{"code": "buddy-project", "taxonomy": "wijkbrug"}}},
				"x_wijkbrug": map[string]any{"kind": "COMMUNITY", "municipality_code": "GM0363", "capacity_status": "AVAILABLE", "accepts_digital_referrals": true}})
		}
		raw, _ := json.Marshal(map[string]any{"organizations": []any{map[string]string{"id": buddyOrg.OIN, "name": buddyOrg.Name}}, "services": services})
		if imp, err := tc.ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: string(raw)}); err != nil || imp.GetCreated() != n/2 {
			t.Fatalf("import batch %d: %v %v", batch, imp, err)
		}
	}
	for _, size := range []int32{0, 1000} {
		got := map[string]bool{}
		req := &referralv1.ExportDirectoryRequest{MunicipalityCode: "GM0363", PageSize: size}
		pages := 0
		for {
			resp, err := h.client(t, buddyOrg).ExportDirectory(h.ctx, req)
			if err != nil {
				t.Fatalf("page_size %d, page %d: %v", size, pages, err)
			}
			pages++
			if len(resp.GetHsdsJson()) > 3<<20 {
				t.Fatalf("page of %d bytes", len(resp.GetHsdsJson()))
			}
			var dir struct {
				Services []struct {
					ID string `json:"id"`
				} `json:"services"`
			}
			if err := json.Unmarshal([]byte(resp.GetHsdsJson()), &dir); err != nil || len(dir.Services) != int(resp.GetServices()) || len(dir.Services) == 0 {
				t.Fatalf("page %d: %d services, says %d (%v)", pages, len(dir.Services), resp.GetServices(), err)
			}
			for _, s := range dir.Services {
				if got[s.ID] {
					t.Fatalf("service %s on two pages", s.ID)
				}
				got[s.ID] = true
			}
			if pages == 1 && size == 0 {
				re, err := tc.ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: resp.GetHsdsJson()})
				if err != nil || re.GetCreated() != 0 || int(re.GetUpdated()) != len(dir.Services) {
					t.Fatalf("a page imports as it is: %v %v", re, err)
				}
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		if len(got) != n || pages < 2 {
			t.Fatalf("page_size %d: %d services in %d pages, want %d in at least 2", size, len(got), pages, n)
		}
	}
	// A token belongs to its municipality's export, and the page size has its bounds.
	first, err := h.client(t, buddyOrg).ExportDirectory(h.ctx, &referralv1.ExportDirectoryRequest{MunicipalityCode: "GM0363", PageSize: 1})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v", err)
	}
	for field, req := range map[string]*referralv1.ExportDirectoryRequest{
		"page_token": {MunicipalityCode: "GM0344", PageToken: first.GetNextPageToken()},
		"page_size":  {MunicipalityCode: "GM0363", PageSize: 1001},
	} {
		if f := violations(t, mustErr(h.client(t, buddyOrg).ExportDirectory(h.ctx, req))); !f[field] {
			t.Errorf("bad %s: violations %v", field, f)
		}
	}
}

// A provision's url is an absolute http(s) URL and its email an e-mail address, whether it is
// stored one by one or imported (probe-A F8): the map is shown to every partner, and a
// javascript: link in it would run in their front ends.
func TestProvisionURLAndEmailAreChecked(t *testing.T) {
	t.Parallel()
	h := start(t)
	tc := h.client(t, team)
	provision := func(url, email string) *referralv1.Provision {
		return &referralv1.Provision{OrganisationOin: buddyOrg.OIN, OrganisationName: buddyOrg.Name, Name: "Maatje", Kind: referralv1.ProvisionKind_PROVISION_KIND_COMMUNITY,
			Status: referralv1.ProvisionStatus_PROVISION_STATUS_ACTIVE, TaxonomyTerms: []string{"buddy-project"}, MunicipalityCode: "GM0363",
			CapacityStatus: referralv1.CapacityStatus_CAPACITY_STATUS_AVAILABLE, Url: url, Email: email}
	}
	for _, bad := range []struct{ url, email, field string }{
		{"javascript:alert(1)", "", "provision.url"},
		{"data:text/html,<script>alert(1)</script>", "", "provision.url"},
		{"/relative/path", "", "provision.url"},
		{"ftp://example.nl/file", "", "provision.url"},
		{"https://", "", "provision.url"},
		{"", "not-an-email", "provision.email"},
		{"", "a@b@c.nl", "provision.email"},
		{"", "Maatje <info@example.nl>", "provision.email"},
	} {
		_, err := tc.UpsertProvision(h.ctx, &referralv1.UpsertProvisionRequest{IdempotencyKey: h.key(), Provision: provision(bad.url, bad.email)})
		if f := violations(t, err); !f[bad.field] {
			t.Errorf("url %q email %q: want a violation of %s, got %v", bad.url, bad.email, bad.field, f)
		}
	}
	ok, err := tc.UpsertProvision(h.ctx, &referralv1.UpsertProvisionRequest{IdempotencyKey: h.key(), Provision: provision("https://www.debrug.nl/maatjes?wijk=centrum", "info@debrug.nl")})
	if err != nil || ok.GetProvision().GetUrl() != "https://www.debrug.nl/maatjes?wijk=centrum" {
		t.Fatalf("a good url and email: %v %v", ok, err)
	}
	// The same rules for an import.
	var dir map[string]any
	_ = json.Unmarshal([]byte(directory([]string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()})), &dir)
	services := dir["services"].([]any)
	services[0].(map[string]any)["url"] = "javascript:alert(1)"
	services[1].(map[string]any)["email"] = "not-an-email"
	services[2].(map[string]any)["url"] = "http://www.example.nl/"
	services[2].(map[string]any)["email"] = "info@example.nl"
	raw, _ := json.Marshal(dir)
	f := violations(t, mustErr(tc.ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: string(raw)})))
	if !f["services[0].url"] || !f["services[1].email"] || f["services[2].url"] || f["services[2].email"] {
		t.Fatalf("import: violations %v", f)
	}
}

// A municipality's social map is kept by the organisations WIJKBRUG_SOCIAL_MAP_MAINTAINERS
// names for it: another municipality, or a team named for GM0363 placing a provision in
// GM0599, is refused, by UpsertProvision and by ImportDirectory, and nothing is stored.
func TestOnlyTheMunicipalitysMaintainersKeepItsMap(t *testing.T) {
	t.Parallel()
	h := start(t)
	muni := svctest.Org(identity.OrgMunicipality, "Gemeente Elders")
	elsewhere := func(p *referralv1.Provision) { p.MunicipalityCode = "GM0599" }
	for _, c := range []struct {
		who  orgT
		mod  func(*referralv1.Provision)
		what string
	}{
		{muni, nil, "a municipality not named for GM0363"},
		{team, elsewhere, "a team named for GM0363, in GM0599"},
	} {
		p := &referralv1.Provision{OrganisationOin: buddyOrg.OIN, OrganisationName: buddyOrg.Name, Name: "Nepmaatje", Kind: referralv1.ProvisionKind_PROVISION_KIND_COMMUNITY,
			Status: referralv1.ProvisionStatus_PROVISION_STATUS_ACTIVE, TaxonomyTerms: []string{"welfare"}, LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK},
			MunicipalityCode: "GM0363", CapacityStatus: referralv1.CapacityStatus_CAPACITY_STATUS_AVAILABLE, AcceptsDigitalReferrals: true}
		if c.mod != nil {
			c.mod(p)
		}
		if _, err := h.client(t, c.who).UpsertProvision(h.ctx, &referralv1.UpsertProvisionRequest{IdempotencyKey: h.key(), Provision: p}); status.Code(err) != codes.PermissionDenied ||
			!strings.Contains(err.Error(), p.GetMunicipalityCode()) {
			t.Errorf("UpsertProvision by %s: %v, want PERMISSION_DENIED naming %s", c.what, err, p.GetMunicipalityCode())
		}
	}
	if _, err := h.client(t, muni).ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: directory([]string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()})}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("ImportDirectory by a municipality not named for GM0363: %v, want PERMISSION_DENIED", err)
	}
	if n := h.count(t, `SELECT count(*) FROM provisions`); n != 0 {
		t.Fatalf("%d provisions stored by organisations that do not keep the map", n)
	}
	// The team named for GM0363 keeps it.
	if p := h.provision(t, buddyOrg, "Maatje", nil); p.GetId() == "" {
		t.Fatal("the maintainer's provision has no id")
	}
}
