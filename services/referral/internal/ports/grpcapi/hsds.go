package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// The directory format follows the Open Referral Human Services Data Specification (HSDS 3):
// organizations and services with their standard fields (id, organization_id, name,
// description, url, email, status, minimum_age, maximum_age, eligibility_description,
// service_areas, phones, service_at_locations, attributes with taxonomy terms,
// assured_date). What HSDS has no field for (kind, capacity, waiting days, digital
// referrals, ZRM life domains, CBS municipality) travels in the extension object
// "x_wijkbrug". An organisation's id is its OIN.

type hsdsDirectory struct {
	Organizations []hsdsOrganization `json:"organizations"`
	Services      []hsdsService      `json:"services"`
}

type hsdsOrganization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type hsdsService struct {
	ID                     string             `json:"id"`
	OrganizationID         string             `json:"organization_id"`
	Name                   string             `json:"name"`
	Description            string             `json:"description,omitempty"`
	URL                    string             `json:"url,omitempty"`
	Email                  string             `json:"email,omitempty"`
	Status                 string             `json:"status"`
	EligibilityDescription string             `json:"eligibility_description,omitempty"`
	MinimumAge             int32              `json:"minimum_age,omitempty"`
	MaximumAge             int32              `json:"maximum_age,omitempty"`
	AssuredDate            string             `json:"assured_date,omitempty"`
	ServiceAreas           []hsdsServiceArea  `json:"service_areas,omitempty"`
	Phones                 []hsdsPhone        `json:"phones,omitempty"`
	Attributes             []hsdsAttribute    `json:"attributes,omitempty"`
	Locations              []hsdsServiceAtLoc `json:"service_at_locations,omitempty"`
	Wijkbrug               hsdsExtension      `json:"x_wijkbrug"`
}

type hsdsServiceArea struct {
	Name       string `json:"name"`
	ExtentType string `json:"extent_type"`
	Extent     string `json:"extent"`
}

type hsdsPhone struct {
	Number string `json:"number"`
}

type hsdsAttribute struct {
	TaxonomyTerm hsdsTaxonomyTerm `json:"taxonomy_term"`
}

type hsdsTaxonomyTerm struct {
	Code     string `json:"code"`
	Taxonomy string `json:"taxonomy"`
}

type hsdsServiceAtLoc struct {
	Location hsdsLocation `json:"location"`
}

type hsdsLocation struct {
	Name      string        `json:"name,omitempty"`
	Addresses []hsdsAddress `json:"addresses,omitempty"`
}

type hsdsAddress struct {
	Address1   string `json:"address_1,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	City       string `json:"city,omitempty"`
	// District is a Wijkbrug extension: the CBS district of the address.
	District string `json:"x_district_code,omitempty"`
}

type hsdsExtension struct {
	Kind                    string   `json:"kind"`
	MunicipalityCode        string   `json:"municipality_code"`
	CapacityStatus          string   `json:"capacity_status,omitempty"`
	WaitingDays             int32    `json:"waiting_days,omitempty"`
	AcceptsDigitalReferrals bool     `json:"accepts_digital_referrals"`
	LifeDomains             []string `json:"life_domains,omitempty"`
}

const (
	taxonomyName      = "wijkbrug"
	extentDistrict    = "cbs_district"
	maxImportServices = 5000
)

// ImportDirectory adds or replaces provisions from an HSDS-style directory, all or nothing.
func (s *Server) ImportDirectory(ctx context.Context, req *referralv1.ImportDirectoryRequest) (*referralv1.ImportDirectoryResponse, error) {
	ps, err := parseDirectory(req.GetHsdsJson())
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *referralv1.ImportDirectoryResponse { return &referralv1.ImportDirectoryResponse{} },
		func(ctx context.Context) (*referralv1.ImportDirectoryResponse, error) {
			created, updated, err := s.app.ImportProvisions(ctx, ps)
			if err != nil {
				return nil, err
			}
			return &referralv1.ImportDirectoryResponse{Created: int32(created), Updated: int32(updated)}, nil
		})
}

// parseDirectory decodes and checks a directory, reporting every bad field at once.
func parseDirectory(raw string) ([]domain.Provision, error) {
	var v apperr.Validation
	var dir hsdsDirectory
	if err := json.Unmarshal([]byte(raw), &dir); err != nil {
		v.Add("hsds_json", "not a JSON directory: "+jsonProblem(err))
		return nil, v.Err()
	}
	v.Check(len(dir.Services) > 0, "hsds_json", "the directory has no services")
	v.Check(len(dir.Services) <= maxImportServices, "hsds_json", fmt.Sprintf("at most %d services per import", maxImportServices))
	orgs := map[string]string{}
	for i, o := range dir.Organizations {
		valid.OIN(&v, fmt.Sprintf("organizations[%d].id", i), o.ID)
		orgs[o.ID] = o.Name
	}
	seen := map[string]bool{}
	var out []domain.Provision
	for i, sv := range dir.Services {
		prefix := fmt.Sprintf("services[%d].", i)
		valid.UUID(&v, prefix+"id", sv.ID)
		v.Check(!seen[sv.ID], prefix+"id", "appears twice")
		seen[sv.ID] = true
		if _, ok := orgs[sv.OrganizationID]; !ok {
			v.Add(prefix+"organization_id", "must name an organisation in organizations")
		}
		for j, a := range sv.ServiceAreas {
			// An area Wijkbrug cannot read is refused, not skipped: skipping it would widen a
			// provision limited to some districts to the whole municipality.
			v.Check(a.ExtentType == extentDistrict, fmt.Sprintf("%sservice_areas[%d].extent_type", prefix, j),
				"must be "+extentDistrict+" (a CBS district code in extent), the only kind of area Wijkbrug reads")
		}
		p := provisionFromHSDS(sv, orgs[sv.OrganizationID])
		if p.Status == "" {
			v.Add(prefix+"status", "active or inactive")
			p.Status = domain.ProvisionInactive
		}
		checkProvision(&v, prefix, p)
		for _, rv := range p.Validate(prefix) {
			v.Add(rv.Field, rv.Reason)
		}
		if sv.AssuredDate != "" {
			d := valid.Date(&v, prefix+"assured_date", sv.AssuredDate)
			p.VerifiedAt = &d
		}
		out = append(out, p)
	}
	return out, v.Err()
}

func jsonProblem(err error) string {
	// Keep the message short and free of input content.
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Sprintf("wrong type for %s", te.Field)
	}
	return "cannot decode"
}

func provisionFromHSDS(sv hsdsService, orgName string) domain.Provision {
	p := domain.Provision{
		ID: sv.ID, OrganisationOIN: sv.OrganizationID, OrganisationName: orgName, Name: sv.Name, Description: sv.Description,
		Kind: strings.ToUpper(sv.Wijkbrug.Kind), Status: strings.ToUpper(sv.Status), MinAge: sv.MinimumAge, MaxAge: sv.MaximumAge,
		TargetGroup: sv.EligibilityDescription, Municipality: sv.Wijkbrug.MunicipalityCode,
		CapacityStatus: strings.ToUpper(sv.Wijkbrug.CapacityStatus), WaitingDays: sv.Wijkbrug.WaitingDays,
		AcceptsDigitalReferrals: sv.Wijkbrug.AcceptsDigitalReferrals, LifeDomains: sv.Wijkbrug.LifeDomains, URL: sv.URL, Email: sv.Email,
	}
	if len(sv.Phones) > 0 {
		p.Phone = sv.Phones[0].Number
	}
	for _, a := range sv.ServiceAreas {
		if a.ExtentType == extentDistrict {
			p.Districts = append(p.Districts, a.Extent)
		}
	}
	for _, a := range sv.Attributes {
		if a.TaxonomyTerm.Taxonomy == taxonomyName || a.TaxonomyTerm.Taxonomy == "" {
			p.Taxonomy = append(p.Taxonomy, a.TaxonomyTerm.Code)
		}
	}
	for _, sl := range sv.Locations {
		l := domain.Location{Name: sl.Location.Name}
		if len(sl.Location.Addresses) > 0 {
			a := sl.Location.Addresses[0]
			l.Address, l.PostalCode, l.City, l.District = a.Address1, a.PostalCode, a.City, a.District
		}
		p.Locations = append(p.Locations, l)
	}
	return p
}

// ExportLimits are the page sizes of ExportDirectory, in services.
var ExportLimits = paging.Limits{Default: 500, Max: 1000}

// maxExportBytes bounds a page's hsds_json, well below the 4 MiB a gRPC answer may have: a
// page is cut before it would pass it. One service is far smaller (its fields' limits keep it
// under 1 MiB), so every page carries at least one.
const maxExportBytes = 3 << 20

// ExportDirectory writes a page of a municipality's provisions, by name, as an HSDS-style
// directory of its own: every page can be imported as it is.
func (s *Server) ExportDirectory(ctx context.Context, req *referralv1.ExportDirectoryRequest) (*referralv1.ExportDirectoryResponse, error) {
	var v apperr.Validation
	list := paging.Scoped("referral.directory", req.GetMunicipalityCode())
	page := paging.Parse(&v, list, 2, ExportLimits, req.GetPageSize(), req.GetPageToken())
	var after *domain.ExportKey
	if !page.First() {
		if uuid.Validate(page.After[1]) != nil || len(page.After[1]) != 36 {
			v.Add("page_token", "not a token from a previous page of this list")
		}
		after = &domain.ExportKey{Name: page.After[0], ID: page.After[1]}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	ps, err := s.app.ExportProvisions(ctx, req.GetMunicipalityCode(), after, page.Size+1)
	if err != nil {
		return nil, err
	}
	ps, more := paging.Cut(ps, page.Size)
	raw, n, err := encodeDirectoryPage(ps, maxExportBytes)
	if err != nil {
		return nil, err
	}
	out := &referralv1.ExportDirectoryResponse{HsdsJson: string(raw), Services: int32(n)}
	if more || n < len(ps) {
		last := ps[n-1]
		out.NextPageToken = paging.Token(list, last.Name, last.ID)
	}
	return out, nil
}

// encodeDirectoryPage writes the directory of as many of ps (from the first) as fit in max
// bytes, at least one, and says how many it took.
func encodeDirectoryPage(ps []domain.Provision, max int) ([]byte, int, error) {
	n, size := 0, 64
	orgs := map[string]bool{}
	for _, p := range ps {
		// A service's share of the document: as indented at its depth, with its separator.
		b, err := json.MarshalIndent(provisionToHSDS(p), "    ", "  ")
		if err != nil {
			return nil, 0, err
		}
		add := len(b) + 8
		if !orgs[p.OrganisationOIN] {
			add += 64 + 6*len(p.OrganisationName) + len(p.OrganisationOIN)
		}
		if n > 0 && size+add > max {
			break
		}
		orgs[p.OrganisationOIN] = true
		size += add
		n++
	}
	for {
		raw, err := json.MarshalIndent(directoryOf(ps[:n]), "", "  ")
		if err != nil || len(raw) <= max || n <= 1 {
			return raw, n, err
		}
		n = n * 9 / 10 // the estimate was short: take fewer (not reached with the sizes above)
	}
}

// directoryOf is the HSDS-style directory of provisions, each organisation listed once.
func directoryOf(ps []domain.Provision) hsdsDirectory {
	dir := hsdsDirectory{Organizations: []hsdsOrganization{}, Services: []hsdsService{}}
	orgSeen := map[string]bool{}
	for _, p := range ps {
		if !orgSeen[p.OrganisationOIN] {
			orgSeen[p.OrganisationOIN] = true
			dir.Organizations = append(dir.Organizations, hsdsOrganization{ID: p.OrganisationOIN, Name: p.OrganisationName})
		}
		dir.Services = append(dir.Services, provisionToHSDS(p))
	}
	return dir
}

func provisionToHSDS(p domain.Provision) hsdsService {
	sv := hsdsService{
		ID: p.ID, OrganizationID: p.OrganisationOIN, Name: p.Name, Description: p.Description, URL: p.URL, Email: p.Email,
		Status: strings.ToLower(p.Status), EligibilityDescription: p.TargetGroup, MinimumAge: p.MinAge, MaximumAge: p.MaxAge,
		Wijkbrug: hsdsExtension{Kind: p.Kind, MunicipalityCode: p.Municipality, CapacityStatus: p.CapacityStatus,
			WaitingDays: p.WaitingDays, AcceptsDigitalReferrals: p.AcceptsDigitalReferrals, LifeDomains: p.LifeDomains},
	}
	if p.VerifiedAt != nil {
		sv.AssuredDate = p.VerifiedAt.In(time.UTC).Format(valid.DateLayout)
	}
	if p.Phone != "" {
		sv.Phones = []hsdsPhone{{Number: p.Phone}}
	}
	for _, d := range p.Districts {
		sv.ServiceAreas = append(sv.ServiceAreas, hsdsServiceArea{Name: d, ExtentType: extentDistrict, Extent: d})
	}
	for _, t := range p.Taxonomy {
		sv.Attributes = append(sv.Attributes, hsdsAttribute{TaxonomyTerm: hsdsTaxonomyTerm{Code: t, Taxonomy: taxonomyName}})
	}
	for _, l := range p.Locations {
		sv.Locations = append(sv.Locations, hsdsServiceAtLoc{Location: hsdsLocation{Name: l.Name,
			Addresses: []hsdsAddress{{Address1: l.Address, PostalCode: l.PostalCode, City: l.City, District: l.District}}}})
	}
	return sv
}
