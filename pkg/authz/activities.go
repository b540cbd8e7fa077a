package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// Activity is one entry of the register of processing activities (verwerkingsregister, AVG
// article 30): a purpose a call may name in x-wijkbrug-purpose (doelbinding). The access log
// records it with every entry, so it must say why the data was processed, not anything a
// partner system happens to send.
type Activity struct {
	// Code is what x-wijkbrug-purpose carries.
	Code string
	// Name says what the processing is for.
	Name string
	// LegalBasis is the ground the processing rests on.
	LegalBasis string
	// Processors are the organisation types whose professionals may act for this purpose.
	// Wijkbrug services may forward any purpose of whoever they act for; an activity whose
	// only processor is SERVICE is one a service performs by itself (identity.System).
	Processors []identity.OrgType
	// NoResidentData marks an activity that processes no personal data of residents (the
	// social map, contracts, policy, aggregated figures, subscriptions): the access log
	// refuses to record a resident's data read or changed under it (ResidentDataError), so
	// the purpose a log entry names always covers what was processed.
	NoResidentData bool
}

var (
	// signallers are the organisation types that may submit a signal.
	signallers = []identity.OrgType{identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis,
		identity.OrgHousingCorporation, identity.OrgUtility, identity.OrgHealthInsurer, identity.OrgPolice,
		identity.OrgCreditBank, identity.OrgTeam, identity.OrgMunicipality}
	// partners are every partner organisation type except integrators, which hold no records.
	partners = append(slices.Clone(signallers), identity.OrgProvider)
	// everyone are all partner organisation types, integrators included.
	everyone     = append(slices.Clone(partners), identity.OrgIntegrator)
	teamTypes    = []identity.OrgType{identity.OrgTeam, identity.OrgMunicipality}
	careTypes    = []identity.OrgType{identity.OrgTeam, identity.OrgMunicipality, identity.OrgProvider}
	serviceTypes = []identity.OrgType{identity.OrgService}
)

// Activities is the register of processing activities of the region. A call whose purpose is
// not in it, or is not an activity of the caller's organisation type, is refused with
// PERMISSION_DENIED naming the activities that type has. It is code, like the role catalogue
// and the method policy: a new purpose is a decision of the region's data-protection function,
// reviewed and released, not an operator's setting. The register is printed under the policy
// table of docs/security.md (`wijkbrug policies`).
var Activities = []Activity{
	{"signal", "signalling: a partner reports concerns about a resident and follows its signal and the feedback on it",
		"Wmo 2015 art. 2.3.2 (investigation after a report) and 5.1.1; Wgs art. 3 (early signalling of arrears); Wmo 2015 art. 4.1.1 and the reporting code (Veilig Thuis)", signallers, false},
	{"intake", "access: intake, triage and queue of a help request, the resident and the household",
		"Wmo 2015 art. 2.3.2 and 5.1.1; Jeugdwet art. 2.3 and 7.4.0", teamTypes, false},
	{"case-direction", "case direction: one household, one plan, one director",
		"Wmo 2015 art. 2.3.2 and 5.1.1; Jeugdwet art. 2.3 and 7.4.0", teamTypes, false},
	{"case-consultation", "case consultation: an involved partner works on a household's plan",
		"AVG art. 6(1)(e) with Wmo 2015 art. 5.1.1 and Jeugdwet art. 7.4.0; consent where the partner's own task does not cover it", partners, false},
	{"referral", "referral to a provision on the social map, with feedback to whoever referred",
		"AVG art. 6(1)(a): the resident's consent, recorded per referral (RecordConsent), or the referrer's own legal task", partners, false},
	{"allocation", "allocation of custom care to a provider (iWmo/iJw 301, 315, 317)",
		"Wmo 2015 art. 2.3.5; Jeugdwet art. 2.3; the provider's contract", careTypes, false},
	{"care-delivery", "delivery of allocated care: start, stop, progress and volume (iWmo/iJw 305, 307)",
		"Wmo 2015 art. 2.3.5 and 5.1.1; Jeugdwet art. 7.4.0; the provider's contract", careTypes, false},
	{"decisions", "decisions on applications (beschikkingen), their letters and objections",
		"Awb; Wmo 2015 art. 2.3.5; Jeugdwet art. 2.3", careTypes, false},
	{"mandates", "the mandate register: who may decide on what",
		"Awb art. 10:1–10:12", []identity.OrgType{identity.OrgMunicipality}, true},
	{"monitoring", "monitoring whether allocated care starts, works and can be scaled down; outcome reports",
		"Wmo 2015 art. 2.1.2 and 5.1.1; Jeugdwet art. 7.4.0", careTypes, false},
	{"contract-management", "contracts with providers and their use",
		"the contract between municipality and provider; no personal data of residents", []identity.OrgType{identity.OrgMunicipality, identity.OrgProvider}, true},
	{"triage-policy", "setting the triage policy of the municipality",
		"Wmo 2015 art. 2.1.2 (policy plan); no personal data", []identity.OrgType{identity.OrgMunicipality}, true},
	{"collective-work", "recurring themes of a neighbourhood for collective work (groups under 5 residents suppressed)",
		"Wmo 2015 art. 2.1.2 and 5.1.1; aggregated", teamTypes, true},
	{"right-of-access", "answering a resident's request to see who looked at their data",
		"AVG art. 15; NEN 7513", []identity.OrgType{identity.OrgMunicipality}, false},
	{"access-supervision", "supervising the access log and the emergency grants",
		"AVG art. 5(2) and 32; NEN 7510 and 7513", []identity.OrgType{identity.OrgMunicipality}, false},
	{"social-map", "searching and publishing the social map of provisions",
		"no personal data of residents", everyone, true},
	{"event-delivery", "receiving events about one's own signals, referrals, allocations and cases",
		"the ground of the activity the events are about; events carry no personal data of residents", everyone, true},
	{"signal-intake", "a signal becomes an intake (intake's consumer)", "as signal and intake", serviceTypes, false},
	{"signal-feedback", "feedback to the source of a signal or referral (referral's consumers)", "as signal and referral", serviceTypes, false},
	{"triage-deadline", "intakes past their triage deadline (intake's scheduler)", "as intake", serviceTypes, false},
	{"case-monitoring", "a case follows its allocations, referrals and household; overdue check-ins (case-direction)", "as case-direction", serviceTypes, false},
	{"outcome-reporting", "the outcome read model (case-direction)", "as monitoring", serviceTypes, false},
	{"referral-expiry", "referrals past their accept-by date (referral's scheduler)", "as referral", serviceTypes, false},
	{"care-monitoring", "allocations and decisions follow the cases they belong to (provider-monitoring)", "as care-delivery", serviceTypes, false},
	{"retention", "deleting published outbox events and idempotency keys past their retention (every service's scheduler)",
		"storage limitation (AVG art. 5(1)(e))", serviceTypes, false},
}

// ActivityOf returns the register entry of code.
func ActivityOf(code string) (Activity, bool) {
	for _, a := range Activities {
		if a.Code == code {
			return a, true
		}
	}
	return Activity{}, false
}

// ActivitiesOf lists the codes of the activities professionals of organisation type t may act
// for, in the register's order.
func ActivitiesOf(t identity.OrgType) []string {
	var codes []string
	for _, a := range Activities {
		if slices.Contains(a.Processors, t) {
			codes = append(codes, a.Code)
		}
	}
	return codes
}

// checkPurpose refuses a purpose that is not in the register, or that is not an activity of the
// caller's organisation type. A service may forward any registered purpose.
func checkPurpose(c identity.Caller) error {
	a, ok := ActivityOf(c.Purpose)
	if c.Org.Type == identity.OrgService {
		if ok {
			return nil
		}
		return apperr.PermissionDenied(fmt.Sprintf("purpose %q is not in the register of processing activities", c.Purpose))
	}
	if ok && slices.Contains(a.Processors, c.Org.Type) {
		return nil
	}
	why := "is not in the register of processing activities"
	if ok {
		why = "is not a processing activity of organisation type " + string(c.Org.Type)
	}
	return apperr.PermissionDenied(fmt.Sprintf("purpose %q %s; its activities: %s",
		c.Purpose, why, strings.Join(ActivitiesOf(c.Org.Type), ", ")))
}

// ResidentDataError refuses a resident's data read or changed under the purpose of c when the
// register says that activity processes none (NoResidentData): PERMISSION_DENIED naming the
// activities of the caller's type that do. The access log asks it for every entry that names
// a resident, so nothing about a resident is shown or changed under such a purpose. nil when
// the purpose may process residents' data, or is not in the register (checkPurpose refused
// that call already).
func ResidentDataError(c identity.Caller) error {
	a, ok := ActivityOf(c.Purpose)
	if !ok || !a.NoResidentData {
		return nil
	}
	if c.Org.Type == identity.OrgService {
		// A service forwards the purpose of the organisation it acts for, whose type it does
		// not know here: the activities only services have would be no advice.
		return apperr.PermissionDenied(fmt.Sprintf("purpose %q processes no personal data of residents, and this call reads or changes a resident's data; name an activity of your organisation type that does (docs/security.md, the register under the policy)",
			c.Purpose))
	}
	var may []string
	for _, code := range ActivitiesOf(c.Org.Type) {
		if b, _ := ActivityOf(code); !b.NoResidentData {
			may = append(may, code)
		}
	}
	return apperr.PermissionDenied(fmt.Sprintf("purpose %q processes no personal data of residents, and this call reads or changes a resident's data; name the activity it serves: %s",
		c.Purpose, strings.Join(may, ", ")))
}
