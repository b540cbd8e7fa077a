package main

import (
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"google.golang.org/protobuf/proto"
)

// mustCall makes a setup call that has to succeed.
func mustCall[T proto.Message](t *testing.T, env *bolaEnv, endpoint, method string, who actor, req proto.Message) T {
	t.Helper()
	resp, err := env.invoke(t, endpoint, method, who, req)
	if err != nil {
		t.Fatalf("setup: %s as %s: %v", method, who.label, err)
	}
	return resp.(T)
}

// setupBolaFixture creates, through the real RPCs and as their owners, one object of every
// kind an RPC takes an id of: A's (the demo team, GP, provider and municipality) and, for the
// cases that mix objects, a few of team B.
func setupBolaFixture(t *testing.T, env *bolaEnv) *bolaFixture {
	t.Helper()
	now := nowNL()
	f := &bolaFixture{
		today: now.Format(time.DateOnly), later: now.AddDate(0, 3, 0).Format(time.DateOnly),
		bsn1: validBSN(11223344), bsn2: validBSN(22334455), bsnB: validBSN(33445566), bsnSignal: validBSN(44556677),
		vtOIN: suite.DemoVeiligThuis.OIN,
	}
	const (
		pm = "providermonitoring"
		rf = "referral"
	)
	// Team B: its own resident, household, intake and case with a plan.
	ib := fixtureIntake(t, env, teamB, f.bsnB, fixtureThreeDomains)
	f.residentB, f.householdB, f.caseB = ib.GetResidentId(), ib.GetHouseholdId(), ib.GetCaseId()
	if f.caseB == "" {
		t.Fatalf("setup: team B's intake opened no case: %v", ib)
	}
	f.intakeBRecv = fixtureIntake(t, env, teamB, f.bsnB, fixtureOneDomain).GetId()
	f.goalB = f.plan(t, env, teamB, f.caseB)
	// The demo contract.
	contracts := mustCall[*providermonitoringv1.ListContractsResponse](t, env, pm, providermonitoringv1.ProviderMonitoringService_ListContracts_FullMethodName, ownerProvider,
		&providermonitoringv1.ListContractsRequest{ProviderAgb: suite.DemoProviderAGB, MunicipalityCode: suite.DemoMunicipality}).GetContracts()
	if len(contracts) == 0 {
		t.Fatal("setup: the demo provider has no contract")
	}
	f.contract = contracts[0].GetId()

	// A's objects.
	f.addOwnerObjects(t, env)
	f.provision = mustCall[*referralv1.GetProvisionResponse](t, env, rf, referralv1.ReferralService_GetProvision_FullMethodName, ownerTeam,
		&referralv1.GetProvisionRequest{ProvisionId: demoBuddyProvision}).GetProvision()
	f.directory = mustCall[*referralv1.ExportDirectoryResponse](t, env, rf, referralv1.ReferralService_ExportDirectory_FullMethodName, ownerTeam,
		&referralv1.ExportDirectoryRequest{MunicipalityCode: suite.DemoMunicipality}).GetHsdsJson()
	return f
}

var (
	fixtureThreeDomains = []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_MENTAL_HEALTH, commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK}
	fixtureOneDomain    = []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}
)

// The fixture's questions: confidential free text, which no database may hold in plain form.
const (
	fixtureIntakeQuestion   = "help with forms"
	fixtureReferralQuestion = "looking for a buddy"
	// Confidential free text the variants send, which no database may hold in clear.
	fixtureChangeReason       = "meer tijd nodig na de opname"
	fixtureClarification      = "vraagverheldering met bewoner over de schulden"
	fixtureConferenceDecision = "doorgaan met de schuldhulp, huisbezoek volgt"
)

// deskIntake is a desk intake in the demo municipality for the resident with this BSN.
func deskIntake(bsn string, domains []commonv1.LifeDomain) *intakev1.RegisterIntakeRequest {
	return &intakev1.RegisterIntakeRequest{Channel: intakev1.Channel_CHANNEL_DESK, ResidentBsn: bsn, MunicipalityCode: suite.DemoMunicipality,
		DistrictCode: suite.DemoDistrict, Question: fixtureIntakeQuestion, LifeDomains: domains, Urgency: intakev1.Urgency_URGENCY_NORMAL}
}

// fixtureIntake registers who's desk intake for the resident with this BSN.
func fixtureIntake(t *testing.T, env *bolaEnv, who actor, bsn string, domains []commonv1.LifeDomain) *intakev1.Intake {
	t.Helper()
	return mustCall[*intakev1.RegisterIntakeResponse](t, env, "intake", intakev1.IntakeService_RegisterIntake_FullMethodName, who, deskIntake(bsn, domains)).GetIntake()
}

// plan gives who's case a director and a plan with one goal, and returns the goal's id.
func (f *bolaFixture) plan(t *testing.T, env *bolaEnv, who actor, caseID string) string {
	t.Helper()
	const cd = "casedirection"
	mustCall[*casedirectionv1.AssignDirectorResponse](t, env, cd, casedirectionv1.CaseDirectionService_AssignDirector_FullMethodName, who,
		&casedirectionv1.AssignDirectorRequest{CaseId: caseID, ProfessionalId: "regisseur-anna"})
	c := mustCall[*casedirectionv1.AdoptPlanResponse](t, env, cd, casedirectionv1.CaseDirectionService_AdoptPlan_FullMethodName, who,
		&casedirectionv1.AdoptPlanRequest{CaseId: caseID, ResidentAgreed: true, ResidentAgreedOn: f.today, EvaluationDate: f.later,
			Goals: []*casedirectionv1.GoalInput{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, BaselineScore: 2, TargetScore: 4}}}).GetCase()
	if len(c.GetPlan().GetGoals()) != 1 {
		t.Fatalf("setup: plan without its goal: %v", c.GetPlan())
	}
	return c.GetPlan().GetGoals()[0].GetId()
}

// addOwnerObjects creates A's objects for the BSNs in f (bsn1, bsn2, bsnSignal): a case from
// an intake with three life domains, a RECEIVED and an IN_TRIAGE intake, a second resident, two
// assessments, a plan with a goal, an involvement, an allocation, a 315 request, a draft and a
// decided decision, a signal, two consents and referrals in every state. Run again with new
// BSNs it gives a fresh set (the concurrency test does).
func (f *bolaFixture) addOwnerObjects(t *testing.T, env *bolaEnv) {
	t.Helper()
	const (
		in = "intake"
		cd = "casedirection"
		pm = "providermonitoring"
		rf = "referral"
	)
	startTriage := func(id string) {
		mustCall[*intakev1.StartTriageResponse](t, env, in, intakev1.IntakeService_StartTriage_FullMethodName, ownerTeam, &intakev1.StartTriageRequest{IntakeId: id})
	}

	// Intake: A's intake that opened case A, one RECEIVED and one IN_TRIAGE of the same household.
	ic := fixtureIntake(t, env, ownerTeam, f.bsn1, fixtureThreeDomains)
	f.intakeCase, f.resident1, f.household1, f.caseA = ic.GetId(), ic.GetResidentId(), ic.GetHouseholdId(), ic.GetCaseId()
	if f.caseA == "" {
		t.Fatalf("setup: intake with three life domains opened no case: %v", ic)
	}
	f.intakeRecv = fixtureIntake(t, env, ownerTeam, f.bsn1, fixtureOneDomain).GetId()
	f.intakeTriage = fixtureIntake(t, env, ownerTeam, f.bsn1, fixtureOneDomain).GetId()
	startTriage(f.intakeTriage)
	r2 := mustCall[*intakev1.RegisterResidentResponse](t, env, in, intakev1.IntakeService_RegisterResident_FullMethodName, ownerTeam,
		&intakev1.RegisterResidentRequest{Bsn: f.bsn2, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict}).GetResident()
	f.resident2, f.household2 = r2.GetId(), r2.GetHouseholdId()
	assess := func(score int32) string {
		return mustCall[*intakev1.RecordAssessmentResponse](t, env, in, intakev1.IntakeService_RecordAssessment_FullMethodName, ownerTeam, &intakev1.RecordAssessmentRequest{
			ResidentId: f.resident1, InstrumentVersion: "ZRM-2017", Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_INTAKE,
			Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, Score: score}, {LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, Score: 3}}}).GetAssessment().GetId()
	}
	f.assessment1, f.assessment2 = assess(2), assess(3)

	// Case direction: director, plan (goal), involvement, allocation.
	f.goalA = f.plan(t, env, ownerTeam, f.caseA)
	// GP A advises in case A: an involved organisation may read the case.
	f.involvement = mustCall[*casedirectionv1.AddInvolvementResponse](t, env, cd, casedirectionv1.CaseDirectionService_AddInvolvement_FullMethodName, ownerTeam,
		&casedirectionv1.AddInvolvementRequest{CaseId: f.caseA, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_GP, OrganisationOin: suite.DemoGP.OIN,
			Role: casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_ADVISOR}).GetInvolvement().GetId()
	f.allocation = mustCall[*casedirectionv1.RequestAllocationResponse](t, env, cd, casedirectionv1.CaseDirectionService_RequestAllocation_FullMethodName, ownerTeam,
		&casedirectionv1.RequestAllocationRequest{CaseId: f.caseA, ProviderAgb: suite.DemoProviderAGB, ProductCategory: suite.DemoProductCategory,
			ProductCode: suite.DemoProductCode, StartDate: f.today, EndDate: f.later, Volume: hoursPerWeek(4)}).GetAllocationNumber()

	// Provider monitoring: the provider's request for allocation.
	f.request = mustCall[*providermonitoringv1.SubmitAllocationRequestResponse](t, env, pm, providermonitoringv1.ProviderMonitoringService_SubmitAllocationRequest_FullMethodName,
		ownerProvider, f.request315()).GetRequest().GetId()
	// Decisions: A's decided decision (a Wmo rejection: no allocation, within the Wmo
	// consultant's mandate) and A's draft.
	decisionOf := func(req *providermonitoringv1.DraftDecisionRequest) string {
		return mustCall[*providermonitoringv1.DraftDecisionResponse](t, env, pm, providermonitoringv1.DecisionService_DraftDecision_FullMethodName, ownerTeam, req).GetDecision().GetId()
	}
	f.decisionDraft = decisionOf(f.draftDecision())
	f.decision = decisionOf(&providermonitoringv1.DraftDecisionRequest{CaseId: f.caseA, LegalBasis: providermonitoringv1.LegalBasis_LEGAL_BASIS_WMO_2_3_5,
		Outcome: providermonitoringv1.DecisionOutcome_DECISION_OUTCOME_REJECTED, RejectionGrounds: "Een algemene voorziening is passend.",
		ApplicationDate: nowNL().Format(time.DateOnly), // the Wmo term runs from the application
		Product:         &providermonitoringv1.Product{Category: "02", Code: "02A01"}, MotivationText: "Onderzoek gedaan."})
	mustCall[*providermonitoringv1.ProposeDecisionResponse](t, env, pm, providermonitoringv1.DecisionService_ProposeDecision_FullMethodName, ownerTeam,
		&providermonitoringv1.ProposeDecisionRequest{DecisionId: f.decision})
	officer := ownerMunicip
	officer.role = "wmo_consultant"
	mustCall[*providermonitoringv1.DecideDecisionResponse](t, env, pm, providermonitoringv1.DecisionService_DecideDecision_FullMethodName, officer,
		&providermonitoringv1.DecideDecisionRequest{DecisionId: f.decision})

	// Referral: the GP's signal, team A's consents and referrals in every state, the social map.
	f.signal = mustCall[*referralv1.SubmitSignalResponse](t, env, rf, referralv1.ReferralService_SubmitSignal_FullMethodName, ownerGP, &referralv1.SubmitSignalRequest{
		SourceType: referralv1.SourceType_SOURCE_TYPE_GP, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO, ResidentBsn: f.bsnSignal,
		MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict, LifeDomains: fixtureOneDomain, Category: "debts", Description: "worried"}).GetSignalId()
	consent := func() string {
		return mustCall[*referralv1.RecordConsentResponse](t, env, rf, referralv1.ReferralService_RecordConsent_FullMethodName, ownerTeam, &referralv1.RecordConsentRequest{
			ResidentBsn: f.bsn1, ProcessingActivity: "referral", RecipientOins: []string{suite.DemoProvider.OIN},
			DataCategories:   []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_IDENTITY, referralv1.DataCategory_DATA_CATEGORY_QUESTION},
			MunicipalityCode: suite.DemoMunicipality}).GetConsent().GetId()
	}
	f.consent, f.consentW = consent(), consent()
	ref := func(send bool) string {
		return mustCall[*referralv1.CreateReferralResponse](t, env, rf, referralv1.ReferralService_CreateReferral_FullMethodName, ownerTeam, f.referral(send)).GetReferral().GetId()
	}
	step := func(method string, req proto.Message) {
		if _, err := env.invoke(t, rf, method, ownerProvider, req); err != nil {
			t.Fatalf("setup: %s: %v", method, err)
		}
	}
	accept := func(id string) {
		step(referralv1.ReferralService_AcceptReferral_FullMethodName, &referralv1.AcceptReferralRequest{ReferralId: id})
	}
	start := func(id string) {
		step(referralv1.ReferralService_StartReferral_FullMethodName, &referralv1.StartReferralRequest{ReferralId: id})
	}
	f.refDraft, f.refSent = ref(false), ref(true)
	f.refAccepted = ref(true)
	accept(f.refAccepted)
	f.refInProgress = ref(true)
	accept(f.refInProgress)
	start(f.refInProgress)
	f.refOnHold = ref(true)
	accept(f.refOnHold)
	start(f.refOnHold)
	step(referralv1.ReferralService_HoldReferral_FullMethodName, &referralv1.HoldReferralRequest{ReferralId: f.refOnHold, HoldReason: referralv1.HoldReason_HOLD_REASON_WAITLIST})
	f.refDeclined = ref(true)
	step(referralv1.ReferralService_DeclineReferral_FullMethodName, &referralv1.DeclineReferralRequest{ReferralId: f.refDeclined, Reason: referralv1.DeclineReason_DECLINE_REASON_CAPACITY})
}

// draftDecision drafts a granted youth-care decision on A's case.
func (f *bolaFixture) draftDecision() *providermonitoringv1.DraftDecisionRequest {
	return &providermonitoringv1.DraftDecisionRequest{CaseId: f.caseA, LegalBasis: providermonitoringv1.LegalBasis_LEGAL_BASIS_JEUGDWET_2_3,
		Outcome: providermonitoringv1.DecisionOutcome_DECISION_OUTCOME_GRANTED,
		Product: &providermonitoringv1.Product{Category: suite.DemoProductCategory, Code: suite.DemoProductCode}, ProviderAgb: suite.DemoProviderAGB,
		StartDate: f.today, EndDate: f.later, Volume: hoursPerWeek(2)}
}

// mandateRegister is a register for A's municipality (GM0363).
func (f *bolaFixture) mandateRegister() *providermonitoringv1.AdoptMandateRegisterRequest {
	return &providermonitoringv1.AdoptMandateRegisterRequest{MunicipalityCode: suite.DemoMunicipality,
		Mandates: []*providermonitoringv1.Mandate{{Name: "wmo-consulent", Role: "wmo_consultant", ProductCategories: []string{"02"},
			MaxVolume: 40, MaxBudgetCents: 2500000}},
		Paragraphs: &providermonitoringv1.StandardParagraphs{ObjectionClause: "Bezwaar binnen zes weken.", OwnContributionNotice: "Het CAK int een eigen bijdrage.",
			MunicipalityName: "Demo", PostalStreet: "Postbus 1000", PostalCode: "1000 AA", PostalCity: "Demo", MandateDecree: "Mandaatbesluit 2026"}}
}

func hoursPerWeek(n int32) *commonv1.Volume {
	return &commonv1.Volume{Amount: n, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}
}
