package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logserver"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	outcomesv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/outcomes/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The BOLA matrix (OWASP API1, issue 7): every RPC of every Wijkbrug service either has a
// case here or an explicit exemption with a reason. A case builds a request that references
// objects of organisation A (valid in every other respect, so that the per-object check is
// what decides) and calls it as
//
//   - an organisation of each allowed type but another OIN → PERMISSION_DENIED or NOT_FOUND;
//   - an organisation of a type the method's rule does not allow → PERMISSION_DENIED;
//   - where the rule names roles: A itself with another role → PERMISSION_DENIED;
//   - extra callers the case names (e.g. the other side of a referral).
//
// Positive controls show that the refusals are not artefacts: the owners of a read get OK
// before the foreign calls; the owner of a change is not refused by validation or
// authorisation (OK, FAILED_PRECONDITION or ALREADY_EXISTS) after all foreign calls.
//
// The methods come from the generated service descriptors, so a new RPC without an entry
// here (or without a policy rule) fails the test.

// bolaServices are the descriptors of every gRPC API Wijkbrug serves, with the suite
// endpoints that serve them.
type bolaAPI struct {
	desc      grpc.ServiceDesc
	endpoints []string
}

var bolaServices = []bolaAPI{
	{intakev1.IntakeService_ServiceDesc, []string{"intake"}},
	{casedirectionv1.CaseDirectionService_ServiceDesc, []string{"casedirection"}},
	{providermonitoringv1.ProviderMonitoringService_ServiceDesc, []string{"providermonitoring"}},
	{providermonitoringv1.DecisionService_ServiceDesc, []string{"providermonitoring"}},
	{referralv1.ReferralService_ServiceDesc, []string{"referral"}},
	{subscriptionsv1.SubscriptionService_ServiceDesc, []string{"referral"}},
	{accesslogv1.AccessLogService_ServiceDesc, []string{"intake", "casedirection", "providermonitoring", "referral"}},
	{outcomesv1.OutcomeService_ServiceDesc, []string{"casedirection"}},
}

// actor is who makes a call: an organisation (key into bolaEnv.orgs) and the acting role.
type actor struct {
	label string
	org   string
	role  string
}

// bolaVariant is one request shape of a method.
type bolaVariant struct {
	name string
	// req builds the request; idempotency keys are filled in per call.
	req func(f *bolaFixture) proto.Message
	// owners may use the object: for a read they must get OK (before the foreign calls); for
	// a change the first owner must not be refused by validation or authorisation (after all
	// foreign calls).
	owners []actor
	read   bool
	// filtered: the method answers with the caller's own records only. A foreign OK is
	// accepted when the answer contains none of these ids (of A's records).
	filtered func(f *bolaFixture) []string
	// publicTo are allowed organisation types whose other organisations may read the object
	// (documented as such); they are not called as "other organisation".
	publicTo []identity.OrgType
	// extra callers and the codes they must get.
	extra []extraCall
	// alsoRefused are further codes that count as a refusal of another organisation, with
	// why; when unknown is set, such an answer must equal (code and message) the answer to
	// the same request with unknown ids, so it confirms nothing about A's record.
	alsoRefused []codes.Code
	why         string
	unknown     func(f *bolaFixture) proto.Message
}

type extraCall struct {
	who  actor
	want []codes.Code
}

type bolaEntry struct {
	exempt   string
	variants []bolaVariant
}

// Organisations A (the owners): the demo partners of the suite.
var (
	ownerTeam     = actor{"team A", "team", "case_director"}
	ownerGP       = actor{"GP A", "gp", "gp"}
	ownerProvider = actor{"provider A", "provider", "care_coordinator"}
	ownerMunicip  = actor{"municipality A", "municipality", ""}
	teamB         = actor{"team B", "other-TEAM", "case_director"}
)

// wrongTypePreference: the first type not allowed by a rule is used as the wrong type.
var wrongTypePreference = []identity.OrgType{identity.OrgIntegrator, identity.OrgHousingCorporation, identity.OrgProvider,
	identity.OrgGP, identity.OrgTeam, identity.OrgMunicipality, identity.OrgPolice}

var partnerTypes = []identity.OrgType{identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis, identity.OrgHousingCorporation,
	identity.OrgUtility, identity.OrgHealthInsurer, identity.OrgPolice, identity.OrgCreditBank, identity.OrgProvider, identity.OrgTeam,
	identity.OrgMunicipality, identity.OrgIntegrator}

// bolaFixture holds the ids of the objects organisation A (and, for cross-object cases,
// team B) created through the real RPCs.
type bolaFixture struct {
	today, later                                      string
	bsn1, bsn2, bsnB, bsnSignal                       string
	intakeCase, intakeRecv, intakeTriage, intakeBRecv string
	resident1, resident2, residentB                   string
	household1, household2, householdB                string
	assessment1, assessment2                          string
	caseA, caseB, goalA, goalB                        string
	involvement                                       string
	allocation, request, contract                     string
	decision, decisionDraft                           string
	signal                                            string
	consent, consentW                                 string
	refDraft, refSent, refAccepted, refInProgress     string
	refOnHold, refDeclined                            string
	provision                                         *referralv1.Provision
	directory                                         string
	vtOIN                                             string
}

const (
	demoBuddyProvision = "f2bd4a52-bf43-5781-a4e2-f86c34329233"
	demoDebtProvision  = "c32cf85b-6e4e-5df6-a906-90a238660910"
	bolaRoleWrong      = authz.RoleProfessional // a known role of every type, never one a rule asks for
	bolaUnknownID      = "00000000-0000-4000-8000-00000000b01a"
)

func bolaTable() map[string]bolaEntry {
	cd := func(m string) string { return "/wijkbrug.casedirection.v1.CaseDirectionService/" + m }
	in := func(m string) string { return "/wijkbrug.intake.v1.IntakeService/" + m }
	pm := func(m string) string { return "/wijkbrug.providermonitoring.v1.ProviderMonitoringService/" + m }
	dc := func(m string) string { return "/wijkbrug.providermonitoring.v1.DecisionService/" + m }
	rf := func(m string) string { return "/wijkbrug.referral.v1.ReferralService/" + m }
	sb := func(m string) string { return "/wijkbrug.subscriptions.v1.SubscriptionService/" + m }
	al := func(m string) string { return "/wijkbrug.accesslog.v1.AccessLogService/" + m }
	oc := func(m string) string { return "/wijkbrug.outcomes.v1.OutcomeService/" + m }
	// Outcome figures: the demo municipality sees its municipality, team A its own figures
	// (another team's call is narrowed to itself, so it must not show team A's OIN; naming
	// team A is refused).
	// The fixture's intakes, cases, referrals and allocations give team A rows; it closes no
	// case (no ZRM rows), and the export's CSV is base64 in the JSON answer, so those two are
	// checked with team A named only.
	outcomeRead := func(rowsOfA bool, req func(team string) proto.Message) bolaEntry {
		e := bolaEntry{variants: []bolaVariant{
			{name: "team A", read: true, owners: []actor{ownerMunicip, ownerTeam}, req: func(*bolaFixture) proto.Message { return req(suite.DemoTeam.OIN) }},
		}}
		if rowsOfA {
			e.variants = append(e.variants, bolaVariant{name: "the municipality", read: true, owners: []actor{ownerMunicip, ownerTeam},
				req: func(*bolaFixture) proto.Message { return req("") }, filtered: func(*bolaFixture) []string { return []string{suite.DemoTeam.OIN} }})
		}
		return e
	}
	one := func(v bolaVariant) bolaEntry { return bolaEntry{variants: []bolaVariant{v}} }
	exempt := func(reason string) bolaEntry { return bolaEntry{exempt: reason} }
	teamRead := func(req func(f *bolaFixture) proto.Message) bolaEntry {
		return one(bolaVariant{req: req, owners: []actor{ownerTeam}, read: true})
	}
	teamChange := func(req func(f *bolaFixture) proto.Message) bolaEntry {
		return one(bolaVariant{req: req, owners: []actor{ownerTeam}})
	}
	pmReaders := []actor{ownerProvider, ownerTeam, ownerMunicip}
	pmMunicipal := []actor{ownerTeam, ownerMunicip}
	recipientSide := func(name string, req func(f *bolaFixture) proto.Message) bolaEntry {
		return one(bolaVariant{req: req, owners: []actor{ownerProvider},
			extra: []extraCall{{actor{"team A (referrer, not the recipient's side)", "team", "case_director"}, []codes.Code{codes.PermissionDenied}}}})
	}
	t := map[string]bolaEntry{
		// ---------------------------------------------------------------- intake
		in("RegisterIntake"):   exempt("creates a new intake owned by the calling team; takes a BSN, no id of another organisation's record. A BSN of another team's resident gives a match, not access: the sequence bolaSecondTeamRegisters checks that"),
		in("RegisterResident"): exempt("registers (or finds) a resident by BSN for the calling team: how a team starts working with a resident; no foreign id (see report: it links the caller to an existing resident)"),
		in("ListTeamQueue"):    exempt("takes no id: lists the calling team's own queue"),
		in("ListIntakes"): one(bolaVariant{name: "A's resident", read: true, owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &intakev1.ListIntakesRequest{ResidentId: f.resident1}
		}, filtered: func(f *bolaFixture) []string { return []string{f.intakeCase, f.intakeRecv, f.intakeTriage} }}),
		in("GetIntake"):   teamRead(func(f *bolaFixture) proto.Message { return &intakev1.GetIntakeRequest{IntakeId: f.intakeCase} }),
		in("StartTriage"): teamChange(func(f *bolaFixture) proto.Message { return &intakev1.StartTriageRequest{IntakeId: f.intakeRecv} }),
		in("DecideTriage"): teamChange(func(f *bolaFixture) proto.Message {
			return &intakev1.DecideTriageRequest{IntakeId: f.intakeTriage, Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_ADVICE}
		}),
		in("RecordContactAttempt"): teamChange(func(f *bolaFixture) proto.Message {
			return &intakev1.RecordContactAttemptRequest{IntakeId: f.intakeTriage, Kind: intakev1.ContactKind_CONTACT_KIND_PHONE}
		}),
		in("RecordClarification"): teamChange(func(f *bolaFixture) proto.Message {
			return &intakev1.RecordClarificationRequest{IntakeId: f.intakeRecv, HeldOn: f.today, Summary: fixtureClarification,
				Participants: []*intakev1.ClarificationParticipant{{Role: intakev1.ClarificationParticipantRole_CLARIFICATION_PARTICIPANT_ROLE_RESIDENT}},
				NextStep:     intakev1.ClarificationNextStep_CLARIFICATION_NEXT_STEP_ADVICE}
		}),
		in("WithdrawIntake"): teamChange(func(f *bolaFixture) proto.Message { return &intakev1.WithdrawIntakeRequest{IntakeId: f.intakeTriage} }),
		in("MergeIntake"): {variants: []bolaVariant{
			{name: "A's duplicate into A's intake", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &intakev1.MergeIntakeRequest{IntakeId: f.intakeRecv, IntoIntakeId: f.intakeTriage}
			}},
			{name: "B's intake into A's intake", req: func(f *bolaFixture) proto.Message {
				return &intakev1.MergeIntakeRequest{IntakeId: f.intakeBRecv, IntoIntakeId: f.intakeTriage}
			}},
		}},
		in("GetTriagePolicy"): one(bolaVariant{read: true, owners: []actor{ownerMunicip, ownerTeam},
			// Policies hold no personal data: any team or municipality may read any municipality's
			// (intake app.GetTriagePolicy; the proto comment "a municipality for its own policy"
			// says otherwise). Only the wrong type is tried.
			publicTo: []identity.OrgType{identity.OrgTeam, identity.OrgMunicipality},
			req: func(f *bolaFixture) proto.Message {
				return &intakev1.GetTriagePolicyRequest{MunicipalityCode: suite.DemoMunicipality}
			}}),
		in("ReplaceTriagePolicy"): one(bolaVariant{owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return &intakev1.ReplaceTriagePolicyRequest{MunicipalityCode: suite.DemoMunicipality, Positioning: intakev1.Positioning_POSITIONING_FIRST_ACCESS,
				ContactAttempts: 3, TriageDays: 5, ExpectedVersion: 0, Rules: []*intakev1.TriageRule{
					{Name: "crisis", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_CRISIS, Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION},
					{Name: "three-or-more-domains", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_LIFE_DOMAINS_AT_LEAST, MinCount: 3, Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION},
				}}
		}}),
		in("RecordAssessment"): {variants: []bolaVariant{
			{name: "A's resident", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &intakev1.RecordAssessmentRequest{ResidentId: f.resident1, InstrumentVersion: "ZRM-2017",
					Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_INTAKE, Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, Score: 2}}}
			}},
			{name: "A's household", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &intakev1.RecordAssessmentRequest{HouseholdId: f.household1, InstrumentVersion: "ZRM-2017",
					Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_INTAKE, Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, Score: 2}}}
			}},
			{name: "B's resident with A's intake", req: func(f *bolaFixture) proto.Message {
				return &intakev1.RecordAssessmentRequest{ResidentId: f.residentB, IntakeId: f.intakeCase, InstrumentVersion: "ZRM-2017",
					Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_INTAKE, Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, Score: 2}}}
			}, alsoRefused: []codes.Code{codes.InvalidArgument}, why: "a reference to an intake the team does not own is a bad field, answered as for an unknown intake",
				unknown: func(f *bolaFixture) proto.Message {
					return &intakev1.RecordAssessmentRequest{ResidentId: f.residentB, IntakeId: bolaUnknownID, InstrumentVersion: "ZRM-2017",
						Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_INTAKE, Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, Score: 2}}}
				}},
		}},
		in("ListAssessments"): {variants: []bolaVariant{
			{name: "A's resident", read: true, owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &intakev1.ListAssessmentsRequest{ResidentId: f.resident1}
			}},
			{name: "A's household", read: true, owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &intakev1.ListAssessmentsRequest{HouseholdId: f.household1}
			}},
		}},
		in("CompareAssessments"): teamRead(func(f *bolaFixture) proto.Message {
			return &intakev1.CompareAssessmentsRequest{FromAssessmentId: f.assessment1, ToAssessmentId: f.assessment2}
		}),
		in("FindResident"): teamRead(func(f *bolaFixture) proto.Message { return &intakev1.FindResidentRequest{Bsn: f.bsn1} }),
		in("MergeResidents"): {variants: []bolaVariant{
			{name: "A's residents", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &intakev1.MergeResidentsRequest{KeepResidentId: f.resident1, DuplicateResidentId: f.resident2}
			}},
			{name: "A's resident into B's", req: func(f *bolaFixture) proto.Message {
				return &intakev1.MergeResidentsRequest{KeepResidentId: f.residentB, DuplicateResidentId: f.resident2}
			}},
		}},
		in("GetResident"): teamRead(func(f *bolaFixture) proto.Message { return &intakev1.GetResidentRequest{ResidentId: f.resident1} }),
		in("UpdateResident"): teamChange(func(f *bolaFixture) proto.Message {
			return &intakev1.UpdateResidentRequest{ResidentId: f.resident1, DistrictCode: suite.DemoDistrict}
		}),
		in("CreateHousehold"): one(bolaVariant{name: "with A's resident", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &intakev1.CreateHouseholdRequest{MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
				Address: &intakev1.Address{Street: "Dorpsstraat", HouseNumber: 7, Postcode: "1011AB", City: "Amsterdam"},
				Members: []*intakev1.NewHouseholdMember{{ResidentId: f.resident1, Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_APPLICANT}}}
		}}),
		in("AddHouseholdMember"): {variants: []bolaVariant{
			{name: "A's resident to A's household", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &intakev1.AddHouseholdMemberRequest{HouseholdId: f.household1, ResidentId: f.resident2, Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_PARTNER}
			}},
			{name: "A's resident to B's household", req: func(f *bolaFixture) proto.Message {
				return &intakev1.AddHouseholdMemberRequest{HouseholdId: f.householdB, ResidentId: f.resident1, Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_PARTNER}
			}},
			{name: "B's resident to A's household", req: func(f *bolaFixture) proto.Message {
				return &intakev1.AddHouseholdMemberRequest{HouseholdId: f.household1, ResidentId: f.residentB, Role: intakev1.HouseholdRole_HOUSEHOLD_ROLE_PARTNER}
			}},
		}},
		in("RemoveHouseholdMember"): teamChange(func(f *bolaFixture) proto.Message {
			return &intakev1.RemoveHouseholdMemberRequest{HouseholdId: f.household1, ResidentId: f.resident1, EndedOn: f.today}
		}),
		in("CheckIntakeOwnership"): one(bolaVariant{why: "Wijkbrug services only (referral checks its caller); every partner type is refused by policy",
			req: func(f *bolaFixture) proto.Message {
				return &intakev1.CheckIntakeOwnershipRequest{IntakeId: f.intakeCase, OrganisationOin: suite.DemoTeam.OIN, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM}
			}}),
		in("GetHousehold"): teamRead(func(f *bolaFixture) proto.Message { return &intakev1.GetHouseholdRequest{HouseholdId: f.household1} }),
		in("ListHouseholdResidents"): one(bolaVariant{why: "Wijkbrug services only (case-direction keeps a case's residents); every partner type is refused by policy",
			req: func(f *bolaFixture) proto.Message {
				return &intakev1.ListHouseholdResidentsRequest{HouseholdId: f.household1}
			}}),

		// ---------------------------------------------------------------- case-direction
		cd("ListCases"): exempt("takes no id: lists the calling team's own caseload"),
		cd("ListInvolvedCases"): one(bolaVariant{name: "A's involved case", read: true, owners: []actor{ownerGP}, req: func(f *bolaFixture) proto.Message {
			return &casedirectionv1.ListInvolvedCasesRequest{}
		}, filtered: func(f *bolaFixture) []string { return []string{f.caseA} }}),
		cd("OpenCase"): {variants: []bolaVariant{
			{name: "A's household with its open case, for B", req: func(f *bolaFixture) proto.Message {
				return &casedirectionv1.OpenCaseRequest{HouseholdId: f.household1, IntakeId: f.intakeCase, MunicipalityCode: suite.DemoMunicipality,
					DistrictCode: suite.DemoDistrict, TeamOin: "{caller}", LifeDomains: []commonv1.LifeDomain{1, 2, 3}}
			}, alsoRefused: []codes.Code{codes.AlreadyExists},
				why: "one open case per household across teams; another team learns only that there is one, not its id (casedirection app.alreadyOpen)"},
			{name: "A's household without a case, for B", req: func(f *bolaFixture) proto.Message {
				return &casedirectionv1.OpenCaseRequest{HouseholdId: f.household2, IntakeId: f.intakeRecv, MunicipalityCode: suite.DemoMunicipality,
					DistrictCode: suite.DemoDistrict, TeamOin: "{caller}", LifeDomains: []commonv1.LifeDomain{1, 2, 3}}
			}},
			{name: "for team A", req: func(f *bolaFixture) proto.Message {
				return &casedirectionv1.OpenCaseRequest{HouseholdId: f.householdB, IntakeId: f.intakeBRecv, MunicipalityCode: suite.DemoMunicipality,
					DistrictCode: suite.DemoDistrict, TeamOin: suite.DemoTeam.OIN, LifeDomains: []commonv1.LifeDomain{1, 2, 3}}
			}},
		}},
		cd("CheckCaseInvolvement"): one(bolaVariant{why: "Wijkbrug services only (referral checks its caller); every partner type is refused by policy",
			req: func(f *bolaFixture) proto.Message {
				return &casedirectionv1.CheckCaseInvolvementRequest{CaseId: f.caseA, OrganisationOin: suite.DemoTeam.OIN, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM}
			}}),
		cd("ListCaseResidents"): one(bolaVariant{why: "Wijkbrug services only (provider-monitoring logs under a case's residents); every partner type is refused by policy",
			req: func(f *bolaFixture) proto.Message {
				return &casedirectionv1.ListCaseResidentsRequest{CaseId: f.caseA}
			}}),
		cd("AttachAllocation"): one(bolaVariant{why: "Wijkbrug services only (provider-monitoring records an allocation it issues for a case); every partner type is refused by policy",
			req: func(f *bolaFixture) proto.Message {
				return &casedirectionv1.AttachAllocationRequest{CaseId: f.caseA, AllocationNumber: "TW9000000001", ProviderAgb: suite.DemoProviderAGB,
					ProductCategory: "45", ProductCode: "45A01", Origin: casedirectionv1.AllocationOrigin_ALLOCATION_ORIGIN_PROVIDER_REQUEST, IssuedAt: timestamppb.Now()}
			}}),
		cd("GetCase"): one(bolaVariant{read: true, owners: []actor{ownerTeam, ownerGP}, req: func(f *bolaFixture) proto.Message {
			return &casedirectionv1.GetCaseRequest{CaseId: f.caseA}
		}}),
		cd("ListInvolvements"): one(bolaVariant{read: true, owners: []actor{ownerTeam, ownerGP}, req: func(f *bolaFixture) proto.Message {
			return &casedirectionv1.ListInvolvementsRequest{CaseId: f.caseA}
		}}),
		cd("AddInvolvement"): one(bolaVariant{name: "the caller itself in A's case", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &casedirectionv1.AddInvolvementRequest{CaseId: f.caseA, OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, OrganisationOin: "{caller}",
				Role: casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_ADVISOR}
		}, extra: []extraCall{{actor{"GP A (involved advisor)", "gp", "gp"}, []codes.Code{codes.PermissionDenied}}}}),
		cd("EndInvolvement"): one(bolaVariant{owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &casedirectionv1.EndInvolvementRequest{CaseId: f.caseA, InvolvementId: f.involvement}
		}, extra: []extraCall{{actor{"GP A (involved advisor)", "gp", "gp"}, []codes.Code{codes.PermissionDenied}}}}),
		cd("AssignDirector"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.AssignDirectorRequest{CaseId: f.caseA, ProfessionalId: "regisseur-bola"}
		}),
		cd("RequestAllocation"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.RequestAllocationRequest{CaseId: f.caseA, ProviderAgb: suite.DemoProviderAGB, ProductCategory: suite.DemoProductCategory,
				ProductCode: suite.DemoProductCode, StartDate: f.today, EndDate: f.later, Volume: hoursPerWeek(2)}
		}),
		cd("AdoptPlan"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.AdoptPlanRequest{CaseId: f.caseA, ResidentAgreed: true, ResidentAgreedOn: f.today, EvaluationDate: f.later,
				Goals: []*casedirectionv1.GoalInput{{GoalId: f.goalA, LifeDomain: 1, BaselineScore: 2, TargetScore: 4}}}
		}),
		cd("StartPlanExecution"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.StartPlanExecutionRequest{CaseId: f.caseA}
		}),
		cd("AddGoalAction"): {variants: []bolaVariant{
			{name: "A's case", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &casedirectionv1.AddGoalActionRequest{CaseId: f.caseA, GoalId: f.goalA, AllocationNumber: f.allocation}
			}},
			{name: "B's case with A's allocation", req: func(f *bolaFixture) proto.Message {
				return &casedirectionv1.AddGoalActionRequest{CaseId: f.caseB, GoalId: f.goalB, AllocationNumber: f.allocation}
			}},
		}},
		cd("SetGoalStatus"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.SetGoalStatusRequest{CaseId: f.caseA, GoalId: f.goalA, Status: casedirectionv1.GoalStatus_GOAL_STATUS_IN_PROGRESS}
		}),
		cd("RecordEvaluation"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.RecordEvaluationRequest{CaseId: f.caseA, AssessmentId: f.assessment2, BaselineAssessmentId: f.assessment1, Decision: casedirectionv1.EvaluationDecision_EVALUATION_DECISION_CONTINUE}
		}),
		cd("RecordCaseConference"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.RecordCaseConferenceRequest{CaseId: f.caseA, HeldOn: f.today,
				Attendees: []*casedirectionv1.Attendee{{OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_TEAM, ProfessionalId: "regisseur-anna"}}, Decisions: []string{fixtureConferenceDecision}}
		}),
		cd("CheckIn"): teamChange(func(f *bolaFixture) proto.Message { return &casedirectionv1.CheckInRequest{CaseId: f.caseA} }),
		cd("RecordSafetyConcern"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.RecordSafetyConcernRequest{CaseId: f.caseA, Kind: casedirectionv1.SafetyConcernKind_SAFETY_CONCERN_KIND_DOMESTIC_VIOLENCE,
				MeldcodeStep: casedirectionv1.MeldcodeStep_MELDCODE_STEP_MAP_SIGNALS}
		}),
		cd("HandOver"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.HandOverRequest{CaseId: f.caseA, Recipient: casedirectionv1.HandoverRecipient_HANDOVER_RECIPIENT_VEILIG_THUIS, RecipientOin: f.vtOIN}
		}),
		cd("CloseCase"): teamChange(func(f *bolaFixture) proto.Message {
			return &casedirectionv1.CloseCaseRequest{CaseId: f.caseA, Result: commonv1.CaseResult_CASE_RESULT_GOALS_REACHED, AssessmentId: f.assessment2}
		}),

		// ---------------------------------------------------------------- provider-monitoring
		pm("Allocate"): one(bolaVariant{name: "for A's case", req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.AllocateRequest{CaseId: f.caseA, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
				ProviderAgb: suite.DemoProviderAGB, ProductCategory: suite.DemoProductCategory, ProductCode: suite.DemoProductCode,
				StartDate: f.today, EndDate: f.later, Volume: hoursPerWeek(2)}
		}}),
		pm("GetAllocation"): one(bolaVariant{read: true, owners: pmReaders, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.GetAllocationRequest{AllocationNumber: f.allocation}
		}}),
		pm("ListAllocationVersions"): one(bolaVariant{read: true, owners: pmReaders, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ListAllocationVersionsRequest{AllocationNumber: f.allocation}
		}}),
		pm("GetAllocationVolumeUse"): one(bolaVariant{read: true, owners: pmReaders, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.GetAllocationVolumeUseRequest{AllocationNumber: f.allocation}
		}}),
		pm("ListMyAllocations"): exempt("takes no id: lists the allocations issued to the calling provider only"),
		pm("ListCaseAllocations"): one(bolaVariant{read: true, owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ListCaseAllocationsRequest{CaseId: f.caseA}
		}, filtered: func(f *bolaFixture) []string { return []string{f.allocation} }}),
		pm("ReportDeliveryStarted"): one(bolaVariant{owners: []actor{ownerProvider}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ReportDeliveryStartedRequest{AllocationNumber: f.allocation, StartedOn: f.today}
		}}),
		pm("ReportDeliveredVolume"): one(bolaVariant{owners: []actor{ownerProvider}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ReportDeliveredVolumeRequest{AllocationNumber: f.allocation, PeriodStart: f.today, PeriodEnd: f.today, Amount: 1, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR}
		}}),
		pm("ReportProgress"): one(bolaVariant{owners: []actor{ownerProvider}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ReportProgressRequest{AllocationNumber: f.allocation, GoalIds: []string{f.goalA},
				Judgement: providermonitoringv1.ProgressAssessment_PROGRESS_ASSESSMENT_ON_TRACK}
		}}),
		pm("ReportDeliveryStopped"): one(bolaVariant{owners: []actor{ownerProvider}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ReportDeliveryStoppedRequest{AllocationNumber: f.allocation, StoppedOn: f.today, ReasonCode: "20"}
		}}),
		pm("ChangeAllocation"): one(bolaVariant{owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ChangeAllocationRequest{AllocationNumber: f.allocation,
				ChangeReason: providermonitoringv1.AllocationChangeReason_ALLOCATION_CHANGE_REASON_EXTENSION, EndDate: f.later2()}
		}}),
		pm("WithdrawAllocation"): one(bolaVariant{owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.WithdrawAllocationRequest{AllocationNumber: f.allocation,
				Reason: providermonitoringv1.WithdrawalReason_WITHDRAWAL_REASON_NO_LONGER_NEEDED}
		}}),
		pm("SubmitAllocationRequest"): {variants: []bolaVariant{
			{name: "315 for A's AGB", owners: []actor{ownerProvider}, req: func(f *bolaFixture) proto.Message { return f.request315() }},
			{name: "317 of A's allocation", owners: []actor{ownerProvider}, req: func(f *bolaFixture) proto.Message {
				return &providermonitoringv1.SubmitAllocationRequestRequest{Kind: providermonitoringv1.AllocationRequestKind_ALLOCATION_REQUEST_KIND_CHANGE,
					ProviderAgb: suite.DemoProviderAGB, AllocationNumber: f.allocation, StartDate: f.today, EndDate: f.later2(),
					Volume: hoursPerWeek(3), ChangeReasonText: fixtureChangeReason}
			}},
		}},
		pm("AnswerAllocationRequest"): one(bolaVariant{owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.AnswerAllocationRequestRequest{RequestId: f.request,
				Decision: providermonitoringv1.AnswerDecision_ANSWER_DECISION_UNDER_INVESTIGATION}
		}}),
		pm("DescribeAllocationRequest"): one(bolaVariant{read: true, owners: pmReaders, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.DescribeAllocationRequestRequest{RequestId: f.request}
		}}),
		pm("ListAllocationRequests"): one(bolaVariant{read: true, owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ListAllocationRequestsRequest{MunicipalityCode: suite.DemoMunicipality}
		}, filtered: func(f *bolaFixture) []string { return []string{f.request} }}),
		pm("RegisterProvider"): one(bolaVariant{name: "A's AGB with another OIN", req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.RegisterProviderRequest{Agb: suite.DemoProviderAGB, Name: "Overname BV", Oin: "00000003000000000999"}
		}, owners: []actor{ownerMunicip}, alsoRefused: []codes.Code{codes.AlreadyExists},
			why: "the registration is not taken over; AGB codes are public (Vektis AGB register), so confirming one is registered reveals nothing"}),
		pm("CorrectProvider"): one(bolaVariant{name: "A's provider, its name as registered", owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.CorrectProviderRequest{Agb: suite.DemoProviderAGB, Name: suite.DemoProvider.Name, Reason: "the registered name, confirmed"}
		}}),
		pm("ListProviderCorrections"): one(bolaVariant{read: true, owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ListProviderCorrectionsRequest{Agb: suite.DemoProviderAGB}
		}}),
		pm("AddContract"): one(bolaVariant{name: "A's municipality and provider", owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.AddContractRequest{ProviderAgb: suite.DemoProviderAGB, Model: providermonitoringv1.ContractModel_CONTRACT_MODEL_CHOICE,
				MunicipalityCode: suite.DemoMunicipality, Products: []*providermonitoringv1.Product{{Category: suite.DemoProductCategory, Code: suite.DemoProductCode}},
				Capacity: 5, ValidFrom: f.today}
		}}),
		pm("ListContracts"): one(bolaVariant{read: true, owners: pmReaders, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ListContractsRequest{ProviderAgb: suite.DemoProviderAGB, MunicipalityCode: suite.DemoMunicipality}
		}, filtered: func(f *bolaFixture) []string { return []string{f.contract} }}),
		pm("GetProviderOverview"): one(bolaVariant{read: true, owners: pmReaders, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.GetProviderOverviewRequest{ProviderAgb: suite.DemoProviderAGB, MunicipalityCode: suite.DemoMunicipality}
		}}),
		pm("GetContractOverview"): one(bolaVariant{read: true, owners: pmReaders, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.GetContractOverviewRequest{ContractId: f.contract}
		}}),

		// ---------------------------------------------------------------- decisions (issue 17)
		dc("DraftDecision"): one(bolaVariant{name: "on A's case", owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return f.draftDecision()
		}}),
		dc("ProposeDecision"): one(bolaVariant{owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ProposeDecisionRequest{DecisionId: f.decisionDraft}
		}}),
		dc("AmendDecision"): one(bolaVariant{owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.AmendDecisionRequest{DecisionId: f.decision, MotivationText: "herziening"}
		}}),
		dc("DecideDecision"): one(bolaVariant{owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.DecideDecisionRequest{DecisionId: f.decision}
		}}),
		dc("SendDecision"): one(bolaVariant{owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.SendDecisionRequest{DecisionId: f.decision}
		}}),
		dc("WithdrawDecision"): one(bolaVariant{owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.WithdrawDecisionRequest{DecisionId: f.decision,
				Reason: providermonitoringv1.DecisionWithdrawalReason_DECISION_WITHDRAWAL_REASON_OTHER}
		}}),
		dc("RegisterObjection"): one(bolaVariant{owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.RegisterObjectionRequest{DecisionId: f.decision, ReceivedOn: f.today}
		}}),
		dc("GetDecision"): one(bolaVariant{read: true, owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.GetDecisionRequest{DecisionId: f.decision}
		}}),
		dc("RenderDecisionLetter"): one(bolaVariant{read: true, owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.RenderDecisionLetterRequest{DecisionId: f.decision, Format: providermonitoringv1.LetterFormat_LETTER_FORMAT_HTML,
				Recipient: &providermonitoringv1.LetterRecipient{Name: "mevrouw A. Jansen", Street: "Kerkstraat 1", PostalCode: "1011 AB", City: "Amsterdam"}}
		}}),
		dc("ListDecisions"): one(bolaVariant{read: true, owners: pmMunicipal, req: func(f *bolaFixture) proto.Message {
			return &providermonitoringv1.ListDecisionsRequest{MunicipalityCode: suite.DemoMunicipality}
		}, filtered: func(f *bolaFixture) []string { return []string{f.decision} }}),
		dc("AdoptMandateRegister"): one(bolaVariant{name: "A's municipality", owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return f.mandateRegister()
		}}),
		dc("ListMandates"): exempt("a municipality's mandate register and standard paragraphs hold no personal data and are public (mandate decisions are published, Awb 10:1); takes no id of a record"),

		// ---------------------------------------------------------------- referral
		sb("CreateSubscription"): exempt("creates a subscription on the caller's own feed (organisation from its certificate); takes no id"),
		sb("ListSubscriptions"):  exempt("takes no id: lists the subscriptions on the caller's own feed only"),
		sb("PauseSubscription"):  exempt("works on the caller's own feed only (chosen by its certificate): another organisation's subscription id is NOT_FOUND (TestPartnerFeeds, subscriptions are the organisation's own)"),
		sb("DeleteSubscription"): exempt("works on the caller's own feed only (chosen by its certificate): another organisation's subscription id is NOT_FOUND (TestPartnerFeeds, subscriptions are the organisation's own)"),
		rf("SubmitSignal"):       exempt("creates a new signal of the calling organisation (source from its certificate); no foreign id"),
		rf("ListMySignals"):      exempt("takes no id: lists the caller's own signals only"),
		rf("ListReferrals"):      exempt("takes no id: lists the referrals the caller sent or that are addressed to it"),
		rf("RecordConsent"):      exempt("creates a new consent held by the calling organisation; no foreign id"),
		rf("GetProvision"):       exempt("the social map holds no personal data and is public to partners"),
		rf("SearchProvisions"):   exempt("the social map holds no personal data and is public to partners"),
		rf("ExportDirectory"):    exempt("the social map holds no personal data and is public to partners"),
		rf("GetRecurringThemes"): exempt("aggregated counts per district, suppressed below the minimum group size; no record id"),
		rf("GetSignal"): one(bolaVariant{read: true, owners: []actor{ownerGP}, req: func(f *bolaFixture) proto.Message {
			return &referralv1.GetSignalRequest{SignalId: f.signal}
		}}),
		rf("BatchGetSignals"): one(bolaVariant{why: "Wijkbrug services only (intake reads the signals of a batch of events); every partner type is refused by policy",
			req: func(f *bolaFixture) proto.Message {
				return &referralv1.BatchGetSignalsRequest{SignalIds: []string{f.signal}}
			}}),
		rf("UpsertProvision"): one(bolaVariant{name: "A's provision", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			p := proto.Clone(f.provision).(*referralv1.Provision)
			p.WaitingDays++
			return &referralv1.UpsertProvisionRequest{Provision: p}
		}}),
		rf("ImportDirectory"): one(bolaVariant{name: "A's directory", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &referralv1.ImportDirectoryRequest{HsdsJson: f.directory}
		}}),
		rf("GetConsent"): one(bolaVariant{read: true, owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &referralv1.GetConsentRequest{ConsentId: f.consent}
		}}),
		rf("ListConsents"): one(bolaVariant{read: true, owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &referralv1.ListConsentsRequest{ResidentBsn: f.bsn1}
		}, filtered: func(f *bolaFixture) []string { return []string{f.consent, f.consentW} }}),
		rf("WithdrawConsent"): one(bolaVariant{owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &referralv1.WithdrawConsentRequest{ConsentId: f.consentW}
		}}),
		rf("CreateReferral"): {variants: []bolaVariant{
			{name: "with A's consent", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				r := f.referral(false)
				r.LegalBasis, r.ConsentId = 0, f.consent
				return r
			}},
			{name: "re-routing A's referral", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				r := f.referral(false)
				r.ProvisionId, r.ReplacesReferralId = demoDebtProvision, f.refDeclined
				return r
			}},
			{name: "for A's case", owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message { return f.referral(false) }},
		}},
		rf("GetReferral"): {variants: []bolaVariant{
			{name: "sent", read: true, owners: []actor{ownerTeam, ownerProvider}, req: func(f *bolaFixture) proto.Message {
				return &referralv1.GetReferralRequest{ReferralId: f.refSent}
			}},
			{name: "draft", read: true, owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &referralv1.GetReferralRequest{ReferralId: f.refDraft}
			}, extra: []extraCall{{actor{"provider A (recipient of a DRAFT)", "provider", "care_coordinator"}, []codes.Code{codes.NotFound}}}},
		}},
		rf("GetReferralHistory"): {variants: []bolaVariant{
			{name: "sent", read: true, owners: []actor{ownerTeam, ownerProvider}, req: func(f *bolaFixture) proto.Message {
				return &referralv1.GetReferralHistoryRequest{ReferralId: f.refSent}
			}},
			{name: "draft", read: true, owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
				return &referralv1.GetReferralHistoryRequest{ReferralId: f.refDraft}
			}, extra: []extraCall{{actor{"provider A (recipient of a DRAFT)", "provider", "care_coordinator"}, []codes.Code{codes.NotFound}}}},
		}},
		rf("SendReferral"): one(bolaVariant{owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &referralv1.SendReferralRequest{ReferralId: f.refDraft}
		}, extra: []extraCall{{actor{"provider A (recipient of a DRAFT)", "provider", "care_coordinator"}, []codes.Code{codes.NotFound, codes.PermissionDenied}}}}),
		rf("AcceptReferral"): recipientSide("accept", func(f *bolaFixture) proto.Message {
			return &referralv1.AcceptReferralRequest{ReferralId: f.refSent}
		}),
		rf("DeclineReferral"): recipientSide("decline", func(f *bolaFixture) proto.Message {
			return &referralv1.DeclineReferralRequest{ReferralId: f.refSent, Reason: referralv1.DeclineReason_DECLINE_REASON_CAPACITY}
		}),
		rf("StartReferral"): recipientSide("start", func(f *bolaFixture) proto.Message {
			return &referralv1.StartReferralRequest{ReferralId: f.refAccepted}
		}),
		rf("HoldReferral"): recipientSide("hold", func(f *bolaFixture) proto.Message {
			return &referralv1.HoldReferralRequest{ReferralId: f.refInProgress, HoldReason: referralv1.HoldReason_HOLD_REASON_WAITLIST}
		}),
		rf("ResumeReferral"): recipientSide("resume", func(f *bolaFixture) proto.Message {
			return &referralv1.ResumeReferralRequest{ReferralId: f.refOnHold}
		}),
		rf("CompleteReferral"): recipientSide("complete", func(f *bolaFixture) proto.Message {
			return &referralv1.CompleteReferralRequest{ReferralId: f.refInProgress, Outcome: referralv1.ReferralOutcome_REFERRAL_OUTCOME_GOAL_REACHED}
		}),
		rf("FailReferral"): recipientSide("fail", func(f *bolaFixture) proto.Message {
			return &referralv1.FailReferralRequest{ReferralId: f.refInProgress, Reason: referralv1.FailReason_FAIL_REASON_RESIDENT_NOT_REACHED}
		}),
		rf("CancelReferral"): one(bolaVariant{owners: []actor{ownerTeam}, req: func(f *bolaFixture) proto.Message {
			return &referralv1.CancelReferralRequest{ReferralId: f.refAccepted, Reason: referralv1.CancelReason_CANCEL_REASON_NO_LONGER_NEEDED}
		}}),

		// ---------------------------------------------------------------- access log (every service)
		al("ListResidentAccess"): one(bolaVariant{name: "A's resident", read: true, owners: []actor{ownerMunicip}, req: func(f *bolaFixture) proto.Message {
			return &accesslogv1.ListResidentAccessRequest{ResidentBsn: f.bsn1}
		}}),
		al("StartEmergencyAccess"): exempt("break the glass: creates an audited, time-boxed grant for the calling professional itself (reason required); reads nothing"),
		al("ListEmergencyAccess"):  exempt("takes no id: the privacy officer's list of emergency grants (see report)"),
		oc("GetIntakeFigures"): outcomeRead(true, func(team string) proto.Message {
			return &outcomesv1.GetIntakeFiguresRequest{MunicipalityCode: suite.DemoMunicipality, TeamOin: team, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4"}
		}),
		oc("GetCaseFigures"): outcomeRead(true, func(team string) proto.Message {
			return &outcomesv1.GetCaseFiguresRequest{MunicipalityCode: suite.DemoMunicipality, TeamOin: team, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4"}
		}),
		oc("GetZrmChange"): outcomeRead(false, func(team string) proto.Message {
			return &outcomesv1.GetZrmChangeRequest{MunicipalityCode: suite.DemoMunicipality, TeamOin: team, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4"}
		}),
		oc("GetReferralFigures"): outcomeRead(true, func(team string) proto.Message {
			return &outcomesv1.GetReferralFiguresRequest{MunicipalityCode: suite.DemoMunicipality, TeamOin: team, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4"}
		}),
		oc("GetAllocationFigures"): outcomeRead(true, func(team string) proto.Message {
			return &outcomesv1.GetAllocationFiguresRequest{MunicipalityCode: suite.DemoMunicipality, TeamOin: team, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4"}
		}),
		oc("GetDecisionFigures"): outcomeRead(true, func(team string) proto.Message {
			return &outcomesv1.GetDecisionFiguresRequest{MunicipalityCode: suite.DemoMunicipality, TeamOin: team, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4"}
		}),
		oc("GetReport"): one(bolaVariant{read: true, owners: []actor{ownerMunicip}, req: func(*bolaFixture) proto.Message {
			return &outcomesv1.GetReportRequest{MunicipalityCode: suite.DemoMunicipality, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4"}
		}}),
		oc("ExportFigures"): outcomeRead(false, func(team string) proto.Message {
			return &outcomesv1.ExportFiguresRequest{MunicipalityCode: suite.DemoMunicipality, TeamOin: team, FromPeriod: "2026-Q1", ToPeriod: "2026-Q4"}
		}),
	}
	return t
}

func (f *bolaFixture) later2() string { return nowNL().AddDate(1, 0, 0).Format(time.DateOnly) }

func (f *bolaFixture) request315() *providermonitoringv1.SubmitAllocationRequestRequest {
	return &providermonitoringv1.SubmitAllocationRequestRequest{Kind: providermonitoringv1.AllocationRequestKind_ALLOCATION_REQUEST_KIND_ALLOCATION,
		ProviderAgb: suite.DemoProviderAGB, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
		ProductCategory: suite.DemoProductCategory, ProductCode: suite.DemoProductCode, StartDate: f.today,
		Volume: hoursPerWeek(3), ReferrerType: "02", ReferrerCode: "01234567"}
}

// referral is a valid referral of resident 1 in A's case to the demo buddy project.
func (f *bolaFixture) referral(send bool) *referralv1.CreateReferralRequest {
	return &referralv1.CreateReferralRequest{ProvisionId: demoBuddyProvision, CaseId: f.caseA, ResidentBsn: f.bsn1,
		MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict, Question: fixtureReferralQuestion,
		SharedDataCategories: []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_IDENTITY, referralv1.DataCategory_DATA_CATEGORY_QUESTION},
		LegalBasis:           referralv1.LegalBasis_LEGAL_BASIS_WMO, Send: send}
}

// bolaEnv is the running suite with a connection per organisation and service.
type bolaEnv struct {
	s     *suite.Suite
	pool  *x509.CertPool
	orgs  map[string]devca.Org
	certs map[string]tls.Certificate
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
	seq   atomic.Int64
}

func (e *bolaEnv) conn(t *testing.T, org, endpoint string) *grpc.ClientConn {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	key := org + "@" + endpoint
	if cc, ok := e.conns[key]; ok {
		return cc
	}
	cert, ok := e.certs[org]
	if !ok {
		t.Fatalf("no certificate for organisation %q", org)
	}
	cc, err := grpcx.Dial(e.s.Endpoint(endpoint).Addr, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: e.pool}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e.conns[key] = cc
	return cc
}

// invoke calls method as who with req (a fresh idempotency key is set when the request
// has one; "{caller}" in a string field becomes the caller's OIN) and returns the answer.
func (e *bolaEnv) invoke(t *testing.T, endpoint, method string, who actor, req proto.Message) (proto.Message, error) {
	t.Helper()
	req = proto.Clone(req)
	m := req.ProtoReflect()
	fields := m.Descriptor().Fields()
	if fd := fields.ByName("idempotency_key"); fd != nil {
		m.Set(fd, protoreflect.ValueOfString(fmt.Sprintf("bola-%d-%d", time.Now().UnixNano(), e.seq.Add(1))))
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() == protoreflect.StringKind && !fd.IsList() && m.Get(fd).String() == "{caller}" {
			m.Set(fd, protoreflect.ValueOfString(e.orgs[who.org].OIN))
		}
	}
	resp, err := newResponse(method)
	if err != nil {
		t.Fatal(err)
	}
	role := who.role
	if role == "" {
		role = authz.RoleProfessional
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ctx = grpcx.ActingUser(ctx, "bola-"+strings.ReplaceAll(strings.ToLower(who.label), " ", "-"), role, purposeFor(e.orgs[who.org].Type))
	err = e.conn(t, who.org, endpoint).Invoke(ctx, method, req, resp)
	return resp, err
}

// newResponse makes an empty response message of method from its descriptor.
func newResponse(method string) (proto.Message, error) {
	svcName, name, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svcName))
	if err != nil {
		return nil, err
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", svcName)
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		return nil, fmt.Errorf("%s has no method %s", svcName, name)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, err
	}
	return mt.New().Interface(), nil
}

func bolaPolicy() authz.Policy {
	p := authz.Policy{}
	for _, spec := range allSpecs() {
		for m, r := range spec.Policy {
			p[m] = r
		}
	}
	for m, r := range logserver.Policy {
		p[m] = r
	}
	return p
}

func codeIn(c codes.Code, want []codes.Code) bool { return slices.Contains(want, c) }

func codeNames(cs []codes.Code) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.String())
	}
	return strings.Join(s, " or ")
}

// TestBOLA runs the matrix against the whole suite.
func TestBOLA(t *testing.T) {
	t.Parallel()
	table := bolaTable()
	policy := bolaPolicy()

	// Coverage first: every method has an entry and a policy rule; no stale entries.
	methods, endpointsOf := unaryMethods(t, "the BOLA matrix")
	// Every API a service registers must be in bolaServices.
	for _, spec := range allSpecs() {
		for _, sd := range spec.Services {
			if !slices.ContainsFunc(bolaServices, func(b bolaAPI) bool { return b.desc.ServiceName == sd.ServiceName }) {
				t.Errorf("service %s of %s is not in bolaServices", sd.ServiceName, spec.Name)
			}
		}
	}
	nCases, nExempt, nVariants := 0, 0, 0
	for _, m := range methods {
		if _, ok := policy[m]; !ok {
			t.Errorf("%s has no authorisation rule in its service's Spec().Policy", m)
		}
		e, ok := table[m]
		switch {
		case !ok:
			t.Errorf("%s has no BOLA entry: add a case (a request with another organisation's ids) or an exemption with its reason to bolaTable", m)
		case e.exempt != "":
			nExempt++
		case len(e.variants) == 0:
			t.Errorf("%s: an entry needs variants or an exemption", m)
		default:
			nCases++
			nVariants += len(e.variants)
		}
	}
	for m := range table {
		if _, ok := endpointsOf[m]; !ok {
			t.Errorf("BOLA entry %s names no method of the service descriptors (renamed or removed?)", m)
		}
	}
	t.Logf("BOLA matrix: %d methods, %d with cases (%d request variants), %d exempt", len(methods), nCases, nVariants, nExempt)

	began := time.Now()
	_, s := startSuite(t, 3*time.Minute, suite.Options{})
	env := newBolaEnv(t, s)
	f := setupBolaFixture(t, env)
	t.Logf("suite up in %s, fixture in %s", s.StartedIn, time.Since(began)-s.StartedIn)
	callsStart := time.Now()
	calls := 0

	type pendingChange struct {
		method, name, endpoint string
		who                    actor
		req                    proto.Message
	}
	var changes []pendingChange
	refused := []codes.Code{codes.PermissionDenied, codes.NotFound}
	for _, method := range methods {
		entry := table[method]
		if entry.exempt != "" {
			continue
		}
		rule := policy[method]
		for _, v := range entry.variants {
			req := v.req(f)
			var filtered []string
			if v.filtered != nil {
				filtered = v.filtered(f)
			}
			for _, endpoint := range endpointsOf[method] {
				name := strings.TrimPrefix(method, "/")
				if v.name != "" {
					name += "/" + v.name
				}
				if len(endpointsOf[method]) > 1 {
					name += "/@" + endpoint
				}
				roleFor := func(a actor) actor {
					if len(rule.Roles) > 0 {
						a.role = rule.Roles[0]
					}
					return a
				}
				t.Run(name, func(t *testing.T) {
					// Positive control of a read: the owners get OK.
					if v.read {
						for _, o := range v.owners {
							o = roleFor(o)
							resp, err := env.invoke(t, endpoint, method, o, req)
							calls++
							if status.Code(err) != codes.OK {
								t.Errorf("%s as %s (owner, positive control): got %s, want OK", method, o.label, describe(err))
								continue
							}
							// A filtered list must show the owner A's records, or an empty
							// answer to others would prove nothing.
							raw, _ := protojson.Marshal(resp)
							for _, id := range filtered {
								if !strings.Contains(string(raw), id) {
									t.Errorf("%s as %s (owner, positive control): %s missing from the answer %s", method, o.label, id, truncate(string(raw), 300))
								}
							}
						}
					}
					var callers []extraCall
					for _, typ := range rule.OrgTypes {
						if typ == identity.OrgService || slices.Contains(v.publicTo, typ) {
							continue // Wijkbrug services act for others and are trusted
						}
						callers = append(callers, extraCall{roleFor(actor{"other " + string(typ), "other-" + string(typ), authz.RoleProfessional}), refused})
					}
					for _, typ := range wrongTypePreference {
						if !slices.Contains(rule.OrgTypes, typ) {
							callers = append(callers, extraCall{roleFor(actor{string(typ) + " (type not allowed)", "other-" + string(typ), authz.RoleProfessional}), []codes.Code{codes.PermissionDenied}})
							break
						}
					}
					if len(rule.Roles) > 0 {
						for _, o := range v.owners {
							o.label += " with role " + bolaRoleWrong
							o.role = bolaRoleWrong
							callers = append(callers, extraCall{o, []codes.Code{codes.PermissionDenied}})
						}
					}
					callers = append(callers, v.extra...)
					for _, c := range callers {
						t.Run(strings.ReplaceAll(c.who.label, " ", "_"), func(t *testing.T) {
							resp, err := env.invoke(t, endpoint, method, c.who, req)
							calls++
							got := status.Code(err)
							t.Logf("%s as %s: %s", method, c.who.label, got)
							if codeIn(got, c.want) {
								return
							}
							if slices.Equal(c.want, refused) && codeIn(got, v.alsoRefused) {
								if v.unknown == nil {
									t.Logf("%s as %s: %s accepted as a refusal: %s", method, c.who.label, got, v.why)
									return
								}
								_, uerr := env.invoke(t, endpoint, method, c.who, v.unknown(f))
								calls++
								if status.Code(uerr) == got && status.Convert(uerr).Message() == status.Convert(err).Message() {
									t.Logf("%s as %s: %s, the same answer as for unknown ids: %s", method, c.who.label, got, v.why)
									return
								}
								t.Errorf("%s as %s: got %s, but unknown ids get %s: the answer confirms A's record", method, c.who.label, describe(err), describe(uerr))
								return
							}
							if got == codes.OK && filtered != nil && slices.Equal(c.want, refused) {
								raw, _ := protojson.Marshal(resp)
								leaked := false
								for _, id := range filtered {
									if id != "" && strings.Contains(string(raw), id) {
										leaked = true
									}
								}
								if !leaked {
									t.Logf("OK, filtered to the caller's own records: none of A's in %s", truncate(string(raw), 200))
									return
								}
								t.Errorf("HOLE %s as %s: OK with A's records in the answer: %s", method, c.who.label, raw)
								return
							}
							what := ""
							if got == codes.OK {
								raw, _ := protojson.Marshal(resp)
								what = "; answer: " + truncate(string(raw), 300)
								t.Errorf("HOLE %s as %s: got OK, want %s%s", method, c.who.label, codeNames(c.want), what)
								return
							}
							t.Errorf("%s as %s: got %s, want %s", method, c.who.label, describe(err), codeNames(c.want))
						})
					}
				})
				if !v.read && len(v.owners) > 0 {
					changes = append(changes, pendingChange{method, name, endpoint, roleFor(v.owners[0]), req})
				}
			}
		}
	}
	// Positive control of the changes, after every foreign call: the owner's request passes
	// validation and authorisation (the object's state may by now forbid the change).
	reached := []codes.Code{codes.OK, codes.FailedPrecondition, codes.AlreadyExists}
	for _, c := range changes {
		t.Run(c.name+"/owner_control", func(t *testing.T) {
			_, err := env.invoke(t, c.endpoint, c.method, c.who, c.req)
			calls++
			if !codeIn(status.Code(err), reached) {
				t.Errorf("%s as %s (owner, positive control): got %s, want %s", c.method, c.who.label, describe(err), codeNames(reached))
			}
		})
	}
	t.Logf("%d calls in %s", calls, time.Since(callsStart).Round(time.Millisecond))

	// Sequences: refusals that must survive a series of calls, not one call.
	t.Run("sequence/second_team_registers_a_known_resident", func(t *testing.T) { bolaSecondTeamRegisters(t, env, f) })
	t.Run("sequence/matched_team_refers_from_its_intake", func(t *testing.T) { bolaMatchedTeamRefers(t, env, f) })

	// Every RPC has now been called, the changes by their owners too: no database holds a
	// resident's BSN or the confidential free text the fixture sent in plain form, in a table
	// or in a stored answer (idempotency) or event (outbox).
	scanDatabases(t, s, []string{f.bsn1, f.bsn2, f.bsnB, f.bsnSignal, fixtureIntakeQuestion, fixtureReferralQuestion,
		fixtureChangeReason, fixtureClarification, fixtureConferenceDecision})
}

// unaryMethods lists, sorted, the full names of every method of bolaServices with the
// endpoints that serve it; a streaming method fails the test (who names the test that calls
// unary methods only).
func unaryMethods(t *testing.T, who string) ([]string, map[string][]string) {
	var methods []string
	endpointsOf := map[string][]string{}
	for _, svc := range bolaServices {
		for _, m := range svc.desc.Methods {
			full := "/" + svc.desc.ServiceName + "/" + m.MethodName
			methods = append(methods, full)
			endpointsOf[full] = svc.endpoints
		}
		for _, m := range svc.desc.Streams {
			t.Errorf("/%s/%s: streaming method (%s calls unary methods only)", svc.desc.ServiceName, m.StreamName, who)
		}
	}
	sort.Strings(methods)
	return methods, endpointsOf
}

// describe renders a status with its details (bad fields, named resources).
func describe(err error) string {
	st := status.Convert(err)
	out := st.Code().String() + " " + fmt.Sprintf("%q", st.Message())
	for _, d := range st.Details() {
		if m, ok := d.(proto.Message); ok {
			raw, _ := protojson.Marshal(m)
			out += " " + string(raw)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func newBolaEnv(t *testing.T, s *suite.Suite) *bolaEnv {
	t.Helper()
	caPEM, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	env := &bolaEnv{s: s, pool: pool, orgs: map[string]devca.Org{}, certs: map[string]tls.Certificate{}, conns: map[string]*grpc.ClientConn{}}
	for key, p := range s.Partners {
		cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		env.orgs[key], env.certs[key] = p.Org, cert
	}
	ca, err := devca.LoadOrCreate(filepath.Join(s.DataDir, "pki"), devca.DevCAName)
	if err != nil {
		t.Fatal(err)
	}
	// One organisation of every partner type that has nothing to do with A's records.
	for i, typ := range partnerTypes {
		org := devca.Org{OIN: fmt.Sprintf("00000002000000000%03d", i+1), Name: "Other " + string(typ), Type: string(typ)}
		cert, _, _, err := ca.IssueClient(org, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		env.orgs["other-"+string(typ)], env.certs["other-"+string(typ)] = org, cert
	}
	t.Cleanup(func() {
		env.mu.Lock()
		defer env.mu.Unlock()
		for _, cc := range env.conns {
			_ = cc.Close()
		}
	})
	return env
}

// validBSN returns a 9-digit number passing the 11-proef, derived from seed.
func validBSN(seed int) string {
	for n := seed; ; n++ {
		d := fmt.Sprintf("%08d", n%100000000)
		sum := 0
		for i := 0; i < 8; i++ {
			sum += int(d[i]-'0') * (9 - i)
		}
		if c := sum % 11; c < 10 && !(n%100000000 == 0) {
			return d + fmt.Sprint(c)
		}
	}
}
