package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	protoenum "github.com/wijkbrug/wijkbrug/pkg/protoenum"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/referral/service"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var (
	team       = svctest.Org(identity.OrgTeam, "Sociaal Wijkteam Centrum")
	otherTeam  = svctest.Org(identity.OrgTeam, "Sociaal Wijkteam Oost")
	buddyOrg   = svctest.Org(identity.OrgProvider, "Welzijn De Brug")
	debtOrg    = svctest.Org(identity.OrgProvider, "Schuldhulp Samen")
	strangerPr = svctest.Org(identity.OrgProvider, "Zorg Elders")
)

type orgT = devca.Org

// harness is a running referral service with clients per organisation.
type harness struct {
	env   *svctest.Env
	s     *svctest.Service
	ctx   context.Context
	n     int
	facts *peerFacts
}

// caseOfTeam is the case the fake case-direction says `team` directs.
const caseOfTeam = "5d1c3e7a-2b4f-4e8a-9c6d-7e8f9a0b1c2d"

// The goals of the plan of caseOfTeam: goalOfCase is open (referralTo names it), reachedGoal
// is reached already.
const (
	goalOfCase  = "7b6f0d7e-1c1a-4c43-8f7e-3d1c2b4a5e60"
	reachedGoal = "2e4c6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f70"
)

// peerFacts is what the fake case-direction and intake know: caseOfTeam and every intake are
// of GM0363 and about one household (members, by BSN: residentBSN unless a test adds more).
// Tests change the facts to see the referral service refuse what does not fit them.
type peerFacts struct {
	mu           sync.Mutex
	pseudo       *bsn.Protector // the suite's shared access-log pseudonym, set once the service runs
	members      []string
	caseStatus   casedirectionv1.CaseStatus
	noPlan       bool
	intakeStatus intakev1.IntakeStatus
	// oldIntake makes the fake answer CheckIntakeOwnership without the facts even when asked
	// (an intake of an earlier version); intakeReads counts GetIntake calls.
	oldIntake   bool
	intakeReads int
	// oldCaseDirection does the same for CheckCaseInvolvement; caseReads counts GetCase calls.
	oldCaseDirection bool
	caseReads        int
}

func (f *peerFacts) residents() []*commonv1.ResidentPseudonym {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*commonv1.ResidentPseudonym
	for i, b := range f.members {
		out = append(out, &commonv1.ResidentPseudonym{ResidentId: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Pseudonym: f.pseudo.Pseudonym(b)})
	}
	return out
}

// addMembers puts residents (BSNs) in the household of the case and the intakes.
func (h *harness) addMembers(bsns ...string) {
	h.facts.mu.Lock()
	defer h.facts.mu.Unlock()
	h.facts.members = append(h.facts.members, bsns...)
}

// fakeCaseDirection answers CheckCaseInvolvement (`team` is the team of caseOfTeam), GetCase
// and ListCaseResidents from peerFacts. Peers may be faked in a service's own tests; the
// end-to-end test runs the real one.
type fakeCaseDirection struct {
	casedirectionv1.UnimplementedCaseDirectionServiceServer
	facts *peerFacts
}

func (f fakeCaseDirection) CheckCaseInvolvement(_ context.Context, req *casedirectionv1.CheckCaseInvolvementRequest) (*casedirectionv1.CheckCaseInvolvementResponse, error) {
	involved := req.GetCaseId() == caseOfTeam && req.GetOrganisationOin() == team.OIN && req.GetOrganisationType() == commonv1.OrganisationType_ORGANISATION_TYPE_TEAM
	resp := &casedirectionv1.CheckCaseInvolvementResponse{Involved: involved}
	f.facts.mu.Lock()
	old := f.facts.oldCaseDirection
	f.facts.mu.Unlock()
	if involved && req.GetWithFacts() && !old {
		resp.Case = f.caseOfTeam()
		for _, r := range f.facts.residents() {
			resp.CaseResidentPseudonyms = append(resp.CaseResidentPseudonyms, r.GetPseudonym())
		}
	}
	return resp, nil
}

func (f fakeCaseDirection) GetCase(_ context.Context, req *casedirectionv1.GetCaseRequest) (*casedirectionv1.GetCaseResponse, error) {
	if req.GetCaseId() != caseOfTeam {
		return nil, status.Error(codes.NotFound, "case not found")
	}
	f.facts.mu.Lock()
	f.facts.caseReads++
	f.facts.mu.Unlock()
	return &casedirectionv1.GetCaseResponse{Case: f.caseOfTeam()}, nil
}

func (f fakeCaseDirection) caseOfTeam() *casedirectionv1.Case {
	f.facts.mu.Lock()
	defer f.facts.mu.Unlock()
	c := &casedirectionv1.Case{Id: caseOfTeam, MunicipalityCode: "GM0363", DistrictCode: "WK036300", TeamOin: team.OIN, Status: f.facts.caseStatus}
	if !f.facts.noPlan {
		c.Plan = &casedirectionv1.Plan{Version: 1, Goals: []*casedirectionv1.Goal{
			{Id: goalOfCase, Status: casedirectionv1.GoalStatus_GOAL_STATUS_IN_PROGRESS},
			{Id: reachedGoal, Status: casedirectionv1.GoalStatus_GOAL_STATUS_REACHED},
		}}
	}
	return c
}

func (f fakeCaseDirection) ListCaseResidents(_ context.Context, req *casedirectionv1.ListCaseResidentsRequest) (*casedirectionv1.ListCaseResidentsResponse, error) {
	if req.GetCaseId() != caseOfTeam {
		return nil, status.Error(codes.NotFound, "case not found")
	}
	return &casedirectionv1.ListCaseResidentsResponse{Residents: f.facts.residents()}, nil
}

// The intakes the fake intake service says `team` and `otherTeam` own.
const (
	intakeOfTeam      = "3c0f8e2a-5b7d-4e19-8a6c-2d4f6b8e0a13"
	intakeOfOtherTeam = "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01"
	householdOfIntake = "6a1d3f5b-7c9e-4b2d-8f4a-6c8e0a2c4e91"
)

type fakeIntake struct {
	intakev1.UnimplementedIntakeServiceServer
	facts *peerFacts
}

func (f fakeIntake) CheckIntakeOwnership(_ context.Context, req *intakev1.CheckIntakeOwnershipRequest) (*intakev1.CheckIntakeOwnershipResponse, error) {
	owner := req.GetOrganisationType() == commonv1.OrganisationType_ORGANISATION_TYPE_TEAM && ((req.GetIntakeId() == intakeOfTeam && req.GetOrganisationOin() == team.OIN) ||
		(req.GetIntakeId() == intakeOfOtherTeam && req.GetOrganisationOin() == otherTeam.OIN))
	resp := &intakev1.CheckIntakeOwnershipResponse{Owner: owner}
	f.facts.mu.Lock()
	old := f.facts.oldIntake
	f.facts.mu.Unlock()
	if owner && req.GetWithFacts() && !old {
		resp.Intake = f.intake(req.GetIntakeId())
		for _, r := range f.facts.residents() {
			resp.HouseholdResidentPseudonyms = append(resp.HouseholdResidentPseudonyms, r.GetPseudonym())
		}
	}
	return resp, nil
}

func (f fakeIntake) GetIntake(_ context.Context, req *intakev1.GetIntakeRequest) (*intakev1.GetIntakeResponse, error) {
	if req.GetIntakeId() != intakeOfTeam && req.GetIntakeId() != intakeOfOtherTeam {
		return nil, status.Error(codes.NotFound, "intake not found")
	}
	f.facts.mu.Lock()
	f.facts.intakeReads++
	f.facts.mu.Unlock()
	return &intakev1.GetIntakeResponse{Intake: f.intake(req.GetIntakeId())}, nil
}

func (f fakeIntake) intake(id string) *intakev1.Intake {
	f.facts.mu.Lock()
	defer f.facts.mu.Unlock()
	in := &intakev1.Intake{Id: id, HouseholdId: householdOfIntake, MunicipalityCode: "GM0363", Status: f.facts.intakeStatus}
	if in.Status == intakev1.IntakeStatus_INTAKE_STATUS_MERGED {
		in.MergedIntoIntakeId = intakeOfOtherTeam
	}
	return in
}

func (f fakeIntake) ListHouseholdResidents(_ context.Context, req *intakev1.ListHouseholdResidentsRequest) (*intakev1.ListHouseholdResidentsResponse, error) {
	if req.GetHouseholdId() != householdOfIntake {
		return nil, status.Error(codes.NotFound, "household not found")
	}
	return &intakev1.ListHouseholdResidentsResponse{Residents: f.facts.residents()}, nil
}

func start(t *testing.T) *harness {
	env := svctest.New(t)
	facts := &peerFacts{members: []string{residentBSN}, caseStatus: casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS,
		intakeStatus: intakev1.IntakeStatus_INTAKE_STATUS_IN_TRIAGE}
	cd := env.ServeFake(t, func(r grpc.ServiceRegistrar) {
		casedirectionv1.RegisterCaseDirectionServiceServer(r, fakeCaseDirection{facts: facts})
	})
	in := env.ServeFake(t, func(r grpc.ServiceRegistrar) { intakev1.RegisterIntakeServiceServer(r, fakeIntake{facts: facts}) })
	s := env.Start(t, service.Spec(), func(c *svc.Config) {
		c.CaseDirectionAddr, c.IntakeAddr = cd, in
		c.Settings["WIJKBRUG_SOCIAL_MAP_MAINTAINERS"] = "GM0363=" + team.OIN + ",GM0363=" + otherTeam.OIN
	})
	keys := bsn.Keys{EncryptionKeyID: 1}
	var err error
	if keys.Encryption, err = bsn.ParseKey(s.Config.BSNEncryptionKey); err == nil {
		if keys.Index, err = bsn.ParseKey(s.Config.BSNIndexKey); err == nil {
			keys.Pseudonym, err = bsn.ParseKey(s.Config.PseudonymKey)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	keys.Encryption = keys.Encryption[:32]
	if facts.pseudo, err = bsn.NewProtector(keys); err != nil {
		t.Fatal(err)
	}
	return &harness{env: env, s: s, ctx: svctest.Ctx(t), facts: facts}
}

func (h *harness) client(t *testing.T, org orgT) referralv1.ReferralServiceClient {
	return referralv1.NewReferralServiceClient(h.env.Client(t, h.s.Addr, org))
}

func (h *harness) key() string { h.n++; return fmt.Sprintf("k-%d", h.n) }

func (h *harness) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := h.s.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// provision stores a community provision of org in GM0363 through the team.
func (h *harness) provision(t *testing.T, org orgT, name string, mod func(*referralv1.Provision)) *referralv1.Provision {
	t.Helper()
	p := &referralv1.Provision{
		OrganisationOin: org.OIN, OrganisationName: org.Name, Name: name, Kind: referralv1.ProvisionKind_PROVISION_KIND_COMMUNITY,
		Status: referralv1.ProvisionStatus_PROVISION_STATUS_ACTIVE, TaxonomyTerms: []string{"welfare"},
		LifeDomains:      []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK},
		MunicipalityCode: "GM0363", CapacityStatus: referralv1.CapacityStatus_CAPACITY_STATUS_AVAILABLE, AcceptsDigitalReferrals: true,
	}
	if mod != nil {
		mod(p)
	}
	resp, err := h.client(t, team).UpsertProvision(h.ctx, &referralv1.UpsertProvisionRequest{IdempotencyKey: h.key(), Provision: p})
	if err != nil {
		t.Fatalf("upsert provision %s: %v", name, err)
	}
	return resp.GetProvision()
}

func referralTo(provisionID string) *referralv1.CreateReferralRequest {
	return &referralv1.CreateReferralRequest{
		ProvisionId: provisionID, CaseId: caseOfTeam, GoalIds: []string{goalOfCase},
		ResidentBsn: residentBSN, MunicipalityCode: "GM0363", DistrictCode: "WK036300", Question: "Looking for a buddy after a divorce",
		SharedDataCategories: []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_IDENTITY, referralv1.DataCategory_DATA_CATEGORY_QUESTION},
		LegalBasis:           referralv1.LegalBasis_LEGAL_BASIS_WMO, Send: true,
	}
}

func TestReferralClosedLoopWithRerouting(t *testing.T) {
	t.Parallel()
	h := start(t)
	teamFeedback := h.env.Events(t, "referral", "wijkbrug.referral.feedback."+team.OIN+".>")
	buddyFeedback := h.env.Events(t, "referral", "wijkbrug.referral.feedback."+buddyOrg.OIN+".>")
	debtFeedback := h.env.Events(t, "referral", "wijkbrug.referral.feedback."+debtOrg.OIN+".>")
	strangerFeedback := h.env.Events(t, "referral", "wijkbrug.referral.feedback."+strangerPr.OIN+".>")
	all := h.env.Events(t, "referral", "wijkbrug.referral.GM0363.referral.>")
	buddy := h.provision(t, buddyOrg, "Maatjesproject De Brug", nil)
	debt := h.provision(t, debtOrg, "Schuldhulpmaatje", nil)
	tc, bc, dc, sc := h.client(t, team), h.client(t, buddyOrg), h.client(t, debtOrg), h.client(t, strangerPr)

	created, err := tc.CreateReferral(h.ctx, withKey(referralTo(buddy.GetId()), h.key()))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	ref := created.GetReferral()
	if ref.GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_SENT || ref.GetRecipientOin() != buddyOrg.OIN || ref.GetReferrerOin() != team.OIN {
		t.Fatalf("created %v", ref)
	}
	// Only the two parties see it; a third organisation gets NOT_FOUND (logged).
	if _, err := sc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: ref.GetId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("stranger read: %v", err)
	}
	if _, err := sc.AcceptReferral(h.ctx, &referralv1.AcceptReferralRequest{IdempotencyKey: h.key(), ReferralId: ref.GetId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("stranger accept: %v", err)
	}
	got, err := bc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: ref.GetId()})
	if err != nil || got.GetReferral().GetQuestion() != ref.GetQuestion() || got.GetReferral().GetResidentBsn() != residentBSN {
		t.Fatalf("recipient read: %v %v", got, err)
	}
	// The referrer may not accept: that is the recipient's transition.
	if _, err := tc.AcceptReferral(h.ctx, &referralv1.AcceptReferralRequest{IdempotencyKey: h.key(), ReferralId: ref.GetId()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("referrer accepting: want PERMISSION_DENIED, got %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND object_id = $1 AND org_oin = $2`, ref.GetId(), team.OIN); n != 1 {
		t.Fatalf("the refused transition must stay in the access log: %d", n)
	}
	// A decline needs a reason; then the recipient declines for capacity.
	if _, err := bc.DeclineReferral(h.ctx, &referralv1.DeclineReferralRequest{IdempotencyKey: h.key(), ReferralId: ref.GetId()}); !violations(t, err)["reason"] {
		t.Fatal("decline without reason accepted")
	}
	declined, err := bc.DeclineReferral(h.ctx, &referralv1.DeclineReferralRequest{IdempotencyKey: h.key(), ReferralId: ref.GetId(),
		Reason: referralv1.DeclineReason_DECLINE_REASON_CAPACITY, Note: "waiting list closed"})
	if err != nil || declined.GetReferral().GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_DECLINED || declined.GetReferral().GetDeclineReason() != referralv1.DeclineReason_DECLINE_REASON_CAPACITY {
		t.Fatalf("decline: %v %v", declined, err)
	}
	if _, err := bc.AcceptReferral(h.ctx, &referralv1.AcceptReferralRequest{IdempotencyKey: h.key(), ReferralId: ref.GetId()}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "DECLINED → ACCEPTED") {
		t.Fatalf("accepting a declined referral: want FAILED_PRECONDITION naming from/to, got %v", err)
	}
	teamFeedback.WaitFor(t, statusIs(ref.GetId(), "DECLINED"))

	// Re-routing: to the same provision is refused; to another one it links to the original.
	again := withKey(referralTo(buddy.GetId()), h.key())
	again.ReplacesReferralId = ref.GetId()
	if !violations(t, mustErr(tc.CreateReferral(h.ctx, again)))["provision_id"] {
		t.Fatal("re-routing to the same provision accepted")
	}
	reroute := withKey(referralTo(debt.GetId()), h.key())
	reroute.ReplacesReferralId = ref.GetId()
	reroute.SharedDataCategories = []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_QUESTION}
	rerouted, err := tc.CreateReferral(h.ctx, reroute)
	if err != nil || rerouted.GetReferral().GetReplacesReferralId() != ref.GetId() || rerouted.GetReferral().GetRecipientOin() != debtOrg.OIN ||
		rerouted.GetReferral().GetResidentBsn() != residentBSN {
		t.Fatalf("re-route: %v %v", rerouted, err)
	}
	// Only the question is shared with the debt help: it does not see the resident's BSN, in a
	// read, a list or the answer to its own transition; the referrer still does.
	if got, err := dc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: rerouted.GetReferral().GetId()}); err != nil ||
		got.GetReferral().GetResidentBsn() != "" || got.GetReferral().GetQuestion() != reroute.GetQuestion() {
		t.Fatalf("recipient read without identity shared: %v %v", got, err)
	}
	if list, err := dc.ListReferrals(h.ctx, &referralv1.ListReferralsRequest{Side: referralv1.ReferralSide_REFERRAL_SIDE_RECIPIENT}); err != nil ||
		len(list.GetReferrals()) != 1 || list.GetReferrals()[0].GetResidentBsn() != "" {
		t.Fatalf("recipient list without identity shared: %v %v", list, err)
	}
	if got, err := tc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: rerouted.GetReferral().GetId()}); err != nil || got.GetReferral().GetResidentBsn() != residentBSN {
		t.Fatalf("referrer read: %v %v", got, err)
	}
	twice := withKey(referralTo(strangerProvision(t, h).GetId()), h.key())
	twice.ReplacesReferralId = ref.GetId()
	if _, err := tc.CreateReferral(h.ctx, twice); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("re-routing the same referral twice: want ALREADY_EXISTS, got %v", err)
	}
	r2 := rerouted.GetReferral().GetId()
	steps := []func() (*referralv1.Referral, error){
		func() (*referralv1.Referral, error) {
			r, err := dc.AcceptReferral(h.ctx, &referralv1.AcceptReferralRequest{IdempotencyKey: h.key(), ReferralId: r2})
			return r.GetReferral(), err
		},
		func() (*referralv1.Referral, error) {
			r, err := dc.HoldReferral(h.ctx, &referralv1.HoldReferralRequest{IdempotencyKey: h.key(), ReferralId: r2, HoldReason: referralv1.HoldReason_HOLD_REASON_WAITLIST})
			return r.GetReferral(), err
		},
		func() (*referralv1.Referral, error) {
			r, err := dc.ResumeReferral(h.ctx, &referralv1.ResumeReferralRequest{IdempotencyKey: h.key(), ReferralId: r2})
			return r.GetReferral(), err
		},
	}
	want := []commonv1.ReferralStatus{commonv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED, commonv1.ReferralStatus_REFERRAL_STATUS_ON_HOLD, commonv1.ReferralStatus_REFERRAL_STATUS_IN_PROGRESS}
	for i, step := range steps {
		r, err := step()
		if err != nil || r.GetStatus() != want[i] || r.GetResidentBsn() != "" {
			t.Fatalf("step %d: want %v without the BSN, got %v %v", i, want[i], r, err)
		}
		if want[i] == commonv1.ReferralStatus_REFERRAL_STATUS_ON_HOLD && r.GetHoldReason() != referralv1.HoldReason_HOLD_REASON_WAITLIST {
			t.Fatalf("sub-status %v", r.GetHoldReason())
		}
	}
	if _, err := dc.CompleteReferral(h.ctx, &referralv1.CompleteReferralRequest{IdempotencyKey: h.key(), ReferralId: r2}); !violations(t, err)["outcome"] {
		t.Fatal("complete without outcome accepted")
	}
	if _, err := tc.CompleteReferral(h.ctx, &referralv1.CompleteReferralRequest{IdempotencyKey: h.key(), ReferralId: r2,
		Outcome: referralv1.ReferralOutcome_REFERRAL_OUTCOME_GOAL_REACHED}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("referrer completing: want PERMISSION_DENIED, got %v", err)
	}
	completeReq := &referralv1.CompleteReferralRequest{IdempotencyKey: h.key(), ReferralId: r2, Outcome: referralv1.ReferralOutcome_REFERRAL_OUTCOME_GOAL_REACHED, Note: "budget plan in place"}
	done, err := dc.CompleteReferral(h.ctx, completeReq)
	if err != nil || done.GetReferral().GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_COMPLETED || done.GetReferral().GetOutcome() != referralv1.ReferralOutcome_REFERRAL_OUTCOME_GOAL_REACHED {
		t.Fatalf("complete: %v %v", done, err)
	}
	if replay, err := dc.CompleteReferral(h.ctx, completeReq); err != nil || !proto.Equal(replay, done) {
		t.Fatalf("a retry with the same key must return the first answer: %v", err)
	}
	teamFeedback.WaitFor(t, statusIs(r2, "COMPLETED"))
	debtFeedback.WaitFor(t, statusIs(r2, "COMPLETED"))
	all.WaitFor(t, statusIs(r2, "COMPLETED"))

	// Lists: each side sees only its own.
	sent, err := tc.ListReferrals(h.ctx, &referralv1.ListReferralsRequest{Side: referralv1.ReferralSide_REFERRAL_SIDE_REFERRER})
	if err != nil || len(sent.GetReferrals()) != 2 {
		t.Fatalf("referrer list: %d %v", len(sent.GetReferrals()), err)
	}
	inbox, err := dc.ListReferrals(h.ctx, &referralv1.ListReferralsRequest{Side: referralv1.ReferralSide_REFERRAL_SIDE_RECIPIENT})
	if err != nil || len(inbox.GetReferrals()) != 1 || inbox.GetReferrals()[0].GetId() != r2 {
		t.Fatalf("recipient list: %v %v", inbox, err)
	}
	if none, err := sc.ListReferrals(h.ctx, &referralv1.ListReferralsRequest{Side: referralv1.ReferralSide_REFERRAL_SIDE_RECIPIENT}); err != nil || len(none.GetReferrals()) != 0 {
		t.Fatalf("stranger list: %v %v", none, err)
	}
	page1, err := tc.ListReferrals(h.ctx, &referralv1.ListReferralsRequest{Side: referralv1.ReferralSide_REFERRAL_SIDE_REFERRER, PageSize: 1})
	if err != nil || len(page1.GetReferrals()) != 1 || page1.GetNextPageToken() == "" {
		t.Fatalf("page 1: %v %v", page1, err)
	}
	page2, err := tc.ListReferrals(h.ctx, &referralv1.ListReferralsRequest{Side: referralv1.ReferralSide_REFERRAL_SIDE_REFERRER, PageSize: 1, PageToken: page1.GetNextPageToken()})
	if err != nil || len(page2.GetReferrals()) != 1 || page2.GetReferrals()[0].GetId() == page1.GetReferrals()[0].GetId() {
		t.Fatalf("page 2: %v %v", page2, err)
	}

	// The buddy organisation heard of its own (declined) referral only; the stranger of nothing.
	for _, e := range buddyFeedback.All() {
		if m, ok := e.Message.(*referralv1.ReferralStatusChanged); !ok || m.GetReferralId() != ref.GetId() {
			t.Fatalf("buddy organisation received %v", e.Message)
		}
	}
	if n := len(strangerFeedback.All()); n != 0 {
		t.Fatalf("a third organisation received %d events", n)
	}
	for _, e := range all.All() {
		raw := string(e.Envelope.Data)
		if strings.Contains(raw, residentBSN) || strings.Contains(raw, "buddy") || strings.Contains(raw, "budget") {
			t.Fatalf("event carries personal data or free text: %s", e.Envelope.Type)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM referrals WHERE question_enc::text LIKE '%buddy%'`); n != 0 {
		t.Fatal("the question must be stored encrypted")
	}
}

func strangerProvision(t *testing.T, h *harness) *referralv1.Provision {
	return h.provision(t, strangerPr, "Dagbesteding Elders", nil)
}

func withKey(r *referralv1.CreateReferralRequest, key string) *referralv1.CreateReferralRequest {
	r.IdempotencyKey = key
	return r
}

func statusIs(id, st string) func(cloudevents.Envelope, proto.Message) bool {
	return func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*referralv1.ReferralStatusChanged)
		return ok && e.GetReferralId() == id && protoenum.Code(e.GetStatus()) == st
	}
}

func TestCreateReferralValidation(t *testing.T) {
	t.Parallel()
	h := start(t)
	tc := h.client(t, team)
	bad := &referralv1.CreateReferralRequest{IdempotencyKey: h.key(), ProvisionId: "x", ResidentBsn: "123456789", MunicipalityCode: "GM0363"}
	f := violations(t, mustErr(tc.CreateReferral(h.ctx, bad)))
	for _, field := range []string{"provision_id", "case_id", "resident_bsn", "question", "shared_data_categories", "legal_basis"} {
		if !f[field] {
			t.Errorf("want a violation of %s, got %v", field, f)
		}
	}
	p := h.provision(t, buddyOrg, "Inloop", func(p *referralv1.Provision) { p.AcceptsDigitalReferrals = false })
	if _, err := tc.CreateReferral(h.ctx, withKey(referralTo(p.GetId()), h.key())); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a provision without digital referrals: %v", err)
	}
	if _, err := tc.CreateReferral(h.ctx, withKey(referralTo(uuid.NewString()), h.key())); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown provision: %v", err)
	}
	ok := h.provision(t, buddyOrg, "Maatje", nil)
	past := withKey(referralTo(ok.GetId()), h.key())
	past.AcceptBy = timestamppb.New(time.Now().Add(-time.Hour))
	if !violations(t, mustErr(tc.CreateReferral(h.ctx, past)))["accept_by"] {
		t.Fatal("accept_by in the past accepted")
	}
	// A provider cannot refer; a GP can.
	if _, err := h.client(t, buddyOrg).CreateReferral(h.ctx, withKey(referralTo(ok.GetId()), h.key())); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("provider referring: %v", err)
	}
	// A draft is invisible to the recipient until sent; sending is the referrer's.
	draftReq := withKey(referralTo(ok.GetId()), h.key())
	draftReq.Send = false
	draft, err := tc.CreateReferral(h.ctx, draftReq)
	if err != nil || draft.GetReferral().GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_DRAFT {
		t.Fatalf("draft: %v %v", draft, err)
	}
	bc := h.client(t, buddyOrg)
	if _, err := bc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: draft.GetReferral().GetId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("recipient reading a draft: %v", err)
	}
	if _, err := bc.SendReferral(h.ctx, &referralv1.SendReferralRequest{IdempotencyKey: h.key(), ReferralId: draft.GetReferral().GetId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("recipient sending a draft: %v", err)
	}
	sent, err := tc.SendReferral(h.ctx, &referralv1.SendReferralRequest{IdempotencyKey: h.key(), ReferralId: draft.GetReferral().GetId()})
	if err != nil || sent.GetReferral().GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_SENT {
		t.Fatalf("send: %v %v", sent, err)
	}
	if _, err := bc.CancelReferral(h.ctx, &referralv1.CancelReferralRequest{IdempotencyKey: h.key(), ReferralId: draft.GetReferral().GetId(),
		Reason: referralv1.CancelReason_CANCEL_REASON_OTHER}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("recipient cancelling a sent referral (it declines instead): %v", err)
	}
	if _, err := tc.CancelReferral(h.ctx, &referralv1.CancelReferralRequest{IdempotencyKey: h.key(), ReferralId: draft.GetReferral().GetId(),
		Reason: referralv1.CancelReason_CANCEL_REASON_CONSENT_WITHDRAWN}); !violations(t, err)["reason"] {
		t.Fatal("CONSENT_WITHDRAWN is the service's reason only")
	}
	c, err := tc.CancelReferral(h.ctx, &referralv1.CancelReferralRequest{IdempotencyKey: h.key(), ReferralId: draft.GetReferral().GetId(),
		Reason: referralv1.CancelReason_CANCEL_REASON_NO_LONGER_NEEDED})
	if err != nil || c.GetReferral().GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_CANCELLED {
		t.Fatalf("referrer cancel: %v %v", c, err)
	}
}

func TestReferralExpires(t *testing.T) {
	t.Setenv("WIJKBRUG_REFERRAL_EXPIRY_INTERVAL", "100ms")
	h := start(t)
	feedback := h.env.Events(t, "referral", "wijkbrug.referral.feedback."+team.OIN+".>")
	p := h.provision(t, buddyOrg, "Maatje", nil)
	tc := h.client(t, team)
	resp, err := tc.CreateReferral(h.ctx, withKey(referralTo(p.GetId()), h.key()))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetReferral().GetId()
	keep, err := tc.CreateReferral(h.ctx, withKey(referralTo(p.GetId()), h.key()))
	if err != nil {
		t.Fatal(err)
	}
	// accept_by passes (moved into the past rather than waiting 14 days).
	if _, err := h.s.Pool.Exec(context.Background(), `UPDATE referrals SET accept_by = now() - interval '1 minute' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	feedback.WaitFor(t, statusIs(id, "EXPIRED"))
	got, err := tc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: id})
	if err != nil || got.GetReferral().GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_EXPIRED {
		t.Fatalf("after expiry: %v %v", got, err)
	}
	if _, err := h.client(t, buddyOrg).AcceptReferral(h.ctx, &referralv1.AcceptReferralRequest{IdempotencyKey: h.key(), ReferralId: id}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("accepting an expired referral: %v", err)
	}
	other, err := tc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: keep.GetReferral().GetId()})
	if err != nil || other.GetReferral().GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_SENT {
		t.Fatalf("a referral not yet due must stay SENT: %v %v", other, err)
	}
	if n := h.count(t, `SELECT count(*) FROM referral_transitions WHERE referral_id = $1 AND to_status = 'EXPIRED' AND side = 'SYSTEM'`, id); n != 1 {
		t.Fatalf("expired %d times", n)
	}
}

func TestConsentWithdrawalCancelsReferrals(t *testing.T) {
	t.Parallel()
	h := start(t)
	feedback := h.env.Events(t, "referral", "wijkbrug.referral.feedback."+buddyOrg.OIN+".>")
	p := h.provision(t, buddyOrg, "Maatje", nil)
	tc := h.client(t, team)
	consent := func(recipients []string, cats ...referralv1.DataCategory) string {
		t.Helper()
		resp, err := tc.RecordConsent(h.ctx, &referralv1.RecordConsentRequest{IdempotencyKey: h.key(), ResidentBsn: residentBSN,
			ProcessingActivity: "referral", RecipientOins: recipients, DataCategories: cats, MunicipalityCode: "GM0363"})
		if err != nil {
			t.Fatalf("record consent: %v", err)
		}
		if resp.GetConsent().GetStatus() != referralv1.ConsentStatus_CONSENT_STATUS_VALID {
			t.Fatalf("consent %v", resp.GetConsent())
		}
		return resp.GetConsent().GetId()
	}
	withConsent := func(id string) *referralv1.CreateReferralRequest {
		r := withKey(referralTo(p.GetId()), h.key())
		r.LegalBasis, r.ConsentId = referralv1.LegalBasis_LEGAL_BASIS_UNSPECIFIED, id
		return r
	}
	// A consent that names another recipient, or too few categories, does not carry a referral.
	narrow := consent([]string{debtOrg.OIN}, referralv1.DataCategory_DATA_CATEGORY_IDENTITY, referralv1.DataCategory_DATA_CATEGORY_QUESTION)
	if _, err := tc.CreateReferral(h.ctx, withConsent(narrow)); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("consent for another recipient: %v", err)
	}
	fewCats := consent([]string{buddyOrg.OIN}, referralv1.DataCategory_DATA_CATEGORY_IDENTITY)
	if _, err := tc.CreateReferral(h.ctx, withConsent(fewCats)); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("consent without QUESTION: %v", err)
	}
	cid := consent([]string{buddyOrg.OIN}, referralv1.DataCategory_DATA_CATEGORY_IDENTITY, referralv1.DataCategory_DATA_CATEGORY_QUESTION)
	// Another team cannot use, read or withdraw it.
	oc := h.client(t, otherTeam)
	if _, err := oc.CreateReferral(h.ctx, withConsent(cid)); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's consent: %v", err)
	}
	if _, err := oc.GetConsent(h.ctx, &referralv1.GetConsentRequest{ConsentId: cid}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team reading the consent: %v", err)
	}
	if _, err := oc.WithdrawConsent(h.ctx, &referralv1.WithdrawConsentRequest{IdempotencyKey: h.key(), ConsentId: cid}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team withdrawing the consent: %v", err)
	}
	var ids []string
	for range 2 {
		r, err := tc.CreateReferral(h.ctx, withConsent(cid))
		if err != nil {
			t.Fatalf("referral on consent: %v", err)
		}
		ids = append(ids, r.GetReferral().GetId())
	}
	if _, err := h.client(t, buddyOrg).AcceptReferral(h.ctx, &referralv1.AcceptReferralRequest{IdempotencyKey: h.key(), ReferralId: ids[1]}); err != nil {
		t.Fatal(err)
	}
	onWMO, err := tc.CreateReferral(h.ctx, withKey(referralTo(p.GetId()), h.key()))
	if err != nil {
		t.Fatal(err)
	}
	w, err := tc.WithdrawConsent(h.ctx, &referralv1.WithdrawConsentRequest{IdempotencyKey: h.key(), ConsentId: cid})
	if err != nil || w.GetConsent().GetStatus() != referralv1.ConsentStatus_CONSENT_STATUS_WITHDRAWN || len(w.GetCancelledReferralIds()) != 2 {
		t.Fatalf("withdraw: %v %v", w, err)
	}
	for _, id := range ids {
		feedback.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
			e, ok := m.(*referralv1.ReferralStatusChanged)
			return ok && e.GetReferralId() == id && e.GetStatus() == commonv1.ReferralStatus_REFERRAL_STATUS_CANCELLED && e.GetCancelReason() == referralv1.CancelReason_CANCEL_REASON_CONSENT_WITHDRAWN
		})
	}
	if got, _ := tc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: onWMO.GetReferral().GetId()}); got.GetReferral().GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_SENT {
		t.Fatalf("a referral on another legal basis is not touched: %v", got.GetReferral().GetStatus())
	}
	if _, err := tc.WithdrawConsent(h.ctx, &referralv1.WithdrawConsentRequest{IdempotencyKey: h.key(), ConsentId: cid}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("withdrawing twice: %v", err)
	}
	if _, err := tc.CreateReferral(h.ctx, withConsent(cid)); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("a withdrawn consent carries no referral: %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM consents WHERE resident_bsn_enc::text LIKE '%' || $1 || '%'`, residentBSN); n != 0 {
		t.Fatal("consent BSN must be stored encrypted")
	}
}

// A referral becomes an action of the case it names: only the case's team (or an organisation
// involved in it, as case-direction knows) may make one.
func TestReferralForAnotherTeamsCaseIsRefused(t *testing.T) {
	t.Parallel()
	h := start(t)
	buddy := h.provision(t, buddyOrg, "Maatjesproject Elders", nil)
	req := referralTo(buddy.GetId())
	req.IdempotencyKey = h.key()
	if _, err := h.client(t, otherTeam).CreateReferral(h.ctx, req); status.Code(err) != codes.NotFound {
		t.Fatalf("another team naming the case: want NOT_FOUND, got %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM referrals`); n != 0 {
		t.Fatalf("a refused referral was stored (%d rows)", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND org_oin = $1 AND object_id = $2`, otherTeam.OIN, caseOfTeam); n != 1 {
		t.Fatalf("the refusal must be logged once, got %d", n)
	}
	req.IdempotencyKey = h.key()
	if _, err := h.client(t, team).CreateReferral(h.ctx, req); err != nil {
		t.Fatalf("the case's own team: %v", err)
	}
	// The same for an intake.
	fromIntake := referralTo(buddy.GetId())
	fromIntake.CaseId, fromIntake.IntakeId, fromIntake.GoalIds, fromIntake.IdempotencyKey = "", intakeOfTeam, nil, h.key()
	if _, err := h.client(t, otherTeam).CreateReferral(h.ctx, fromIntake); status.Code(err) != codes.NotFound {
		t.Fatalf("another team naming the intake: want NOT_FOUND, got %v", err)
	}
	fromIntake.IdempotencyKey = h.key()
	if _, err := h.client(t, team).CreateReferral(h.ctx, fromIntake); err != nil {
		t.Fatalf("the intake's own team: %v", err)
	}
}

// A referral must fit the case or the intake it names (probe-A F4): its resident is a current
// member of the household, its municipality is the case's (so its events go to the right
// municipality's subjects), its district lies in that municipality, and its goals are distinct
// open goals of the case's plan. A whitespace-only question is no question.
func TestReferralMustFitItsCaseOrIntake(t *testing.T) {
	t.Parallel()
	h := start(t)
	const partner = "100000009" // a second member of the household (passes the 11-proef)
	h.addMembers(partner)
	buddy := h.provision(t, buddyOrg, "Maatjesproject", nil)
	tc := h.client(t, team)
	bad := func(name, field string, code codes.Code, mod func(*referralv1.CreateReferralRequest)) {
		t.Helper()
		req := withKey(referralTo(buddy.GetId()), h.key())
		mod(req)
		_, err := tc.CreateReferral(h.ctx, req)
		if status.Code(err) != code {
			t.Fatalf("%s: want %v, got %v", name, code, err)
		}
		if field != "" && !violations(t, err)[field] {
			t.Fatalf("%s: want a violation of %s, got %v", name, field, err)
		}
		if strings.Contains(err.Error(), otherBSN) {
			t.Fatalf("%s: the error repeats the BSN", name)
		}
	}
	bad("a resident outside the household", "resident_bsn", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) { r.ResidentBsn = otherBSN })
	bad("another municipality", "municipality_code", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) {
		r.MunicipalityCode, r.DistrictCode = "GM0599", ""
	})
	bad("a district of another municipality", "district_code", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) { r.DistrictCode = "WK059900" })
	bad("a goal not in the plan", "goal_ids[0]", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) { r.GoalIds = []string{uuid.NewString()} })
	bad("a goal named twice", "goal_ids", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) { r.GoalIds = []string{goalOfCase, goalOfCase} })
	bad("a reached goal", "", codes.FailedPrecondition, func(r *referralv1.CreateReferralRequest) { r.GoalIds = []string{goalOfCase, reachedGoal} })
	bad("a question of white space", "question", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) { r.Question = " \t\n\u00a0 " })
	if n := h.count(t, `SELECT count(*) FROM referrals`); n != 0 {
		t.Fatalf("refused referrals were stored: %d", n)
	}

	// What fits is accepted: another member of the household, the whole municipality, no goals.
	ok := withKey(referralTo(buddy.GetId()), h.key())
	ok.ResidentBsn, ok.DistrictCode, ok.GoalIds = partner, "", nil
	if _, err := tc.CreateReferral(h.ctx, ok); err != nil {
		t.Fatalf("another member of the household: %v", err)
	}

	// The case's state: goals need a plan, and a closed case takes no referrals.
	h.facts.mu.Lock()
	h.facts.noPlan = true
	h.facts.mu.Unlock()
	bad("goals before a plan", "", codes.FailedPrecondition, func(*referralv1.CreateReferralRequest) {})
	noGoals := withKey(referralTo(buddy.GetId()), h.key())
	noGoals.GoalIds = nil
	if _, err := tc.CreateReferral(h.ctx, noGoals); err != nil {
		t.Fatalf("no goals before a plan: %v", err)
	}
	h.facts.mu.Lock()
	h.facts.noPlan, h.facts.caseStatus = false, casedirectionv1.CaseStatus_CASE_STATUS_CLOSED
	h.facts.mu.Unlock()
	bad("a closed case", "", codes.FailedPrecondition, func(*referralv1.CreateReferralRequest) {})
	// The case's team's referrals took the case's facts from the involvement answer: no read of
	// their own (issue 12). A case-direction that does not send them is read as before.
	h.facts.mu.Lock()
	caseReads := h.facts.caseReads
	h.facts.caseStatus, h.facts.oldCaseDirection = casedirectionv1.CaseStatus_CASE_STATUS_IN_PROGRESS, true
	h.facts.mu.Unlock()
	if caseReads != 0 {
		t.Fatalf("the case was read %d times beside the involvement answer", caseReads)
	}
	bad("an older case-direction: a goal not in the plan", "goal_ids[0]", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) { r.GoalIds = []string{uuid.NewString()} })
	if _, err := tc.CreateReferral(h.ctx, withKey(referralTo(buddy.GetId()), h.key())); err != nil {
		t.Fatalf("a referral that fits an older case-direction's facts: %v", err)
	}
	h.facts.mu.Lock()
	caseReads = h.facts.caseReads
	h.facts.oldCaseDirection = false
	h.facts.mu.Unlock()
	if caseReads != 2 {
		t.Fatalf("an older case-direction: the case read %d times, want once per referral (2)", caseReads)
	}

	// An intake: its household and municipality likewise; it has no plan, so no goals.
	fromIntake := func(r *referralv1.CreateReferralRequest) { r.CaseId, r.IntakeId, r.GoalIds = "", intakeOfTeam, nil }
	bad("intake: goals", "goal_ids", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) {
		fromIntake(r)
		r.GoalIds = []string{goalOfCase}
	})
	bad("intake: a resident outside the household", "resident_bsn", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) {
		fromIntake(r)
		r.ResidentBsn = otherBSN
	})
	bad("intake: another municipality", "municipality_code", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) {
		fromIntake(r)
		r.MunicipalityCode, r.DistrictCode = "GM0599", ""
	})
	intakeOK := withKey(referralTo(buddy.GetId()), h.key())
	fromIntake(intakeOK)
	if _, err := tc.CreateReferral(h.ctx, intakeOK); err != nil {
		t.Fatalf("a referral that fits the intake: %v", err)
	}
	h.facts.mu.Lock()
	h.facts.intakeStatus = intakev1.IntakeStatus_INTAKE_STATUS_MERGED
	h.facts.mu.Unlock()
	bad("a merged intake", "", codes.FailedPrecondition, fromIntake)
	// The owning team's referrals took the intake's facts from the ownership answer: no read of
	// their own (issue 12). An intake that does not send them is read as before.
	h.facts.mu.Lock()
	reads := h.facts.intakeReads
	h.facts.intakeStatus, h.facts.oldIntake = intakev1.IntakeStatus_INTAKE_STATUS_IN_TRIAGE, true
	h.facts.mu.Unlock()
	if reads != 0 {
		t.Fatalf("the intake was read %d times beside the ownership answer", reads)
	}
	bad("an older intake: a resident outside the household", "resident_bsn", codes.InvalidArgument, func(r *referralv1.CreateReferralRequest) {
		fromIntake(r)
		r.ResidentBsn = otherBSN
	})
	olderOK := withKey(referralTo(buddy.GetId()), h.key())
	fromIntake(olderOK)
	if _, err := tc.CreateReferral(h.ctx, olderOK); err != nil {
		t.Fatalf("a referral that fits an older intake's facts: %v", err)
	}
	h.facts.mu.Lock()
	reads = h.facts.intakeReads
	h.facts.mu.Unlock()
	if reads != 2 {
		t.Fatalf("an older intake: read %d times, want once per referral (2)", reads)
	}
	if n := h.count(t, `SELECT count(*) FROM referrals`); n != 5 {
		t.Fatalf("want the 5 referrals that fit, got %d", n)
	}
}
