package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// UpsertProvision adds or replaces a provision.
func (s *Server) UpsertProvision(ctx context.Context, req *referralv1.UpsertProvisionRequest) (*referralv1.UpsertProvisionResponse, error) {
	p, err := provisionFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *referralv1.UpsertProvisionResponse { return &referralv1.UpsertProvisionResponse{} },
		func(ctx context.Context) (*referralv1.UpsertProvisionResponse, error) {
			out, err := s.app.UpsertProvision(ctx, p)
			if err != nil {
				return nil, err
			}
			return &referralv1.UpsertProvisionResponse{Provision: provisionToProto(out)}, nil
		})
}

// provisionFromRequest validates a provision (formats and domain rules, every bad field at
// once) and maps it to the domain.
func provisionFromRequest(req *referralv1.UpsertProvisionRequest) (domain.Provision, error) {
	var v apperr.Validation
	pp := req.GetProvision()
	if pp == nil {
		v.Add("provision", "required")
		return domain.Provision{}, v.Err()
	}
	p := provisionFromProto(pp)
	if pp.GetId() != "" {
		valid.UUID(&v, "provision.id", pp.GetId())
	}
	checkProvision(&v, "provision.", p)
	for _, rv := range p.Validate("provision.") {
		v.Add(rv.Field, rv.Reason)
	}
	return p, v.Err()
}

// GetProvision returns a provision.
func (s *Server) GetProvision(ctx context.Context, req *referralv1.GetProvisionRequest) (*referralv1.GetProvisionResponse, error) {
	p, err := s.app.GetProvision(ctx, req.GetProvisionId())
	if err != nil {
		return nil, err
	}
	return &referralv1.GetProvisionResponse{Provision: provisionToProto(p)}, nil
}

// SearchProvisions searches the social map.
func (s *Server) SearchProvisions(ctx context.Context, req *referralv1.SearchProvisionsRequest) (*referralv1.SearchProvisionsResponse, error) {
	q, err := searchQuery(req)
	if err != nil {
		return nil, err
	}
	size := q.Limit
	q.Limit++
	hits, err := s.app.SearchProvisions(ctx, q)
	if err != nil {
		return nil, err
	}
	hits, more := paging.Cut(hits, size)
	out := &referralv1.SearchProvisionsResponse{}
	for _, h := range hits {
		out.Provisions = append(out.Provisions, provisionToProto(h.Provision))
	}
	if more {
		k := hits[len(hits)-1].Key
		out.NextPageToken = paging.Token(searchList(req), strconv.FormatFloat(k.Rank, 'g', -1, 64), strconv.Itoa(int(k.Capacity)),
			strconv.Itoa(int(k.WaitingDays)), strconv.FormatBool(k.WholeMunicipality), k.Name, k.ID)
	}
	return out, nil
}

// SearchLimits are the page sizes of SearchProvisions.
var SearchLimits = paging.Limits{Default: 20, Max: 100}

// searchList names a search in its page tokens: the list under every criterion of the search.
func searchList(req *referralv1.SearchProvisionsRequest) string {
	domains := make([]string, 0, len(req.GetLifeDomains()))
	for _, d := range req.GetLifeDomains() {
		domains = append(domains, strconv.Itoa(int(d)))
	}
	return paging.Scoped("referral.provisions", req.GetMunicipalityCode(), req.GetDistrictCode(), strings.Join(domains, ","),
		req.GetTaxonomyTerm(), strconv.Itoa(int(req.GetAge())), strconv.FormatBool(req.GetHasAge()), req.GetText(),
		req.GetKind().String(), strconv.FormatBool(req.GetDigitalReferralsOnly()))
}

// searchKeyOf reads the position a search's page token carries.
func searchKeyOf(v *apperr.Validation, p paging.Page) *domain.SearchKey {
	if p.First() {
		return nil
	}
	rank, err1 := strconv.ParseFloat(p.After[0], 64)
	capacity, err2 := strconv.ParseInt(p.After[1], 10, 32)
	waiting, err3 := strconv.ParseInt(p.After[2], 10, 32)
	whole, err4 := strconv.ParseBool(p.After[3])
	if err := errors.Join(err1, err2, err3, err4); err != nil || uuid.Validate(p.After[5]) != nil {
		v.Add("page_token", "not a token from a previous page of this list")
		return nil
	}
	return &domain.SearchKey{Rank: rank, Capacity: int32(capacity), WaitingDays: int32(waiting), WholeMunicipality: whole,
		Name: p.After[4], ID: p.After[5]}
}

// searchQuery validates a search and maps it to the domain query.
func searchQuery(req *referralv1.SearchProvisionsRequest) (domain.ProvisionQuery, error) {
	var v apperr.Validation
	// municipality_code, district_code: the proto's rules; the district lies in the municipality,
	// as every other call that takes both checks.
	valid.DistrictOf(&v, "district_code", req.GetDistrictCode(), req.GetMunicipalityCode())
	q := domain.ProvisionQuery{
		Municipality: req.GetMunicipalityCode(), District: req.GetDistrictCode(), Taxonomy: req.GetTaxonomyTerm(),
		Text: req.GetText(), LifeDomains: protoenum.LifeDomainCodes(&v, "life_domains", req.GetLifeDomains()),
		DigitalOnly: req.GetDigitalReferralsOnly(),
	}
	// limit is deprecated, and still honoured when page_size is not set.
	legacy := req.GetLimit()
	size := req.GetPageSize()
	if size == 0 && legacy > 0 && int(legacy) <= SearchLimits.Max {
		size = legacy
	}
	page := paging.Parse(&v, searchList(req), 6, SearchLimits, size, req.GetPageToken())
	q.Limit, q.After = page.Size, searchKeyOf(&v, page)
	valid.Text(&v, "taxonomy_term", q.Taxonomy, 0, 48)
	valid.Text(&v, "text", q.Text, 0, 200)
	if req.GetKind() != referralv1.ProvisionKind_PROVISION_KIND_UNSPECIFIED {
		q.Kind = protoenum.Required(&v, "kind", req.GetKind())
	}
	// An age of 0 is only meant with has_age; any other age given filters by itself (it was
	// dropped without has_age: a five-year-old was offered adults' provisions).
	if req.GetHasAge() || req.GetAge() != 0 {
		age := req.GetAge()
		v.Check(age >= 0 && age <= 120, "age", "between 0 and 120")
		q.Age = &age
	}
	v.Check(legacy >= 0 && int(legacy) <= SearchLimits.Max, "limit", "between 0 (default 20) and 100")
	// Both given, limit would be dropped without a word.
	v.Check(legacy == 0 || req.GetPageSize() == 0, "limit", "deprecated, and not with page_size: give page_size alone")
	return q, v.Err()
}

// checkProvision checks the formats of a provision's fields; prefix goes before each field.
func checkProvision(v *apperr.Validation, prefix string, p domain.Provision) {
	valid.OIN(v, prefix+"organisation_oin", p.OrganisationOIN)
	valid.Text(v, prefix+"organisation_name", p.OrganisationName, 0, 200)
	valid.Text(v, prefix+"name", p.Name, 1, 200)
	valid.Text(v, prefix+"description", p.Description, 0, 4000)
	valid.Text(v, prefix+"target_group", p.TargetGroup, 0, 200)
	v.Check(p.Kind == domain.KindCommunity || p.Kind == domain.KindCustom, prefix+"kind", "COMMUNITY or CUSTOM")
	v.Check(p.Status == domain.ProvisionActive || p.Status == domain.ProvisionInactive, prefix+"status", "ACTIVE or INACTIVE")
	v.Check(p.CapacityStatus == "" || contains(domain.CapacityStatuses, p.CapacityStatus), prefix+"capacity_status", "AVAILABLE, LIMITED, WAITLIST or FULL")
	valid.Municipality(v, prefix+"municipality_code", p.Municipality)
	for _, d := range p.Districts {
		v.Check(d != "", prefix+"district_codes", "empty district code")
		valid.District(v, prefix+"district_codes", d)
	}
	for i, d := range p.LifeDomains {
		// Named by its element, as the proto's rule (items.not_in: [0]) names it.
		v.Check(protoenum.FromCode[commonv1.LifeDomain](d) != commonv1.LifeDomain_LIFE_DOMAIN_UNSPECIFIED, fmt.Sprintf("%slife_domains[%d]", prefix, i), "unknown life domain "+d)
	}
	v.Check(len(p.Taxonomy) <= 20, prefix+"taxonomy_terms", "at most 20 terms")
	v.Check(len(p.Locations) <= 50, prefix+"locations", "at most 50 locations")
	for i, l := range p.Locations {
		f := fmt.Sprintf("%slocations[%d]", prefix, i)
		valid.Text(v, f+".name", l.Name, 0, 200)
		valid.Text(v, f+".address", l.Address, 0, 200)
		valid.Text(v, f+".postal_code", l.PostalCode, 0, 10)
		valid.Text(v, f+".city", l.City, 0, 100)
		valid.District(v, f+".district_code", l.District)
	}
	valid.Text(v, prefix+"url", p.URL, 0, 500)
	v.Check(p.URL == "" || webURL(p.URL), prefix+"url", "must be an absolute http or https URL")
	valid.Text(v, prefix+"email", p.Email, 0, 200)
	v.Check(p.Email == "" || emailRe.MatchString(p.Email), prefix+"email", "must be an e-mail address like info@example.nl")
	valid.Text(v, prefix+"phone", p.Phone, 0, 50)
}

// emailRe is the shape of an e-mail address the proto's rule (protovalidate's string.email,
// the HTML5 definition) accepts, so a directory import is held to what UpsertProvision is.
var emailRe = regexp.MustCompile(`^[a-zA-Z0-9.!#$%&'*+/=?^_` + "`" + `{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)

// webURL reports whether s is an absolute http(s) URL with a host: what a partner's front end
// may show as a link (no javascript:, data: or relative URLs).
func webURL(s string) bool {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme == "http" || scheme == "https"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func provisionFromProto(pp *referralv1.Provision) domain.Provision {
	p := domain.Provision{
		ID: pp.GetId(), OrganisationOIN: pp.GetOrganisationOin(), OrganisationName: pp.GetOrganisationName(), Name: pp.GetName(),
		Description: pp.GetDescription(), Kind: protoenum.Code(pp.GetKind()), Status: protoenum.Code(pp.GetStatus()),
		Taxonomy: pp.GetTaxonomyTerms(), MinAge: pp.GetMinAge(), MaxAge: pp.GetMaxAge(), TargetGroup: pp.GetTargetGroup(),
		Municipality: pp.GetMunicipalityCode(), Districts: pp.GetDistrictCodes(), CapacityStatus: protoenum.Code(pp.GetCapacityStatus()),
		WaitingDays: pp.GetWaitingDays(), AcceptsDigitalReferrals: pp.GetAcceptsDigitalReferrals(), URL: pp.GetUrl(),
		Email: pp.GetEmail(), Phone: pp.GetPhone(),
	}
	for _, d := range pp.GetLifeDomains() {
		p.LifeDomains = append(p.LifeDomains, protoenum.Code(d))
		if protoenum.Code(d) == "" {
			p.LifeDomains[len(p.LifeDomains)-1] = "UNSPECIFIED"
		}
	}
	for _, l := range pp.GetLocations() {
		p.Locations = append(p.Locations, domain.Location{Name: l.GetName(), Address: l.GetAddress(), PostalCode: l.GetPostalCode(),
			City: l.GetCity(), District: l.GetDistrictCode()})
	}
	if pp.GetVerifiedAt() != nil && pp.GetVerifiedAt().CheckValid() == nil {
		t := pp.GetVerifiedAt().AsTime()
		p.VerifiedAt = &t
	}
	return p
}

func provisionToProto(p domain.Provision) *referralv1.Provision {
	out := &referralv1.Provision{
		Id: p.ID, OrganisationOin: p.OrganisationOIN, OrganisationName: p.OrganisationName, Name: p.Name, Description: p.Description,
		Kind: protoenum.FromCode[referralv1.ProvisionKind](p.Kind), Status: protoenum.FromCode[referralv1.ProvisionStatus](p.Status),
		TaxonomyTerms: p.Taxonomy, LifeDomains: protoenum.LifeDomains(p.LifeDomains), MinAge: p.MinAge, MaxAge: p.MaxAge,
		TargetGroup: p.TargetGroup, MunicipalityCode: p.Municipality, DistrictCodes: p.Districts,
		CapacityStatus: protoenum.FromCode[referralv1.CapacityStatus](p.CapacityStatus), WaitingDays: p.WaitingDays,
		AcceptsDigitalReferrals: p.AcceptsDigitalReferrals, Url: p.URL, Email: p.Email, Phone: p.Phone,
		MaintainerOin: p.MaintainerOIN, UpdatedAt: timestamppb.New(p.UpdatedAt),
	}
	for _, l := range p.Locations {
		out.Locations = append(out.Locations, &referralv1.Location{Name: l.Name, Address: l.Address, PostalCode: l.PostalCode,
			City: l.City, DistrictCode: l.District})
	}
	if p.VerifiedAt != nil {
		out.VerifiedAt = timestamppb.New(*p.VerifiedAt)
	}
	return out
}

func dayStart(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, domain.Amsterdam)
}
