// Package identity describes who is calling: the partner organisation (from its client
// certificate) and the person acting for it (from request metadata). Every RPC runs with a
// Caller in its context; application code reads it for per-object checks and the access log.
package identity

import (
	"context"
	"crypto/x509"
	"fmt"
	"regexp"
	"strings"
)

// OrgType is the kind of organisation, taken from the OrganizationalUnit of the certificate
// that the regional CA issued to it.
type OrgType string

// Organisation types known to Wijkbrug.
const (
	OrgGP                 OrgType = "GP"
	OrgPracticeNurse      OrgType = "PRACTICE_NURSE"
	OrgVeiligThuis        OrgType = "VEILIG_THUIS"
	OrgHousingCorporation OrgType = "HOUSING_CORPORATION"
	OrgUtility            OrgType = "UTILITY"
	OrgHealthInsurer      OrgType = "HEALTH_INSURER"
	OrgPolice             OrgType = "POLICE"
	OrgCreditBank         OrgType = "CREDIT_BANK"
	OrgProvider           OrgType = "PROVIDER"
	OrgTeam               OrgType = "TEAM"
	OrgMunicipality       OrgType = "MUNICIPALITY"
	OrgIntegrator         OrgType = "INTEGRATOR"
	// OrgService is a Wijkbrug service calling another one.
	OrgService OrgType = "SERVICE"
)

var knownOrgTypes = map[OrgType]bool{
	OrgGP: true, OrgPracticeNurse: true, OrgVeiligThuis: true, OrgHousingCorporation: true,
	OrgUtility: true, OrgHealthInsurer: true, OrgPolice: true, OrgCreditBank: true,
	OrgProvider: true, OrgTeam: true, OrgMunicipality: true, OrgIntegrator: true, OrgService: true,
}

// Metadata keys carrying the acting user. They are required on every call except health and
// reflection.
const (
	HeaderUser       = "x-wijkbrug-user"
	HeaderRole       = "x-wijkbrug-role"
	HeaderPurpose    = "x-wijkbrug-purpose"
	HeaderOnBehalfOf = "x-wijkbrug-on-behalf-of"
)

// MaxHeaderLen is the longest acting-user value (user, role or purpose) accepted.
const MaxHeaderLen = 200

// HeaderValueProblem says what is wrong with the value of an acting-user header, or "" when
// it is acceptable: present, at most MaxHeaderLen bytes, and printable US-ASCII (0x20–0x7E),
// the only values gRPC metadata and HTTP headers carry alike (a REST gateway drops other
// values, so accepting them on gRPC alone would make the two edges disagree).
func HeaderValueProblem(v string) string {
	switch {
	case v == "":
		return "required: who acts, in which role and for which processing activity"
	case len(v) > MaxHeaderLen:
		return "longer than 200 characters"
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "must be printable US-ASCII (an identifier such as an employee number, not a display name)"
		}
	}
	return ""
}

// Organisation is the calling organisation as proven by its certificate.
type Organisation struct {
	OIN  string
	Name string
	Type OrgType
}

// Caller is the organisation plus the person acting for it and the purpose of the call.
type Caller struct {
	Org Organisation
	// User identifies the acting professional within the organisation.
	User string
	// Role is the professional's role, e.g. "case_director" or "gp".
	Role string
	// Purpose names the processing activity (doelbinding), e.g. "signal-intake".
	Purpose string
	// OnBehalfOf is the OIN of the organisation a service acts for, when a Wijkbrug service
	// forwards a partner's request.
	OnBehalfOf string
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// From returns the caller in ctx.
func From(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// SystemUserPrefix begins the user of a service's own work (System). A partner's acting
// user may not begin with it, so an access-log entry under such a user is a service's.
const SystemUserPrefix = "system:"

// System returns a Caller for work a service does by itself (event consumers, schedulers).
func System(service Organisation, purpose string) Caller {
	return Caller{Org: service, User: SystemUserPrefix + strings.ToLower(service.Name), Role: "system", Purpose: purpose}
}

// ReservedUser reports whether user is one only a Wijkbrug service may act as: it begins
// with SystemUserPrefix, in any case.
func ReservedUser(user string) bool {
	return len(user) >= len(SystemUserPrefix) && strings.EqualFold(user[:len(SystemUserPrefix)], SystemUserPrefix)
}

var oinPattern = regexp.MustCompile(`^[0-9]{20}$`)

// ValidOIN reports whether s looks like an OIN (20 digits).
func ValidOIN(s string) bool { return oinPattern.MatchString(s) }

// FromCertificate reads the organisation from a verified client certificate: the OIN from
// the subject serialNumber (as PKIoverheid and the FSC standard do), the name from O and the
// type from OU.
func FromCertificate(cert *x509.Certificate) (Organisation, error) {
	oin := cert.Subject.SerialNumber
	if !ValidOIN(oin) {
		return Organisation{}, fmt.Errorf("certificate subject serialNumber is not an OIN")
	}
	if len(cert.Subject.OrganizationalUnit) == 0 {
		return Organisation{}, fmt.Errorf("certificate has no organisation type (OU)")
	}
	t := OrgType(cert.Subject.OrganizationalUnit[0])
	if !knownOrgTypes[t] {
		return Organisation{}, fmt.Errorf("certificate has an unknown organisation type %q", t)
	}
	name := cert.Subject.CommonName
	if len(cert.Subject.Organization) > 0 {
		name = cert.Subject.Organization[0]
	}
	return Organisation{OIN: oin, Name: name, Type: t}, nil
}
