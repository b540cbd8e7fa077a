package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/case-direction/service"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) { testkit.Main(m) }

var (
	intake    = svctest.ServiceOrg("intake")
	teamNoord = svctest.Org(identity.OrgTeam, "Wijkteam Noord")
	teamZuid  = svctest.Org(identity.OrgTeam, "Wijkteam Zuid")
	gp        = svctest.Org(identity.OrgGP, "Huisartsenpraktijk Noord")
)

// fakePM stands in for provider-monitoring: it answers Allocate idempotently per key, or
// with the error the test sets, and remembers what it was asked.
type fakePM struct {
	providermonitoringv1.UnimplementedProviderMonitoringServiceServer
	mu    sync.Mutex
	err   error
	calls []*providermonitoringv1.AllocateRequest
	md    []metadata.MD
	byKey map[string]*providermonitoringv1.Allocation
	// issued are allocations issued some other way (a granted 315), by number.
	issued map[string]*providermonitoringv1.Allocation
}

func (f *fakePM) Allocate(ctx context.Context, req *providermonitoringv1.AllocateRequest) (*providermonitoringv1.AllocateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	f.calls = append(f.calls, proto.Clone(req).(*providermonitoringv1.AllocateRequest))
	f.md = append(f.md, md)
	if f.err != nil {
		return nil, f.err
	}
	if f.byKey == nil {
		f.byKey = map[string]*providermonitoringv1.Allocation{}
	}
	a, ok := f.byKey[req.GetIdempotencyKey()]
	if !ok {
		a = &providermonitoringv1.Allocation{
			Number: fmt.Sprintf("TW%06d", len(f.byKey)+1), ProviderAgb: req.GetProviderAgb(), CaseId: req.GetCaseId(),
			MunicipalityCode: req.GetMunicipalityCode(), DistrictCode: req.GetDistrictCode(),
			ProductCategory: req.GetProductCategory(), ProductCode: req.GetProductCode(),
			StartDate: req.GetStartDate(), EndDate: req.GetEndDate(), Volume: req.GetVolume(),
			Status: commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED, IssuedAt: timestamppb.Now(),
		}
		f.byKey[req.GetIdempotencyKey()] = a
	}
	return &providermonitoringv1.AllocateResponse{Allocation: a}, nil
}

// GetAllocation answers for the allocations Allocate issued and those the test issued with
// issue; any other number is NOT_FOUND, as provider-monitoring answers for one it never
// committed.
func (f *fakePM) GetAllocation(_ context.Context, req *providermonitoringv1.GetAllocationRequest) (*providermonitoringv1.GetAllocationResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.byKey {
		if a.GetNumber() == req.GetAllocationNumber() {
			return &providermonitoringv1.GetAllocationResponse{Allocation: a}, nil
		}
	}
	if a, ok := f.issued[req.GetAllocationNumber()]; ok {
		return &providermonitoringv1.GetAllocationResponse{Allocation: a}, nil
	}
	return nil, status.Error(codes.NotFound, "allocation not found")
}

// issue makes provider-monitoring have an allocation issued outside Allocate.
func (f *fakePM) issue(a *providermonitoringv1.Allocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.issued == nil {
		f.issued = map[string]*providermonitoringv1.Allocation{}
	}
	f.issued[a.GetNumber()] = a
}

func (f *fakePM) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakePM) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakePM) lastCall() (*providermonitoringv1.AllocateRequest, metadata.MD) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[len(f.calls)-1], f.md[len(f.md)-1]
}

// fakeIntake stands in for intake's assessments: CompareAssessments of assessments the test
// added, scoped to their household as intake scopes it (another household's is NOT_FOUND).
type fakeIntake struct {
	intakev1.UnimplementedIntakeServiceServer
	mu          sync.Mutex
	assessments map[string]fakeAssessment
}

type fakeAssessment struct {
	household string
	scores    []*commonv1.DomainScore
}

// add records an assessment of household and returns its id.
func (f *fakeIntake) add(household string, scores ...*commonv1.DomainScore) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.assessments == nil {
		f.assessments = map[string]fakeAssessment{}
	}
	id := uuid.NewString()
	f.assessments[id] = fakeAssessment{household: household, scores: scores}
	return id
}

func (f *fakeIntake) CompareAssessments(_ context.Context, req *intakev1.CompareAssessmentsRequest) (*intakev1.CompareAssessmentsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from, okFrom := f.assessments[req.GetFromAssessmentId()]
	to, okTo := f.assessments[req.GetToAssessmentId()]
	if !okFrom || !okTo || from.household != req.GetHouseholdId() || to.household != req.GetHouseholdId() {
		return nil, status.Error(codes.NotFound, "assessment not found")
	}
	out := &intakev1.CompareAssessmentsResponse{To: &intakev1.Assessment{Id: req.GetToAssessmentId(), HouseholdId: to.household, Scores: to.scores}}
	for _, t := range to.scores {
		ch := &commonv1.DomainChange{LifeDomain: t.GetLifeDomain(), ToScore: t.GetScore(), Change: commonv1.ScoreChange_SCORE_CHANGE_NOT_COMPARABLE}
		for _, fs := range from.scores {
			if fs.GetLifeDomain() == t.GetLifeDomain() && fs.GetScore() != 99 && t.GetScore() != 99 {
				ch.FromScore, ch.Delta = fs.GetScore(), t.GetScore()-fs.GetScore()
				ch.Change = commonv1.ScoreChange_SCORE_CHANGE_UNCHANGED
				if ch.Delta > 0 {
					ch.Change = commonv1.ScoreChange_SCORE_CHANGE_IMPROVED
				} else if ch.Delta < 0 {
					ch.Change = commonv1.ScoreChange_SCORE_CHANGE_WORSENED
				}
			}
		}
		out.Changes = append(out.Changes, ch)
	}
	return out, nil
}

type harness struct {
	env    *svctest.Env
	s      *svctest.Service
	pm     *fakePM
	intake *fakeIntake
}

// startPeers serves the fakes of provider-monitoring and intake and returns a config option
// pointing the service at them.
func startPeers(t *testing.T, env *svctest.Env) (*fakePM, *fakeIntake, func(*svc.Config)) {
	t.Helper()
	pm, in := &fakePM{}, &fakeIntake{}
	pmAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) { providermonitoringv1.RegisterProviderMonitoringServiceServer(r, pm) })
	inAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) { intakev1.RegisterIntakeServiceServer(r, in) })
	return pm, in, func(c *svc.Config) { c.ProviderMonitoringAddr, c.IntakeAddr = pmAddr, inAddr }
}

func start(t *testing.T) *harness {
	t.Helper()
	env := svctest.New(t)
	pm, in, peers := startPeers(t, env)
	s := env.Start(t, service.Spec(), peers)
	return &harness{env: env, s: s, pm: pm, intake: in}
}

func (h *harness) as(t *testing.T, org devca.Org) casedirectionv1.CaseDirectionServiceClient {
	t.Helper()
	return casedirectionv1.NewCaseDirectionServiceClient(h.env.Client(t, h.s.Addr, org))
}

func (h *harness) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := h.s.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return n
}

func openRequest(key, householdID string) *casedirectionv1.OpenCaseRequest {
	return &casedirectionv1.OpenCaseRequest{
		IdempotencyKey: key, HouseholdId: householdID, IntakeId: uuid.NewString(),
		MunicipalityCode: "GM0363", DistrictCode: "WK036300", TeamOin: teamNoord.OIN,
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING},
	}
}

func allocationRequest(key, caseID string) *casedirectionv1.RequestAllocationRequest {
	return &casedirectionv1.RequestAllocationRequest{
		IdempotencyKey: key, CaseId: caseID, ProviderAgb: "12345678", ProductCategory: "45", ProductCode: "45A10",
		StartDate: "2026-04-01", EndDate: "2026-12-31", Volume: hoursPerWeek(4),
	}
}

func TestOpenCaseOncePerHousehold(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	events := h.env.Events(t, "casedirection", "wijkbrug.casedirection.>")
	fromIntake := h.as(t, intake)
	household := uuid.NewString()

	req := openRequest("open-1", household)
	resp, err := fromIntake.OpenCase(ctx, req)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	c := resp.GetCase()
	if c.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_REGISTERED || c.GetHouseholdId() != household || c.GetTeamOin() != teamNoord.OIN ||
		c.GetDirector() != nil || len(c.GetLifeDomains()) != 2 || c.GetOpenedAt() == nil {
		t.Fatalf("unexpected case %v", c)
	}

	again, err := fromIntake.OpenCase(ctx, req)
	if err != nil || again.GetCase().GetId() != c.GetId() {
		t.Fatalf("repeat with the same key must return the first answer: %v %v", again, err)
	}
	_, err = fromIntake.OpenCase(ctx, openRequest("open-2", household))
	st := status.Convert(err)
	if st.Code() != codes.AlreadyExists {
		t.Fatalf("second case for the household: want ALREADY_EXISTS, got %v", err)
	}
	if got := resourceName(st); got != c.GetId() {
		t.Fatalf("ALREADY_EXISTS must name the open case %s in ResourceInfo, got %q", c.GetId(), got)
	}
	if n := h.count(t, `SELECT count(*) FROM cases WHERE household_id = $1`, household); n != 1 {
		t.Fatalf("want 1 case row, got %d", n)
	}

	ev, msg := events.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		o, ok := m.(*casedirectionv1.CaseOpened)
		return ok && o.GetCaseId() == c.GetId()
	})
	opened := msg.(*casedirectionv1.CaseOpened)
	if ev.NATSSubject != "wijkbrug.casedirection.GM0363.case.opened" || ev.Subject != c.GetId() || ev.Source != "urn:wijkbrug:casedirection" {
		t.Fatalf("unexpected envelope %+v", ev)
	}
	want := &casedirectionv1.CaseOpened{
		CaseId: c.GetId(), HouseholdId: household, IntakeId: req.GetIntakeId(), MunicipalityCode: "GM0363",
		DistrictCode: "WK036300", TeamOin: teamNoord.OIN, Status: casedirectionv1.CaseStatus_CASE_STATUS_REGISTERED,
		OpenedAt: c.GetOpenedAt(),
	}
	if !proto.Equal(opened, want) {
		t.Fatalf("CaseOpened:\n got %v\nwant %v", opened, want)
	}
	// Information-poor: every field is an id, a code, a status or a time (compared in full
	// above); the payload carries nothing else.
	if len(opened.ProtoReflect().GetUnknown()) != 0 {
		t.Fatal("event carries unknown fields")
	}
	if n := h.count(t, `SELECT count(*) FROM outbox WHERE recipient = '' AND event_type = 'wijkbrug.casedirection.v1.CaseOpened'`); n != 1 {
		t.Fatalf("want 1 CaseOpened in the outbox, got %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.create' AND object_id = $1 AND org_oin = $2`, c.GetId(), intake.OIN); n != 1 {
		t.Fatalf("the opening must be in the access log once, got %d", n)
	}

	// Only intake opens cases (after triage, for the household and intake it owns): a team
	// cannot open one directly, not even for itself, so it cannot attach another team's
	// household or intake to a case (found by the BOLA matrix).
	for _, team := range []devca.Org{teamZuid, teamNoord} {
		own := openRequest("open-"+team.Name, uuid.NewString())
		own.TeamOin = team.OIN
		if _, err := h.as(t, team).OpenCase(ctx, own); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("a team opening a case directly: want PERMISSION_DENIED, got %v", err)
		}
	}
	if _, err := h.as(t, gp).OpenCase(ctx, openRequest("open-gp", uuid.NewString())); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a GP: want PERMISSION_DENIED, got %v", err)
	}
}

func TestOpenCaseConcurrently(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	client := h.as(t, intake)
	household := uuid.NewString()
	const n = 8
	var wg sync.WaitGroup
	codesSeen := make([]codes.Code, n)
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			resp, err := client.OpenCase(ctx, openRequest(fmt.Sprintf("race-%d", i), household))
			codesSeen[i] = status.Code(err)
			if err == nil {
				ids[i] = resp.GetCase().GetId()
			} else {
				ids[i] = resourceName(status.Convert(err))
			}
		})
	}
	wg.Wait()
	created := 0
	for i, c := range codesSeen {
		switch c {
		case codes.OK:
			created++
		case codes.AlreadyExists:
		default:
			t.Fatalf("call %d: unexpected %v", i, c)
		}
		if ids[i] != ids[0] {
			t.Fatalf("every answer must name the one case: %v", ids)
		}
	}
	if created != 1 || h.count(t, `SELECT count(*) FROM cases WHERE household_id = $1`, household) != 1 {
		t.Fatalf("want exactly one case, %d calls succeeded", created)
	}
}

func TestGetCaseOnlyForItsTeam(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	// Intake names the household's two members: every access to the case is logged under each.
	open := openRequest("open", uuid.NewString())
	open.Residents = []*commonv1.ResidentPseudonym{{ResidentId: uuid.NewString(), Pseudonym: "pseudonym-a"}, {ResidentId: uuid.NewString(), Pseudonym: "pseudonym-b"}}
	resp, err := h.as(t, intake).OpenCase(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetCase().GetId()
	get := &casedirectionv1.GetCaseRequest{CaseId: id}

	for _, org := range []devca.Org{teamNoord, intake} {
		got, err := h.as(t, org).GetCase(ctx, get)
		if err != nil || !proto.Equal(got.GetCase(), resp.GetCase()) {
			t.Fatalf("%s reads the case: %v\n got %v\nwant %v", org.Name, err, got.GetCase(), resp.GetCase())
		}
	}
	if _, err := h.as(t, teamZuid).GetCase(ctx, get); status.Code(err) != codes.NotFound {
		t.Fatalf("another team must get NOT_FOUND, got %v", err)
	}
	if _, err := h.as(t, teamZuid).GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: uuid.NewString()}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown case: want NOT_FOUND, got %v", err)
	}
	// A GP may read cases it is involved in (TestInvolvementsGiveReadAccess), so it passes the
	// method policy, and is refused per object here.
	if _, err := h.as(t, gp).GetCase(ctx, get); status.Code(err) != codes.NotFound {
		t.Fatalf("a GP without an involvement must get NOT_FOUND, got %v", err)
	}
	if _, err := h.as(t, teamNoord).GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: "nope"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad id: want INVALID_ARGUMENT, got %v", err)
	}
	for _, p := range []string{"pseudonym-a", "pseudonym-b"} {
		if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.create' AND org_oin = $1 AND object_id = $2 AND resident_pseudonym = $3`, intake.OIN, id, p); n != 1 {
			t.Fatalf("the opening must be in %s's access history once, got %d", p, n)
		}
		if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.read' AND outcome = 'DENIED' AND org_oin = $1 AND object_id = $2 AND resident_pseudonym = $3`, teamZuid.OIN, id, p); n != 1 {
			t.Fatalf("the refused read must be in %s's access history once, got %d", p, n)
		}
		if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.read' AND outcome = 'GRANTED' AND object_id = $1 AND resident_pseudonym = $2`, id, p); n != 2 {
			t.Fatalf("want 2 granted reads in %s's access history, got %d", p, n)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE object_id = $1 AND resident_pseudonym = ''`, id); n != 0 {
		t.Fatalf("no entry about a case with known residents may lack a pseudonym, got %d", n)
	}

	// A Wijkbrug service pages the case's residents; a token of another case is refused.
	svc := h.as(t, intake)
	p1, err := svc.ListCaseResidents(ctx, &casedirectionv1.ListCaseResidentsRequest{CaseId: id, PageSize: 1})
	if err != nil || len(p1.GetResidents()) != 1 || p1.GetNextPageToken() == "" {
		t.Fatalf("first page of residents: %v %v", err, p1)
	}
	p2, err := svc.ListCaseResidents(ctx, &casedirectionv1.ListCaseResidentsRequest{CaseId: id, PageSize: 1, PageToken: p1.GetNextPageToken()})
	if err != nil || len(p2.GetResidents()) != 1 || p2.GetNextPageToken() != "" ||
		p2.GetResidents()[0].GetResidentId() <= p1.GetResidents()[0].GetResidentId() {
		t.Fatalf("second page of residents: %v %v", err, p2)
	}
	expectViolations(t, mustErr(svc.ListCaseResidents(ctx, &casedirectionv1.ListCaseResidentsRequest{CaseId: uuid.NewString(), PageToken: p1.GetNextPageToken()})), "page_token")
	expectViolations(t, mustErr(svc.ListCaseResidents(ctx, &casedirectionv1.ListCaseResidentsRequest{CaseId: id, PageSize: -1})), "page_size")
}

func TestDirectorAllocationAndStartOfCare(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	events := h.env.Events(t, "casedirection", "wijkbrug.casedirection.>")
	opened, err := h.as(t, intake).OpenCase(ctx, openRequest("open", uuid.NewString()))
	if err != nil {
		t.Fatal(err)
	}
	id := opened.GetCase().GetId()
	noord, zuid := h.as(t, teamNoord), h.as(t, teamZuid)

	// No allocation before someone directs the case.
	if _, err := noord.RequestAllocation(ctx, allocationRequest("alloc-0", id)); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("allocation before a director: want FAILED_PRECONDITION, got %v", err)
	}
	if h.pm.callCount() != 0 {
		t.Fatal("provider-monitoring must not be called for a case without a director")
	}

	// Another team can neither direct nor allocate, and its attempts stay on record.
	if _, err := zuid.AssignDirector(ctx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "d-z", CaseId: id, ProfessionalId: "zuid-7"}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team assigning: want NOT_FOUND, got %v", err)
	}
	if _, err := zuid.RequestAllocation(ctx, allocationRequest("alloc-z", id)); status.Code(err) != codes.NotFound {
		t.Fatalf("another team allocating: want NOT_FOUND, got %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND org_oin = $1 AND object_id = $2`, teamZuid.OIN, id); n != 2 {
		t.Fatalf("both refusals must be in the access log, got %d", n)
	}

	assign := &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "d-1", CaseId: id, ProfessionalId: "noord-1"}
	resp, err := noord.AssignDirector(ctx, assign)
	if err != nil {
		t.Fatalf("assign: %v", err)
	}
	if c := resp.GetCase(); c.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE || c.GetDirector().GetProfessionalId() != "noord-1" ||
		c.GetDirector().GetTeamOin() != teamNoord.OIN || c.GetDirector().GetSince() == nil {
		t.Fatalf("after assignment: %v", c)
	}
	_, msg := events.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		a, ok := m.(*casedirectionv1.CaseDirectorAssigned)
		return ok && a.GetCaseId() == id
	})
	if a := msg.(*casedirectionv1.CaseDirectorAssigned); a.GetProfessionalId() != "noord-1" || a.GetTeamOin() != teamNoord.OIN ||
		a.GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE || a.GetMunicipalityCode() != "GM0363" {
		t.Fatalf("unexpected CaseDirectorAssigned %v", a)
	}

	// A handover keeps the status and closes the first director's period.
	handover, err := noord.AssignDirector(ctx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "d-2", CaseId: id, ProfessionalId: "noord-2"})
	if err != nil || handover.GetCase().GetStatus() != casedirectionv1.CaseStatus_CASE_STATUS_ACTIVE || handover.GetCase().GetDirector().GetProfessionalId() != "noord-2" {
		t.Fatalf("handover: %v %v", handover, err)
	}
	if n := h.count(t, `SELECT count(*) FROM director_history WHERE case_id = $1`, id); n != 2 {
		t.Fatalf("want 2 director periods, got %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM director_history WHERE case_id = $1 AND professional_id = 'noord-1' AND valid_to IS NOT NULL`, id); n != 1 {
		t.Fatal("the first director's period must be closed")
	}
	if n := h.count(t, `SELECT count(*) FROM director_history WHERE case_id = $1 AND professional_id = 'noord-2' AND valid_to IS NULL AND team_oin = $2`, id, teamNoord.OIN); n != 1 {
		t.Fatal("the new director's period must be open")
	}

	// Allocation through provider-monitoring, with a key derived from case and request.
	req := allocationRequest("alloc-1", id)
	alloc, err := noord.RequestAllocation(ctx, req)
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	number := alloc.GetAllocationNumber()
	got, md := h.pm.lastCall()
	want := &providermonitoringv1.AllocateRequest{
		IdempotencyKey: "case-" + id + "-alloc-1", CaseId: id, MunicipalityCode: "GM0363", DistrictCode: "WK036300",
		ProviderAgb: "12345678", ProductCategory: "45", ProductCode: "45A10", StartDate: "2026-04-01", EndDate: "2026-12-31",
		Volume: hoursPerWeek(4),
	}
	if !proto.Equal(got, want) {
		t.Fatalf("Allocate request:\n got %v\nwant %v", got, want)
	}
	if v := md.Get(identity.HeaderOnBehalfOf); len(v) != 1 || v[0] != teamNoord.OIN {
		t.Fatalf("the call must carry the team it acts for, got %v", v)
	}
	if v := md.Get(identity.HeaderUser); len(v) != 1 || v[0] != "professional-1" {
		t.Fatalf("the call must carry the acting user, got %v", v)
	}
	if as := alloc.GetCase().GetAllocations(); number == "" || len(as) != 1 || as[0].GetAllocationNumber() != number || as[0].GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_ISSUED ||
		as[0].GetProviderAgb() != "12345678" || as[0].GetProductCode() != "45A10" {
		t.Fatalf("allocation action: %q %v", number, as)
	}
	_, msg = events.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		a, ok := m.(*casedirectionv1.CaseAllocationRequested)
		return ok && a.GetCaseId() == id
	})
	if a := msg.(*casedirectionv1.CaseAllocationRequested); a.GetAllocationNumber() != number || a.GetProviderAgb() != "12345678" || a.GetMunicipalityCode() != "GM0363" {
		t.Fatalf("unexpected CaseAllocationRequested %v", a)
	}

	// The same request key again: the first answer, no second call, no second row.
	again, err := noord.RequestAllocation(ctx, req)
	if err != nil || again.GetAllocationNumber() != number {
		t.Fatalf("repeat: %v %v", again, err)
	}
	if c := h.pm.callCount(); c != 1 {
		t.Fatalf("provider-monitoring called %d times, want 1", c)
	}
	if n := h.count(t, `SELECT count(*) FROM case_allocations WHERE case_id = $1`, id); n != 1 {
		t.Fatalf("want 1 allocation row, got %d", n)
	}

	// provider-monitoring's refusals reach the director as they are.
	h.pm.setErr(status.Error(codes.FailedPrecondition, "no valid contract for product 45A10 in district WK036300"))
	_, err = noord.RequestAllocation(ctx, allocationRequest("alloc-2", id))
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "no valid contract") {
		t.Fatalf("want the peer's FAILED_PRECONDITION, got %v", err)
	}
	h.pm.setErr(status.Error(codes.NotFound, "provider not found"))
	if _, err := noord.RequestAllocation(ctx, allocationRequest("alloc-3", id)); status.Code(err) != codes.NotFound {
		t.Fatalf("want the peer's NOT_FOUND, got %v", err)
	}
	h.pm.setErr(nil)
	if n := h.count(t, `SELECT count(*) FROM case_allocations WHERE case_id = $1`, id); n != 1 {
		t.Fatalf("refused allocations must not be recorded, got %d rows", n)
	}

	// Start of care, reported by provider-monitoring on NATS; a repeat and an allocation of
	// nobody's case change nothing and are not retried.
	started := &providermonitoringv1.AllocationDeliveryStarted{AllocationNumber: number, CaseId: id, ProviderAgb: "12345678",
		StartedOn: "2026-04-02", ReportedOnTime: true, MunicipalityCode: "GM0363", ReportedAt: timestamppb.Now()}
	subject := "wijkbrug.providermonitoring.GM0363.allocation.delivery_started"
	h.env.Publish(t, "providermonitoring", "wijkbrug.providermonitoring.GM0363.allocation.issued", number,
		&providermonitoringv1.AllocationIssued{AllocationNumber: number, CaseId: id, ProviderAgb: "12345678", MunicipalityCode: "GM0363"})
	unknown := h.env.Publish(t, "providermonitoring", subject, "TW999999",
		&providermonitoringv1.AllocationDeliveryStarted{AllocationNumber: "TW999999", MunicipalityCode: "GM0363"})
	first := h.env.Publish(t, "providermonitoring", subject, number, started)
	h.env.Publish(t, "providermonitoring", subject, number, started)
	waitFor(t, "allocation STARTED", func() bool {
		return h.count(t, `SELECT count(*) FROM case_allocations WHERE allocation_number = $1 AND status = 'STARTED'`, number) == 1
	})
	waitFor(t, "all four events processed", func() bool {
		return h.count(t, `SELECT count(*) FROM processed_events WHERE consumer = 'casedirection-allocations'`) == 4
	})
	// (The outcome read model's consumer records the same events under its own name.)
	if n := h.count(t, `SELECT count(*) FROM processed_events WHERE consumer = 'casedirection-allocations' AND event_id = ANY($1)`, []string{unknown, first}); n != 2 {
		t.Fatalf("unknown allocation and start must both be settled, got %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.allocation_started' AND object_id = $1 AND route = 'SYSTEM'`, id); n != 1 {
		t.Fatalf("the status change must be logged once, got %d", n)
	}
	view, err := noord.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
	if err != nil || len(view.GetCase().GetAllocations()) != 1 || view.GetCase().GetAllocations()[0].GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_STARTED {
		t.Fatalf("case after start of care: %v %v", view, err)
	}

	// An allocation a decision (beschikking) issued in provider-monitoring: the case shows it
	// with the decision's number, as allocation.issued carries it (issue 17).
	const decided, decisionNumber = "TW000777", "GM0363-2026-000042"
	h.env.Publish(t, "providermonitoring", "wijkbrug.providermonitoring.GM0363.allocation.issued", decided,
		&providermonitoringv1.AllocationIssued{AllocationNumber: decided, CaseId: id, ProviderAgb: "12345678", MunicipalityCode: "GM0363",
			ProductCategory: "45", ProductCode: "45A01", DecisionNumber: decisionNumber, IssuedAt: timestamppb.Now()})
	var shown *casedirectionv1.AllocationAction
	waitFor(t, "the decided allocation on the case", func() bool {
		view, err := noord.GetCase(ctx, &casedirectionv1.GetCaseRequest{CaseId: id})
		if err != nil {
			t.Fatalf("GetCase: %v", err)
		}
		for _, a := range view.GetCase().GetAllocations() {
			if a.GetAllocationNumber() == decided {
				shown = a
			}
		}
		return shown != nil
	})
	if shown.GetDecisionNumber() != decisionNumber || shown.GetOrigin() != casedirectionv1.AllocationOrigin_ALLOCATION_ORIGIN_OTHER {
		t.Fatalf("the case shows the decided allocation without its decision: %v", shown)
	}
	if n := h.count(t, `SELECT count(*) FROM case_allocations WHERE allocation_number = $1 AND decision_number = $2`, number, ""); n != 1 {
		t.Fatalf("an allocation issued without a decision has no decision number, got %d", n)
	}
}

func TestBadInput(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	fromIntake, noord := h.as(t, intake), h.as(t, teamNoord)

	open := openRequest("", "not-a-uuid")
	open.IntakeId = "x"
	open.MunicipalityCode = "Amsterdam"
	open.DistrictCode = "W1"
	open.TeamOin = "123"
	open.LifeDomains = []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_UNSPECIFIED}
	expectViolations(t, mustErr(fromIntake.OpenCase(ctx, open)),
		"idempotency_key", "household_id", "intake_id", "municipality_code", "district_code", "team_oin", "life_domains[0]")

	expectViolations(t, mustErr(noord.AssignDirector(ctx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "k", CaseId: "1", ProfessionalId: "Jan de Vries"})),
		"case_id", "professional_id")

	alloc := &casedirectionv1.RequestAllocationRequest{IdempotencyKey: "k", CaseId: "1", ProviderAgb: "1234", ProductCategory: "",
		ProductCode: "45 A10", StartDate: "2026-13-01", EndDate: "01-04-2026", Volume: &commonv1.Volume{Frequency: commonv1.VolumeFrequency(42)},
		GoalIds: []string{uuid.NewString(), "not-a-goal"}}
	expectViolations(t, mustErr(noord.RequestAllocation(ctx, alloc)),
		"case_id", "provider_agb", "product_category", "product_code", "start_date", "end_date", "volume.amount", "volume.unit", "volume.frequency",
		"goal_ids[1]")

	backwards := allocationRequest("k", uuid.NewString())
	backwards.StartDate, backwards.EndDate = "2026-12-31", "2026-04-01"
	expectViolations(t, mustErr(noord.RequestAllocation(ctx, backwards)), "end_date")

	if h.count(t, `SELECT count(*) FROM cases`)+h.count(t, `SELECT count(*) FROM idempotency_keys`) != 0 || h.pm.callCount() != 0 {
		t.Fatal("invalid requests must have no effect")
	}
}

func mustErr[T any](_ T, err error) error { return err }

func expectViolations(t *testing.T, err error, fields ...string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("want INVALID_ARGUMENT, got %v", err)
	}
	got := map[string]bool{}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got[v.GetField()] = true
			}
		}
	}
	for _, f := range fields {
		if !got[f] {
			t.Errorf("want a violation of %s; got %v", f, got)
		}
	}
	if len(got) != len(fields) {
		t.Errorf("want exactly %v, got %v", fields, got)
	}
}

func resourceName(st *status.Status) string {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.ResourceInfo); ok {
			return ri.GetResourceName()
		}
	}
	return ""
}

// waitFor polls cond for up to 15 s: consumers run asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hoursPerWeek(n int32) *commonv1.Volume {
	return &commonv1.Volume{Amount: n, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}
}

// hasViolation reports whether err is INVALID_ARGUMENT naming field.
func hasViolation(err error, field string) bool {
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		return false
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}

// ListCases logs every resident shown: a listed case is in the access history of each of its
// household's current members (read with the page itself), and a case whose residents are not
// known is still logged, once. A later page logs only its own cases.
func TestListCasesLogsEveryResidentShown(t *testing.T) {
	h := start(t)
	ctx := svctest.Ctx(t)
	two := openRequest("list-two", uuid.NewString())
	two.Residents = []*commonv1.ResidentPseudonym{{ResidentId: uuid.NewString(), Pseudonym: "list-a"}, {ResidentId: uuid.NewString(), Pseudonym: "list-b"}}
	withTwo, err := h.as(t, intake).OpenCase(ctx, two)
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := h.as(t, intake).OpenCase(ctx, openRequest("list-none", uuid.NewString()))
	if err != nil {
		t.Fatal(err)
	}
	one := openRequest("list-one", uuid.NewString())
	one.Residents = []*commonv1.ResidentPseudonym{{ResidentId: uuid.NewString(), Pseudonym: "list-c"}}
	withOne, err := h.as(t, intake).OpenCase(ctx, one)
	if err != nil {
		t.Fatal(err)
	}
	noord := h.as(t, teamNoord)
	first, err := noord.ListCases(ctx, &casedirectionv1.ListCasesRequest{PageSize: 2})
	if err != nil || len(first.GetCases()) != 2 || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", first, err)
	}
	logged := func(id, pseudonym string) int {
		return h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.list' AND route = 'TEAM'
			AND org_oin = $1 AND object_id = $2 AND resident_pseudonym = $3`, teamNoord.OIN, id, pseudonym)
	}
	// Newest first: the case with one resident and the one without are on the first page.
	if n := logged(withOne.GetCase().GetId(), "list-c"); n != 1 {
		t.Fatalf("list-c: %d list entries, want 1", n)
	}
	if n := logged(unknown.GetCase().GetId(), ""); n != 1 {
		t.Fatalf("case without known residents: %d list entries, want 1", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.list' AND object_id = $1`, withTwo.GetCase().GetId()); n != 0 {
		t.Fatalf("a case not shown was logged %d times", n)
	}
	if _, err := noord.ListCases(ctx, &casedirectionv1.ListCasesRequest{PageSize: 2, PageToken: first.GetNextPageToken()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"list-a", "list-b"} {
		if n := logged(withTwo.GetCase().GetId(), p); n != 1 {
			t.Fatalf("%s: %d list entries, want 1", p, n)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'casedirection.case.list'`); n != 4 {
		t.Fatalf("%d list entries, want 4 (one per resident shown, one for the case without)", n)
	}
}
