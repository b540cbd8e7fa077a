package main

import (
	"slices"
	"testing"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
)

// bolaMatchedTeamRefers: team B's intake matches the household of team A's open case. A
// referral B makes for its own intake stays B's: case direction does not put it on A's case
// (where A could neither see nor cancel it, and it would hold up A's closing). A referral A
// makes for a later intake of its own of the same household is the case's.
func bolaMatchedTeamRefers(t *testing.T, env *bolaEnv, f *bolaFixture) {
	const (
		in = "intake"
		cd = "casedirection"
		rf = "referral"
	)
	bsn := validBSN(55667788)
	register := func(who actor, domains ...commonv1.LifeDomain) *intakev1.Intake {
		return mustCall[*intakev1.RegisterIntakeResponse](t, env, in, intakev1.IntakeService_RegisterIntake_FullMethodName, who, &intakev1.RegisterIntakeRequest{
			Channel: intakev1.Channel_CHANNEL_DESK, ResidentBsn: bsn, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
			Question: "help with debts", LifeDomains: domains, Urgency: intakev1.Urgency_URGENCY_NORMAL}).GetIntake()
	}
	opening := register(ownerTeam, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_MENTAL_HEALTH, commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK)
	caseID := opening.GetCaseId()
	if caseID == "" {
		t.Fatalf("team A's intake with three life domains opened no case: %v", opening)
	}
	later := register(ownerTeam, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES)
	matched := register(teamB, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES)
	if matched.GetHouseholdId() != opening.GetHouseholdId() || later.GetHouseholdId() != opening.GetHouseholdId() || matched.GetCaseId() != "" {
		t.Fatalf("the intakes must all be about the household of A's case (%s), B's without a case: A's later %s, B's %s (case %q)",
			opening.GetHouseholdId(), later.GetHouseholdId(), matched.GetHouseholdId(), matched.GetCaseId())
	}
	refer := func(who actor, intakeID string) string {
		return mustCall[*referralv1.CreateReferralResponse](t, env, rf, referralv1.ReferralService_CreateReferral_FullMethodName, who, &referralv1.CreateReferralRequest{
			ProvisionId: demoBuddyProvision, IntakeId: intakeID, ResidentBsn: bsn, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
			Question: "looking for a buddy", SharedDataCategories: []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_QUESTION},
			LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO, Send: true}).GetReferral().GetId()
	}
	// B's first: its event is on the stream before A's.
	bRef := refer(teamB, matched.GetId())
	aRef := refer(ownerTeam, later.GetId())

	referrals := func() []string {
		c := mustCall[*casedirectionv1.GetCaseResponse](t, env, cd, casedirectionv1.CaseDirectionService_GetCase_FullMethodName, ownerTeam,
			&casedirectionv1.GetCaseRequest{CaseId: caseID}).GetCase()
		var ids []string
		for _, r := range c.GetReferrals() {
			ids = append(ids, r.GetReferralId())
		}
		return ids
	}
	waitUntil(t, "team A's referral for its later intake on A's case", func() bool { return slices.Contains(referrals(), aRef) })
	// Every referral event delivered to case direction so far, B's included, is handled.
	testkit.WaitConsumerSettled(t, jetStreamAs(t, env.s, env.s.Observer), natsx.StreamName("referral"), "casedirection-referrals")
	if got := referrals(); slices.Contains(got, bRef) {
		t.Errorf("team B's referral %s for its matched intake is on team A's case: %v", bRef, got)
	}
}
