// Package authz is the per-method authorisation policy: deny by default, and a method is
// reachable only for the organisation types (and optionally roles) its rule lists. Per-object
// checks (is this caller involved in this record?) belong to the services; this package only
// answers "may this kind of caller call this method at all".
package authz

import (
	"slices"
	"sort"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/grpc"
)

// Rule says who may call one method.
type Rule struct {
	// OrgTypes that may call the method; empty denies everyone.
	OrgTypes []identity.OrgType
	// Roles, when not empty, further limits the acting user's role (services are exempt:
	// they forward the role of whoever they act for).
	Roles []string
}

// Policy maps full method names ("/pkg.Service/Method") to rules.
type Policy map[string]Rule

// Public methods need a valid client certificate but no acting user and no rule: health
// checks and server reflection.
var publicPrefixes = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// IsPublic reports whether method is a health or reflection method.
func IsPublic(method string) bool {
	for _, p := range publicPrefixes {
		if len(method) >= len(p) && method[:len(p)] == p {
			return true
		}
	}
	return false
}

// Check allows or denies caller on method.
func (p Policy) Check(method string, caller identity.Caller) error {
	rule, ok := p[method]
	if !ok {
		return apperr.PermissionDenied("method has no authorisation rule")
	}
	if !slices.Contains(rule.OrgTypes, caller.Org.Type) {
		return apperr.PermissionDenied("organisation type " + string(caller.Org.Type) + " may not call this method")
	}
	if err := checkRole(caller); err != nil {
		return err
	}
	if err := checkPurpose(caller); err != nil {
		return err
	}
	if len(rule.Roles) > 0 && caller.Org.Type != identity.OrgService && !slices.Contains(rule.Roles, caller.Role) {
		return apperr.PermissionDenied("role " + caller.Role + " may not call this method")
	}
	return nil
}

// Uncovered lists the methods of the given services that have no rule, so a test can fail
// when an RPC is added without a policy.
func (p Policy) Uncovered(services ...grpc.ServiceDesc) []string {
	var missing []string
	for _, sd := range services {
		for _, m := range sd.Methods {
			if _, ok := p["/"+sd.ServiceName+"/"+m.MethodName]; !ok {
				missing = append(missing, "/"+sd.ServiceName+"/"+m.MethodName)
			}
		}
		for _, s := range sd.Streams {
			if _, ok := p["/"+sd.ServiceName+"/"+s.StreamName]; !ok {
				missing = append(missing, "/"+sd.ServiceName+"/"+s.StreamName)
			}
		}
	}
	sort.Strings(missing)
	return missing
}
