package domain

import (
	"regexp"
	"slices"
	"time"
)

// Provision kinds, statuses and capacity statuses (social map, after Open Referral HSDS).
const (
	KindCommunity = "COMMUNITY"
	KindCustom    = "CUSTOM"

	ProvisionActive   = "ACTIVE"
	ProvisionInactive = "INACTIVE"
)

// CapacityStatuses from most to least room; search ranks in this order.
var CapacityStatuses = []string{"AVAILABLE", "LIMITED", "WAITLIST", "FULL"}

// Location is where a provision is offered.
type Location struct {
	Name, Address, PostalCode, City, District string
}

// Provision is an offer on the social map. It holds no personal data.
type Provision struct {
	ID                      string
	OrganisationOIN         string
	OrganisationName        string
	Name                    string
	Description             string
	Kind                    string
	Status                  string
	Taxonomy                []string
	LifeDomains             []string
	MinAge, MaxAge          int32 // 0 = no bound
	TargetGroup             string
	Municipality            string
	Districts               []string // empty = the whole municipality
	Locations               []Location
	CapacityStatus          string
	WaitingDays             int32
	AcceptsDigitalReferrals bool
	VerifiedAt              *time.Time
	URL, Email, Phone       string
	MaintainerOIN           string
	UpdatedAt               time.Time
}

var taxonomyRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,47}$`)

// Validate checks the rules of a provision beyond field formats; prefix is put before each
// field name (e.g. "provision." or "services[3].").
func (p Provision) Validate(prefix string) []RuleViolation {
	var out []RuleViolation
	add := func(field, reason string) { out = append(out, RuleViolation{prefix + field, reason}) }
	if p.MinAge < 0 || p.MaxAge < 0 || p.MinAge > 120 || p.MaxAge > 120 {
		add("min_age", "ages are between 0 and 120")
	} else if p.MaxAge != 0 && p.MaxAge < p.MinAge {
		add("max_age", "must not be below min_age")
	}
	if p.WaitingDays < 0 || p.WaitingDays > 3650 {
		add("waiting_days", "must be between 0 and 3650")
	}
	for _, t := range p.Taxonomy {
		if !taxonomyRe.MatchString(t) {
			add("taxonomy_terms", "terms are lower-case codes of letters, digits and '-' (e.g. debt-help)")
			break
		}
	}
	if len(p.Taxonomy) == 0 && len(p.LifeDomains) == 0 {
		add("taxonomy_terms", "a provision needs at least one taxonomy term or life domain to be found")
	}
	if p.Kind == KindCustom && p.AcceptsDigitalReferrals {
		// Custom provisions are reached through an allocation (provider-monitoring), not a
		// referral: pointing a referral at one would bypass the municipal decision.
		add("accepts_digital_referrals", "custom provisions are allocated through provider-monitoring, not referred to")
	}
	if p.Status == ProvisionActive && p.CapacityStatus == "" {
		add("capacity_status", "required for an active provision")
	}
	return out
}

// ServesAge reports whether a resident of age fits the eligibility.
func (p Provision) ServesAge(age int32) bool {
	return (p.MinAge == 0 || age >= p.MinAge) && (p.MaxAge == 0 || age <= p.MaxAge)
}

// ServesDistrict reports whether the provision serves district (no districts = all).
func (p Provision) ServesDistrict(district string) bool {
	return len(p.Districts) == 0 || slices.Contains(p.Districts, district)
}

// ProvisionQuery is a social-map search.
type ProvisionQuery struct {
	Municipality, District, Taxonomy, Text, Kind string
	LifeDomains                                  []string
	Age                                          *int32 // nil = any age
	DigitalOnly                                  bool
	Limit                                        int
	// After is the sort key of the last provision of the previous page; nil for the first.
	After *SearchKey
}

// SearchKey is where a provision stands in a search's order: text relevance (descending),
// capacity (available first), waiting days, serving part of the municipality before all of it,
// name, id.
type SearchKey struct {
	Rank              float64
	Capacity          int32
	WaitingDays       int32
	WholeMunicipality bool
	Name, ID          string
}

// ExportKey is where a provision stands in a directory export: by name, then id.
type ExportKey struct{ Name, ID string }

// SearchHit is a provision found by a search, with its place in the order.
type SearchHit struct {
	Provision
	Key SearchKey
}

// Page asks for one page of a list sorted newest first by time and id: at most Size items
// after the position After (nil: from the newest).
type Page struct {
	Size  int
	After *Position
}

// Position is an item's place in such a list: its time, and its id (a UUID) for equal times.
type Position struct {
	At time.Time
	ID string
}
