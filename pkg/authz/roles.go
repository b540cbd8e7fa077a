package authz

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// RoleProfessional is the generic role every partner organisation has: a professional of that
// organisation without one of its named functions.
const RoleProfessional = "professional"

// RoleSystem is the role of a Wijkbrug service acting by itself (identity.System).
const RoleSystem = "system"

// Roles is the catalogue of roles per organisation type: a professional acts in one of the
// roles of the type of the organisation whose certificate makes the call. A role outside this
// list is refused, and internal roles (privacy_officer, municipal_administrator,
// contract_manager, case_director, …) exist only for the organisation types that have them,
// so a partner cannot claim them. Wijkbrug services forward the (already checked) role of
// whoever they act for, or act as RoleSystem. The catalogue is printed in the policy table of
// docs/security.md.
var Roles = map[identity.OrgType][]string{
	identity.OrgTeam:               {RoleProfessional, "intake_worker", "case_director", "team_lead"},
	identity.OrgMunicipality:       {RoleProfessional, "municipal_administrator", "contract_manager", "privacy_officer", "front_office", "wmo_consultant", "youth_consultant", "department_head"},
	identity.OrgGP:                 {RoleProfessional, "gp", "doctors_assistant"},
	identity.OrgPracticeNurse:      {RoleProfessional, "practice_nurse"},
	identity.OrgVeiligThuis:        {RoleProfessional, "vt_case_worker"},
	identity.OrgHousingCorporation: {RoleProfessional, "housing_officer", "debt_officer"},
	identity.OrgUtility:            {RoleProfessional, "debt_officer"},
	identity.OrgHealthInsurer:      {RoleProfessional, "debt_officer"},
	identity.OrgPolice:             {RoleProfessional, "community_officer"},
	identity.OrgCreditBank:         {RoleProfessional, "debt_counsellor"},
	identity.OrgProvider:           {RoleProfessional, "care_coordinator", "care_professional"},
	identity.OrgIntegrator:         {RoleProfessional, "integration_operator"},
}

// checkRole refuses a role that is not in the catalogue of the caller's organisation type.
// A service may carry any catalogued role (it forwards its user's) or RoleSystem.
func checkRole(c identity.Caller) error {
	if c.Org.Type == identity.OrgService {
		if c.Role == RoleSystem || knownAnywhere(c.Role) {
			return nil
		}
		return apperr.PermissionDenied(fmt.Sprintf("role %q is not a Wijkbrug role", c.Role))
	}
	allowed := Roles[c.Org.Type]
	if slices.Contains(allowed, c.Role) {
		return nil
	}
	return apperr.PermissionDenied(fmt.Sprintf("role %q is not a role of organisation type %s; allowed roles: %s",
		c.Role, c.Org.Type, strings.Join(allowed, ", ")))
}

func knownAnywhere(role string) bool {
	for _, roles := range Roles {
		if slices.Contains(roles, role) {
			return true
		}
	}
	return false
}

// UnknownRoles lists the roles a policy's rules name that none of the rule's organisation
// types has in the catalogue: such a rule could never be satisfied (a test keeps it empty).
func (p Policy) UnknownRoles() []string {
	var bad []string
	for method, rule := range p {
		for _, role := range rule.Roles {
			ok := false
			for _, t := range rule.OrgTypes {
				if t == identity.OrgService || slices.Contains(Roles[t], role) {
					ok = true
				}
			}
			if !ok {
				bad = append(bad, method+": "+role)
			}
		}
	}
	sort.Strings(bad)
	return bad
}
