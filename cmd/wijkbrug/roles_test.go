package main

import (
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logserver"
)

// Every role a policy rule asks for exists in the catalogue of one of the rule's
// organisation types, so no rule is unreachable by construction.
func TestPolicyRolesAreCatalogued(t *testing.T) {
	for _, spec := range allSpecs() {
		if bad := spec.Policy.UnknownRoles(); len(bad) > 0 {
			t.Errorf("%s: rules naming roles outside the catalogue (pkg/authz/roles.go): %v", spec.Name, bad)
		}
	}
	if bad := logserver.Policy.UnknownRoles(); len(bad) > 0 {
		t.Errorf("access log: rules naming roles outside the catalogue: %v", bad)
	}
}
