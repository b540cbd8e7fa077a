package authz

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// The purpose of a call is an entry of the register of processing activities that the
// caller's organisation type has; a service forwards any registered purpose.
func TestPurposesAreARegister(t *testing.T) {
	p := Policy{"/open": {OrgTypes: []identity.OrgType{identity.OrgTeam, identity.OrgGP, identity.OrgIntegrator,
		identity.OrgMunicipality, identity.OrgProvider, identity.OrgService}}}
	as := func(typ identity.OrgType, role, purpose string) identity.Caller {
		return identity.Caller{Org: identity.Organisation{OIN: "00000001000000000001", Type: typ}, User: "u", Role: role, Purpose: purpose}
	}
	for _, tc := range []struct {
		c      identity.Caller
		denied string // substring of the refusal, "" when allowed
	}{
		{as(identity.OrgGP, "gp", "signal"), ""},
		{as(identity.OrgTeam, "case_director", "case-direction"), ""},
		{as(identity.OrgProvider, "care_coordinator", "care-delivery"), ""},
		{as(identity.OrgIntegrator, "integration_operator", "event-delivery"), ""},
		{as(identity.OrgMunicipality, "privacy_officer", "right-of-access"), ""},
		{as(identity.OrgService, "case_director", "case-direction"), ""},
		{as(identity.OrgService, RoleSystem, "signal-intake"), ""},
		{as(identity.OrgGP, "gp", "decisions"), `purpose "decisions" is not a processing activity of organisation type GP; its activities: signal, case-consultation, referral, social-map, event-delivery`},
		{as(identity.OrgTeam, "case_director", "test"), `purpose "test" is not in the register of processing activities; its activities: signal, intake, case-direction`},
		{as(identity.OrgTeam, "case_director", "Case-Direction"), "not in the register"},
		{as(identity.OrgIntegrator, "integration_operator", "case-direction"), "its activities: social-map, event-delivery"},
		{as(identity.OrgProvider, "care_coordinator", "right-of-access"), "not a processing activity of organisation type PROVIDER"},
		{as(identity.OrgGP, "gp", "signal-intake"), "not a processing activity of organisation type GP"},
		{as(identity.OrgService, RoleSystem, "housekeeping"), `purpose "housekeeping" is not in the register`},
	} {
		err := p.Check("/open", tc.c)
		if tc.denied == "" {
			if err != nil {
				t.Errorf("%s for %q: %v, want allowed", tc.c.Org.Type, tc.c.Purpose, err)
			}
			continue
		}
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindPermissionDenied || !strings.Contains(e.Message, tc.denied) {
			t.Errorf("%s for %q: %v, want PERMISSION_DENIED containing %q", tc.c.Org.Type, tc.c.Purpose, err, tc.denied)
		}
	}
}

// Every entry can be named in the header and documented, and every partner type has at least
// one purpose to act for.
func TestRegisterIsComplete(t *testing.T) {
	code := regexp.MustCompile(`^[a-z][a-z-]{1,40}$`)
	seen := map[string]bool{}
	for _, a := range Activities {
		if !code.MatchString(a.Code) || seen[a.Code] {
			t.Errorf("activity code %q: not a lower-case code or not unique", a.Code)
		}
		seen[a.Code] = true
		if a.Name == "" || a.LegalBasis == "" || len(a.Processors) == 0 {
			t.Errorf("activity %q lacks a name, a legal basis or processors", a.Code)
		}
		for _, p := range a.Processors {
			if p != identity.OrgService && len(Roles[p]) == 0 {
				t.Errorf("activity %q names processor %q, which is no organisation type", a.Code, p)
			}
		}
	}
	for typ := range Roles {
		if len(ActivitiesOf(typ)) == 0 {
			t.Errorf("organisation type %s has no processing activity", typ)
		}
	}
	if len(ActivitiesOf(identity.OrgService)) == 0 {
		t.Error("services have no activity of their own")
	}
}

// The purpose check runs on every call: go test -run X -bench CheckPurpose ./pkg/authz
func BenchmarkCheckPurpose(b *testing.B) {
	c := identity.Caller{Org: identity.Organisation{Type: identity.OrgProvider}, Purpose: "care-delivery"}
	for b.Loop() {
		if err := checkPurpose(c); err != nil {
			b.Fatal(err)
		}
	}
}

func TestResidentDataOnlyUnderActivitiesThatProcessIt(t *testing.T) {
	gp := identity.Caller{Org: identity.Organisation{OIN: "00000001000000000200", Type: identity.OrgGP}, User: "u", Role: "gp"}
	for purpose, refused := range map[string]bool{"signal": false, "referral": false, "social-map": true, "event-delivery": true, "unknown": false} {
		c := gp
		c.Purpose = purpose
		err := ResidentDataError(c)
		if refused != (err != nil) {
			t.Fatalf("%s: %v", purpose, err)
		}
		if refused && (!apperr.IsKind(err, apperr.KindPermissionDenied) || !strings.HasSuffix(err.Error(), "name the activity it serves: signal, case-consultation, referral")) {
			t.Fatalf("%s: want PERMISSION_DENIED naming the GP's activities that process residents' data, got %v", purpose, err)
		}
	}
	// A refusal a peer service makes for the partner it acts for lists no service activities.
	svc := identity.Caller{Org: identity.Organisation{OIN: "00000099000000000001", Type: identity.OrgService}, User: "u", Role: "gp", Purpose: "social-map"}
	if err := ResidentDataError(svc); err == nil || strings.Contains(err.Error(), "signal-intake") || !strings.Contains(err.Error(), "of your organisation type") {
		t.Fatalf("forwarded by a service: %v", err)
	}
	// Every activity a service performs by itself processes residents' data, so no service
	// work is refused; what the register says in words agrees with the mark.
	for _, a := range Activities {
		if a.NoResidentData && slices.Equal(a.Processors, serviceTypes) {
			t.Errorf("%s: a service's own activity marked as processing no residents' data", a.Code)
		}
		if words := strings.Contains(a.LegalBasis, "no personal data") || strings.Contains(a.LegalBasis, "aggregated"); words && !a.NoResidentData {
			t.Errorf("%s: the register says %q but the activity is not marked", a.Code, a.LegalBasis)
		}
	}
}
