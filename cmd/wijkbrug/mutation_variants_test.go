package main

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// mutVariant is one valid request of a method that the mutation test derives mutated
// requests from, with who sends it.
type mutVariant struct {
	name string
	req  func(f *bolaFixture, mf *mutFixture) proto.Message
	who  actor
	// onBehalf is the organisation a Wijkbrug service acts for (service callers only).
	onBehalf string
	// source says where the valid request comes from: the BOLA table or this file.
	source string
}

// mutFixture holds objects the mutation test needs beyond the BOLA fixture.
type mutFixture struct {
	subscription string // the GP's NATS subscription
}

// Wijkbrug services as callers, for the methods only services may call (their certificates
// are in the suite's PKI directory); they act on behalf of team A as the real callers do.
var (
	svcIntake   = actor{"intake service", "svc-intake", "case_director"}
	svcCaseDir  = actor{"case-direction service", "svc-casedirection", "case_director"}
	svcProvider = actor{"provider-monitoring service", "svc-providermonitoring", "case_director"}
	svcReferral = actor{"referral service", "svc-referral", "case_director"}
	nightShift  = actor{"night shift (another team)", "other-TEAM", "case_director"}
)

// probeSuite is the running suite a probe (mutation, concurrency) drives: the BOLA fixture,
// the mutation fixture, the four service callers, and the services' log lines at INFO (the
// access line of every call is there too, so that a check for ERROR lines can show it saw the
// calls).
type probeSuite struct {
	s    *suite.Suite
	env  *bolaEnv
	base *bolaFixture
	mf   *mutFixture
	logs *syncBuffer
	// setup is how long the fixtures took once the suite was up.
	setup time.Duration
}

// startProbeSuite starts the suite as `make run` does (ephemeral) and makes the fixtures.
func startProbeSuite(t *testing.T) probeSuite {
	t.Helper()
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel() // bounds the start only: the suite runs on until t's cleanup stops it
	p := probeSuite{logs: &syncBuffer{}}
	s, err := suite.Start(ctx, suite.Options{Ephemeral: true, LogOutput: p.logs, LogLevel: "info"})
	if err != nil {
		t.Fatalf("start suite: %v", err)
	}
	t.Cleanup(s.Stop)
	p.s, p.env = s, newBolaEnv(t, s)
	addServiceCallers(t, p.env, s)
	p.base = setupBolaFixture(t, p.env)
	p.mf = setupMutationFixture(t, p.env)
	p.setup = time.Since(began) - s.StartedIn
	return p
}

// addServiceCallers loads the four service certificates of the suite into env.
func addServiceCallers(t *testing.T, env *bolaEnv, s *suite.Suite) {
	t.Helper()
	env.mu.Lock()
	defer env.mu.Unlock()
	for _, name := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
		dir := filepath.Join(s.DataDir, "pki")
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "service-"+name+".pem"), filepath.Join(dir, "service-"+name+"-key.pem"))
		if err != nil {
			t.Fatalf("service certificate of %s: %v", name, err)
		}
		env.certs["svc-"+name] = cert
		env.orgs["svc-"+name] = devca.Org{Name: "wijkbrug-" + name, Type: string(identity.OrgService)}
	}
}

// setupMutationFixture creates what mutFixture holds, through the real RPCs.
func setupMutationFixture(t *testing.T, env *bolaEnv) *mutFixture {
	t.Helper()
	sub := mustCall[*subscriptionsv1.CreateSubscriptionResponse](t, env, "referral", subscriptionsv1.SubscriptionService_CreateSubscription_FullMethodName, ownerGP,
		&subscriptionsv1.CreateSubscriptionRequest{StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL})
	return &mutFixture{subscription: sub.GetSubscription().GetSubscriptionId()}
}

// mutationExtraVariants are valid requests for the methods the BOLA table exempts (they take
// no foreign id, but they take input) and for those whose BOLA variants have no owner (the
// methods only Wijkbrug services may call): the mutation test probes every RPC.
func mutationExtraVariants() map[string][]mutVariant {
	const src = "mutation_variants_test.go"
	team := func(name string, req func(f *bolaFixture, mf *mutFixture) proto.Message) mutVariant {
		return mutVariant{name: name, req: req, who: ownerTeam, source: src}
	}
	as := func(who actor, name string, req func(f *bolaFixture, mf *mutFixture) proto.Message) mutVariant {
		return mutVariant{name: name, req: req, who: who, source: src}
	}
	service := func(who actor, name string, req func(f *bolaFixture, mf *mutFixture) proto.Message) mutVariant {
		return mutVariant{name: name, req: req, who: who, onBehalf: suite.DemoTeam.OIN, source: src}
	}
	oneDomain := []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}
	return map[string][]mutVariant{
		// intake
		intakev1.IntakeService_RegisterIntake_FullMethodName: {team("a second resident's intake", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &intakev1.RegisterIntakeRequest{Channel: intakev1.Channel_CHANNEL_DESK, ResidentBsn: f.bsn2, MunicipalityCode: suite.DemoMunicipality,
				DistrictCode: suite.DemoDistrict, Question: "help with forms", LifeDomains: oneDomain, Urgency: intakev1.Urgency_URGENCY_NORMAL}
		})},
		intakev1.IntakeService_RegisterResident_FullMethodName: {team("with name, birth date and address", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &intakev1.RegisterResidentRequest{Bsn: validBSN(55667788), MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
				Name: &intakev1.PersonName{GivenNames: "Jan", FamilyNamePrefix: "van", FamilyName: "Dijk"}, BirthDate: "1980-05-01",
				Address: &intakev1.Address{Street: "Dorpsstraat", HouseNumber: 7, HouseNumberAddition: "A", Postcode: "1011AB", City: "Amsterdam"}}
		})},
		intakev1.IntakeService_ListTeamQueue_FullMethodName: {team("page of 2", func(*bolaFixture, *mutFixture) proto.Message {
			return &intakev1.ListTeamQueueRequest{PageSize: 2}
		})},
		intakev1.IntakeService_CheckIntakeOwnership_FullMethodName: {service(svcReferral, "team A's intake", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &intakev1.CheckIntakeOwnershipRequest{IntakeId: f.intakeCase, OrganisationOin: suite.DemoTeam.OIN, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM}
		})},
		intakev1.IntakeService_ListHouseholdResidents_FullMethodName: {service(svcCaseDir, "A's household", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &intakev1.ListHouseholdResidentsRequest{HouseholdId: f.household1}
		})},

		// case-direction
		casedirectionv1.CaseDirectionService_ListCases_FullMethodName: {team("registered cases of household 1", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &casedirectionv1.ListCasesRequest{Statuses: []casedirectionv1.CaseStatus{casedirectionv1.CaseStatus_CASE_STATUS_REGISTERED},
				DirectorProfessionalId: "regisseur-anna", PageSize: 2, HouseholdId: f.household1, ResidentId: f.resident1}
		})},
		casedirectionv1.CaseDirectionService_OpenCase_FullMethodName: {service(svcIntake, "for household 2", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &casedirectionv1.OpenCaseRequest{HouseholdId: f.household2, IntakeId: f.intakeRecv, MunicipalityCode: suite.DemoMunicipality,
				DistrictCode: suite.DemoDistrict, TeamOin: suite.DemoTeam.OIN, LifeDomains: []commonv1.LifeDomain{1, 2, 3}}
		})},
		casedirectionv1.CaseDirectionService_CheckCaseInvolvement_FullMethodName: {service(svcReferral, "team A in case A", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &casedirectionv1.CheckCaseInvolvementRequest{CaseId: f.caseA, OrganisationOin: suite.DemoTeam.OIN, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM}
		})},
		casedirectionv1.CaseDirectionService_ListCaseResidents_FullMethodName: {service(svcProvider, "case A", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &casedirectionv1.ListCaseResidentsRequest{CaseId: f.caseA}
		})},
		casedirectionv1.CaseDirectionService_AttachAllocation_FullMethodName: {service(svcProvider, "an allocation for case A", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &casedirectionv1.AttachAllocationRequest{CaseId: f.caseA, AllocationNumber: "TW9000000002", ProviderAgb: suite.DemoProviderAGB,
				ProductCategory: "45", ProductCode: "45A01", Origin: casedirectionv1.AllocationOrigin_ALLOCATION_ORIGIN_PROVIDER_REQUEST, IssuedAt: timestamppb.Now()}
		})},

		// provider-monitoring
		providermonitoringv1.ProviderMonitoringService_Allocate_FullMethodName: {service(svcCaseDir, "for case A", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &providermonitoringv1.AllocateRequest{CaseId: f.caseA, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
				ProviderAgb: suite.DemoProviderAGB, ProductCategory: suite.DemoProductCategory, ProductCode: suite.DemoProductCode,
				StartDate: f.today, EndDate: f.later, Volume: hoursPerWeek(2)}
		})},
		providermonitoringv1.ProviderMonitoringService_ListMyAllocations_FullMethodName: {as(ownerProvider, "issued, page of 1", func(*bolaFixture, *mutFixture) proto.Message {
			return &providermonitoringv1.ListMyAllocationsRequest{Statuses: []commonv1.AllocationStatus{commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED}, PageSize: 1}
		})},
		providermonitoringv1.DecisionService_ListMandates_FullMethodName: {as(ownerMunicip, "A's municipality", func(*bolaFixture, *mutFixture) proto.Message {
			return &providermonitoringv1.ListMandatesRequest{MunicipalityCode: suite.DemoMunicipality}
		})},

		// referral
		subscriptionsv1.SubscriptionService_CreateSubscription_FullMethodName: {
			as(ownerGP, "NATS, from a time, one event type", func(*bolaFixture, *mutFixture) proto.Message {
				return &subscriptionsv1.CreateSubscriptionRequest{StartPoint: subscriptionsv1.StartPoint_START_POINT_TIME,
					StartTime: timestamppb.New(time.Now().Add(-time.Hour)), EventTypes: []string{"wijkbrug.referral.v1.SignalFedBack"}}
			}),
			as(ownerGP, "webhook", func(*bolaFixture, *mutFixture) proto.Message {
				return &subscriptionsv1.CreateSubscriptionRequest{StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL,
					Webhook: &subscriptionsv1.Webhook{Url: "https://localhost:9/wijkbrug/events"}}
			}),
		},
		subscriptionsv1.SubscriptionService_ListSubscriptions_FullMethodName: {as(ownerGP, "page of 1", func(*bolaFixture, *mutFixture) proto.Message {
			return &subscriptionsv1.ListSubscriptionsRequest{PageSize: 1}
		})},
		subscriptionsv1.SubscriptionService_PauseSubscription_FullMethodName: {as(ownerGP, "the GP's subscription", func(_ *bolaFixture, mf *mutFixture) proto.Message {
			return &subscriptionsv1.PauseSubscriptionRequest{SubscriptionId: mf.subscription, Paused: true}
		})},
		subscriptionsv1.SubscriptionService_DeleteSubscription_FullMethodName: {as(ownerGP, "the GP's subscription", func(_ *bolaFixture, mf *mutFixture) proto.Message {
			return &subscriptionsv1.DeleteSubscriptionRequest{SubscriptionId: mf.subscription}
		})},
		referralv1.ReferralService_SubmitSignal_FullMethodName: {as(ownerGP, "a GP's signal with arrears", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &referralv1.SubmitSignalRequest{SourceType: referralv1.SourceType_SOURCE_TYPE_GP, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO,
				ResidentBsn: f.bsnSignal, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict, LifeDomains: oneDomain,
				Category: "debts", Description: "worried", Arrears: &referralv1.Arrears{AmountCents: 245000, Months: 3,
					Creditor: &referralv1.Creditor{Name: "Woonstichting", Oin: suite.DemoHousing.OIN, Reference: "K-1"}}}
		})},
		referralv1.ReferralService_ListMySignals_FullMethodName: {as(ownerGP, "page of 1", func(*bolaFixture, *mutFixture) proto.Message {
			return &referralv1.ListMySignalsRequest{PageSize: 1}
		})},
		referralv1.ReferralService_ListReferrals_FullMethodName: {team("sent, page of 1", func(*bolaFixture, *mutFixture) proto.Message {
			return &referralv1.ListReferralsRequest{Side: referralv1.ReferralSide_REFERRAL_SIDE_REFERRER, PageSize: 1}
		})},
		referralv1.ReferralService_RecordConsent_FullMethodName: {team("for resident 1", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &referralv1.RecordConsentRequest{ResidentBsn: f.bsn1, ProcessingActivity: "referral", RecipientOins: []string{suite.DemoProvider.OIN},
				DataCategories: []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_IDENTITY, referralv1.DataCategory_DATA_CATEGORY_QUESTION},
				ValidFrom:      f.today, ValidUntil: f.later, MunicipalityCode: suite.DemoMunicipality}
		})},
		referralv1.ReferralService_GetProvision_FullMethodName: {team("the buddy project", func(*bolaFixture, *mutFixture) proto.Message {
			return &referralv1.GetProvisionRequest{ProvisionId: demoBuddyProvision}
		})},
		referralv1.ReferralService_SearchProvisions_FullMethodName: {team("text, age, domain, page of 1", func(*bolaFixture, *mutFixture) proto.Message {
			return &referralv1.SearchProvisionsRequest{MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
				LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK},
				Age:         40, HasAge: true, Text: "schulden", PageSize: 1}
		})},
		referralv1.ReferralService_ExportDirectory_FullMethodName: {team("page of 1", func(*bolaFixture, *mutFixture) proto.Message {
			return &referralv1.ExportDirectoryRequest{MunicipalityCode: suite.DemoMunicipality, PageSize: 1}
		})},
		referralv1.ReferralService_GetRecurringThemes_FullMethodName: {team("the last 30 days", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &referralv1.GetRecurringThemesRequest{MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
				FromDate: nowNL().AddDate(0, 0, -30).Format(time.DateOnly), ToDate: f.today}
		})},
		referralv1.ReferralService_BatchGetSignals_FullMethodName: {service(svcIntake, "the GP's signal", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &referralv1.BatchGetSignalsRequest{SignalIds: []string{f.signal}}
		})},

		// access log (every service)
		accesslogv1.AccessLogService_StartEmergencyAccess_FullMethodName: {as(nightShift, "case A", func(f *bolaFixture, _ *mutFixture) proto.Message {
			return &accesslogv1.StartEmergencyAccessRequest{ObjectType: "case", ObjectId: f.caseA, Reason: "resident in acute danger; own team unreachable at night", DurationMinutes: 15}
		})},
		accesslogv1.AccessLogService_ListEmergencyAccess_FullMethodName: {as(ownerMunicip, "the last hour, page of 1", func(*bolaFixture, *mutFixture) proto.Message {
			return &accesslogv1.ListEmergencyAccessRequest{Since: timestamppb.New(time.Now().Add(-time.Hour)), PageSize: 1}
		})},
	}
}
