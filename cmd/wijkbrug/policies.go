package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logserver"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	casedirection "github.com/wijkbrug/wijkbrug/services/case-direction/service"
	intake "github.com/wijkbrug/wijkbrug/services/intake/service"
	providermonitoring "github.com/wijkbrug/wijkbrug/services/provider-monitoring/service"
	referral "github.com/wijkbrug/wijkbrug/services/referral/service"
)

// allSpecs are the four services, in port order.
func allSpecs() []svc.Spec {
	return []svc.Spec{intake.Spec(), casedirection.Spec(), providermonitoring.Spec(), referral.Spec()}
}

// policyTable renders every service's per-method policy as a Markdown table: the table in
// docs/security.md is this output, checked by a test.
func policyTable() string {
	var b strings.Builder
	b.WriteString("| method | organisation types | roles |\n|---|---|---|\n")
	row := func(method string, types []string, roles []string) {
		r := "any"
		if len(roles) > 0 {
			r = strings.Join(roles, ", ")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", method, strings.Join(types, ", "), r)
	}
	for _, spec := range allSpecs() {
		var methods []string
		for m := range spec.Policy {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, m := range methods {
			rule := spec.Policy[m]
			var types []string
			for _, t := range rule.OrgTypes {
				types = append(types, string(t))
			}
			row(m, types, rule.Roles)
		}
	}
	var platform []string
	for m := range logserver.Policy {
		platform = append(platform, m)
	}
	sort.Strings(platform)
	for _, m := range platform {
		rule := logserver.Policy[m]
		var types []string
		for _, t := range rule.OrgTypes {
			types = append(types, string(t))
		}
		row(m+" (every service)", types, rule.Roles)
	}
	b.WriteString("\nRoles per organisation type (`x-wijkbrug-role`; any other role is refused with PERMISSION_DENIED naming these; SERVICE forwards the role of whoever it acts for, or `system`):\n\n")
	b.WriteString("| organisation type | roles |\n|---|---|\n")
	var orgTypes []string
	for t := range authz.Roles {
		orgTypes = append(orgTypes, string(t))
	}
	sort.Strings(orgTypes)
	for _, t := range orgTypes {
		fmt.Fprintf(&b, "| %s | %s |\n", t, strings.Join(authz.Roles[identity.OrgType(t)], ", "))
	}
	b.WriteString("\nThe register of processing activities (`x-wijkbrug-purpose`, `pkg/authz/activities.go`): a purpose outside it, or one that is not an activity of the caller's organisation type, is refused with PERMISSION_DENIED naming the type's activities. A call under an activity that processes no residents' data (\"no\" below) that would show or change a resident's data is refused with PERMISSION_DENIED naming the type's activities that do. SERVICE forwards the purpose of whoever it acts for; the activities only SERVICE has are what a service does by itself:\n\n")
	b.WriteString("| purpose | what for | legal basis | residents' data | organisation types |\n|---|---|---|---|---|\n")
	for _, a := range authz.Activities {
		var types []string
		for _, t := range a.Processors {
			types = append(types, string(t))
		}
		data := "yes"
		if a.NoResidentData {
			data = "no"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", a.Code, a.Name, a.LegalBasis, data, strings.Join(types, ", "))
	}
	return b.String()
}

func runPolicies(out io.Writer) error {
	_, err := io.WriteString(out, policyTable())
	return err
}
