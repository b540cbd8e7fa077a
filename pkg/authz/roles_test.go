package authz

import (
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

func caller(t identity.OrgType, role string) identity.Caller {
	return identity.Caller{Org: identity.Organisation{OIN: "00000001000000000001", Type: t}, User: "u", Role: role, Purpose: ActivitiesOf(t)[0]}
}

// Roles are data: an unknown role is refused naming the allowed ones, a partner cannot claim
// an internal role, and a method open to any role still checks that the role exists.
func TestRolesAreACatalogue(t *testing.T) {
	p := Policy{
		"/open":    {OrgTypes: []identity.OrgType{identity.OrgTeam, identity.OrgGP, identity.OrgMunicipality, identity.OrgService}},
		"/officer": {OrgTypes: []identity.OrgType{identity.OrgMunicipality, identity.OrgService}, Roles: []string{"privacy_officer"}},
	}
	for _, tc := range []struct {
		method string
		c      identity.Caller
		denied string // substring of the refusal, "" when allowed
	}{
		{"/open", caller(identity.OrgTeam, "intake_worker"), ""},
		{"/open", caller(identity.OrgTeam, RoleProfessional), ""},
		{"/open", caller(identity.OrgGP, "gp"), ""},
		{"/open", caller(identity.OrgTeam, "root"), "allowed roles: professional, intake_worker, case_director, team_lead"},
		{"/open", caller(identity.OrgTeam, "no_such_role_xyz"), "not a role of organisation type TEAM"},
		{"/open", caller(identity.OrgTeam, "<script>"), `role "<script>"`},
		{"/open", caller(identity.OrgTeam, "privacy_officer"), "not a role of organisation type TEAM"},
		{"/open", caller(identity.OrgGP, "case_director"), "allowed roles: professional, gp, doctors_assistant"},
		{"/open", caller(identity.OrgGP, "Gp"), "not a role"},
		{"/open", caller(identity.OrgService, "case_director"), ""},
		{"/open", caller(identity.OrgService, RoleSystem), ""},
		{"/open", caller(identity.OrgService, "root"), "not a Wijkbrug role"},
		{"/officer", caller(identity.OrgMunicipality, "privacy_officer"), ""},
		{"/officer", caller(identity.OrgMunicipality, "front_office"), "may not call this method"},
		{"/officer", caller(identity.OrgMunicipality, "sysadmin"), "allowed roles: professional, municipal_administrator"},
	} {
		err := p.Check(tc.method, tc.c)
		if tc.denied == "" {
			if err != nil {
				t.Errorf("%s as %s/%s: %v, want allowed", tc.method, tc.c.Org.Type, tc.c.Role, err)
			}
			continue
		}
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindPermissionDenied || !strings.Contains(e.Message, tc.denied) {
			t.Errorf("%s as %s/%s: %v, want PERMISSION_DENIED containing %q", tc.method, tc.c.Org.Type, tc.c.Role, err, tc.denied)
		}
	}
}

func TestEveryPartnerTypeHasRoles(t *testing.T) {
	for _, typ := range []identity.OrgType{identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis, identity.OrgHousingCorporation,
		identity.OrgUtility, identity.OrgHealthInsurer, identity.OrgPolice, identity.OrgCreditBank, identity.OrgProvider,
		identity.OrgTeam, identity.OrgMunicipality, identity.OrgIntegrator} {
		if len(Roles[typ]) == 0 {
			t.Errorf("organisation type %s has no roles: every call of it would be refused", typ)
		}
	}
	bad := Policy{"/x": {OrgTypes: []identity.OrgType{identity.OrgTeam}, Roles: []string{"privacy_officer"}}}.UnknownRoles()
	if len(bad) != 1 {
		t.Errorf("a rule asking TEAM for privacy_officer can never be met and must be reported: %v", bad)
	}
}
