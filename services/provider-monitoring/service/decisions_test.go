package service_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	pmv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/service"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The decision flow with intake and case-direction played by fakes (the all-in-one test in
// cmd/wijkbrug runs the real ones): what the fakes answer is what the real services answer a
// Wijkbrug service.

const (
	wmoCategory = "02"
	wmoProduct  = "02A01"
)

type fakeIntakeSvc struct {
	intakev1.UnimplementedIntakeServiceServer
	mu      sync.Mutex
	intakes map[string]*intakev1.Intake
	// residents are the residents' registered details, by id, and the team working with each;
	// onBehalfOf records the team each GetResident was forwarded for.
	residents  map[string]*intakev1.Resident
	teams      map[string]string
	onBehalfOf []string
}

// GetResident answers as intake answers a Wijkbrug service forwarding a team: only when the
// team named in x-wijkbrug-on-behalf-of works with the resident, else NOT_FOUND.
func (f *fakeIntakeSvc) GetResident(ctx context.Context, req *intakev1.GetResidentRequest) (*intakev1.GetResidentResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	team := ""
	if v := md.Get(identity.HeaderOnBehalfOf); len(v) == 1 {
		team = v[0]
	}
	if team == "" {
		return nil, status.Error(codes.PermissionDenied, "only a neighbourhood team may do this")
	}
	f.onBehalfOf = append(f.onBehalfOf, team)
	r, ok := f.residents[req.GetResidentId()]
	if !ok || f.teams[req.GetResidentId()] != team {
		return nil, status.Error(codes.NotFound, "resident not found")
	}
	return &intakev1.GetResidentResponse{Resident: r}, nil
}

func (f *fakeIntakeSvc) GetIntake(_ context.Context, req *intakev1.GetIntakeRequest) (*intakev1.GetIntakeResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.intakes[req.GetIntakeId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "intake not found")
	}
	return &intakev1.GetIntakeResponse{Intake: in}, nil
}

// GetHousehold answers like GetResident; the household (a one-person household made at
// registration) has no address of its own.
func (f *fakeIntakeSvc) GetHousehold(ctx context.Context, req *intakev1.GetHouseholdRequest) (*intakev1.GetHouseholdResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	for id, r := range f.residents {
		if r.GetHouseholdId() == req.GetHouseholdId() && len(md.Get(identity.HeaderOnBehalfOf)) == 1 && f.teams[id] == md.Get(identity.HeaderOnBehalfOf)[0] {
			return &intakev1.GetHouseholdResponse{Household: &intakev1.Household{Id: req.GetHouseholdId(), MunicipalityCode: municipality}}, nil
		}
	}
	return nil, status.Error(codes.NotFound, "household not found")
}

type fakeCaseSvc struct {
	casedirectionv1.UnimplementedCaseDirectionServiceServer
	mu    sync.Mutex
	cases map[string]*casedirectionv1.Case
	// gets are the case ids GetCase was asked for, in order.
	gets []string
	// attached are the allocation numbers AttachAllocation recorded, by case id.
	attached map[string][]string
}

// add gives the case one plan goal (a case it does not know yet is made).
func (f *fakeCaseSvc) add(caseID, goalID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cases[caseID]
	if c == nil {
		c = &casedirectionv1.Case{Id: caseID, Plan: &casedirectionv1.Plan{Version: 1}}
		f.cases[caseID] = c
	}
	c.Plan.Goals = append(c.Plan.Goals, &casedirectionv1.Goal{Id: goalID})
}

// open stores a case of the team in the municipality with a status (no plan).
func (f *fakeCaseSvc) open(caseID, municipality, teamOIN string, st casedirectionv1.CaseStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cases[caseID] = &casedirectionv1.Case{Id: caseID, MunicipalityCode: municipality, TeamOin: teamOIN, Status: st, Plan: &casedirectionv1.Plan{Version: 1}}
}

// setStatus moves a known case to another status.
func (f *fakeCaseSvc) setStatus(caseID string, st casedirectionv1.CaseStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cases[caseID].Status = st
}

func (f *fakeCaseSvc) GetCase(_ context.Context, req *casedirectionv1.GetCaseRequest) (*casedirectionv1.GetCaseResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets = append(f.gets, req.GetCaseId())
	c, ok := f.cases[req.GetCaseId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "case not found")
	}
	return &casedirectionv1.GetCaseResponse{Case: c}, nil
}

// AttachAllocation refuses, as case-direction does, an unknown case (NOT_FOUND) and one closed
// or handed over (FAILED_PRECONDITION), and records the allocation on any other.
func (f *fakeCaseSvc) AttachAllocation(_ context.Context, req *casedirectionv1.AttachAllocationRequest) (*casedirectionv1.AttachAllocationResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.cases[req.GetCaseId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "case not found")
	}
	if st := c.GetStatus(); st == casedirectionv1.CaseStatus_CASE_STATUS_CLOSED || st == casedirectionv1.CaseStatus_CASE_STATUS_HANDED_OVER {
		return nil, status.Errorf(codes.FailedPrecondition, "case %s is %s: it gets no new allocation", c.GetId(), st)
	}
	if f.attached == nil {
		f.attached = map[string][]string{}
	}
	f.attached[c.GetId()] = append(f.attached[c.GetId()], req.GetAllocationNumber())
	return &casedirectionv1.AttachAllocationResponse{Attached: true}, nil
}

type decisionWorld struct {
	env                 *svctest.Env
	svc                 *svctest.Service
	intake              *fakeIntakeSvc
	cases               *fakeCaseSvc
	team, otherTeam     devca.Org
	muni, otherMuni     devca.Org
	asTeam, asOtherTeam pmv1.DecisionServiceClient
	asMuni, asOtherMuni pmv1.DecisionServiceClient
	asProvider          pmv1.DecisionServiceClient
	allocations         pmv1.ProviderMonitoringServiceClient
	providerPM          pmv1.ProviderMonitoringServiceClient
	events              *svctest.Recorder
}

func startDecisions(t *testing.T) *decisionWorld {
	t.Helper()
	env := svctest.New(t)
	w := &decisionWorld{env: env, intake: &fakeIntakeSvc{intakes: map[string]*intakev1.Intake{}, residents: map[string]*intakev1.Resident{}, teams: map[string]string{}},
		cases: &fakeCaseSvc{cases: map[string]*casedirectionv1.Case{}},
		team:  svctest.Org(identity.OrgTeam, "Sociaal Wijkteam Centrum"), otherTeam: svctest.Org(identity.OrgTeam, "Sociaal Wijkteam Elders"),
		muni: svctest.Org(identity.OrgMunicipality, "Gemeente Amsterdam"), otherMuni: svctest.Org(identity.OrgMunicipality, "Gemeente Elders")}
	inAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) { intakev1.RegisterIntakeServiceServer(r, w.intake) })
	cdAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) { casedirectionv1.RegisterCaseDirectionServiceServer(r, w.cases) })
	w.svc = env.Start(t, service.Spec(), func(c *svc.Config) {
		c.IntakeAddr, c.CaseDirectionAddr = inAddr, cdAddr
		c.Settings["WIJKBRUG_PM_SCHEDULER_INTERVAL"] = "200ms"
	})
	ctx := svctest.Ctx(t)
	provider := svctest.Org(identity.OrgProvider, "Zorggroep De Brug")
	if err := service.SeedDemo(ctx, w.svc.DSN, service.DemoProvider{AGB: providerAGB, Name: provider.Name, OIN: provider.OIN,
		Municipality: municipality, ProductCategory: wmoCategory, ProductCode: wmoProduct}); err != nil {
		t.Fatal(err)
	}
	if err := service.SeedMunicipalOrganisations(ctx, w.svc.DSN, municipality, w.muni.OIN); err != nil {
		t.Fatal(err)
	}
	if err := service.SeedMunicipalOrganisations(ctx, w.svc.DSN, "GM0599", w.otherMuni.OIN); err != nil {
		t.Fatal(err)
	}
	client := func(org devca.Org) pmv1.DecisionServiceClient {
		return pmv1.NewDecisionServiceClient(env.Client(t, w.svc.Addr, org))
	}
	w.asTeam, w.asOtherTeam, w.asMuni, w.asOtherMuni, w.asProvider = client(w.team), client(w.otherTeam), client(w.muni), client(w.otherMuni), client(provider)
	w.allocations = pmv1.NewProviderMonitoringServiceClient(env.Client(t, w.svc.Addr, w.muni))
	w.providerPM = pmv1.NewProviderMonitoringServiceClient(env.Client(t, w.svc.Addr, provider))
	w.events = env.Events(t, "providermonitoring", "wijkbrug.providermonitoring.>")
	return w
}

// triaged adds an intake of the team, received receivedDaysAgo, triaged to case direction,
// with a case whose plan has two goals.
func (w *decisionWorld) triaged(receivedDaysAgo int) (intakeID, caseID string) {
	intakeID, caseID = uuid.NewString(), uuid.NewString()
	w.intake.mu.Lock()
	w.intake.intakes[intakeID] = &intakev1.Intake{Id: intakeID, ResidentId: uuid.NewString(), HouseholdId: uuid.NewString(),
		MunicipalityCode: municipality, DistrictCode: district, TeamOin: w.team.OIN, CaseId: caseID,
		ReceivedAt:    timestamppb.New(time.Now().AddDate(0, 0, -receivedDaysAgo)),
		LifeDomains:   []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_DAYTIME_ACTIVITIES, commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK},
		TriageOutcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION, TriageRule: "complex",
		Status:              intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED,
		Question:            "", // a service never gets the question
		Channel:             intakev1.Channel_CHANNEL_DESK,
		Urgency:             intakev1.Urgency_URGENCY_NORMAL,
		TriagePolicyVersion: 0,
	}
	// The resident is known to the team, without a registered name or address.
	resident := w.intake.intakes[intakeID].GetResidentId()
	w.intake.residents[resident] = &intakev1.Resident{Id: resident, MunicipalityCode: municipality, HouseholdId: w.intake.intakes[intakeID].GetHouseholdId()}
	w.intake.teams[resident] = w.team.OIN
	w.intake.mu.Unlock()
	w.cases.mu.Lock()
	w.cases.cases[caseID] = &casedirectionv1.Case{Id: caseID, IntakeId: intakeID, MunicipalityCode: municipality, DistrictCode: district,
		TeamOin: w.team.OIN, Plan: &casedirectionv1.Plan{Version: 1, Goals: []*casedirectionv1.Goal{
			{Id: uuid.NewString(), LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_DAYTIME_ACTIVITIES, BaselineScore: 2, TargetScore: 4, Status: casedirectionv1.GoalStatus_GOAL_STATUS_OPEN},
			{Id: uuid.NewString(), LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK, BaselineScore: 1, TargetScore: 3, Status: casedirectionv1.GoalStatus_GOAL_STATUS_IN_PROGRESS},
		}}}
	w.cases.mu.Unlock()
	return intakeID, caseID
}

func acting(t *testing.T, user, role string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return grpcx.ActingUser(ctx, user, role, "decisions")
}

func draftRequest(caseID string, hoursPerWeek int32) *pmv1.DraftDecisionRequest {
	return &pmv1.DraftDecisionRequest{IdempotencyKey: uuid.NewString(), CaseId: caseID,
		LegalBasis: pmv1.LegalBasis_LEGAL_BASIS_WMO_2_3_5, Outcome: pmv1.DecisionOutcome_DECISION_OUTCOME_GRANTED,
		ApplicationDate: date(today()), // the Wmo term runs from the application (aanvraag)
		Product:         &pmv1.Product{Category: wmoCategory, Code: wmoProduct}, ProviderAgb: providerAGB,
		StartDate: date(today()), EndDate: date(today().AddDate(0, 6, 0)),
		Volume:         &commonv1.Volume{Amount: hoursPerWeek, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK},
		MotivationText: "Begeleiding om weer mee te doen in de buurt.",
	}
}

// draftAndPropose drafts a decision on caseID and proposes it, as the team.
func (w *decisionWorld) draftAndPropose(t *testing.T, req *pmv1.DraftDecisionRequest) *pmv1.Decision {
	t.Helper()
	ctx := acting(t, "regisseur-anna", "case_director")
	d, err := w.asTeam.DraftDecision(ctx, req)
	if err != nil {
		t.Fatalf("draft: %v", err)
	}
	p, err := w.asTeam.ProposeDecision(ctx, &pmv1.ProposeDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetDecision().GetId()})
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	return p.GetDecision()
}

func decide(c pmv1.DecisionServiceClient, ctx context.Context, id string) (*pmv1.DecideDecisionResponse, error) {
	return c.DecideDecision(ctx, &pmv1.DecideDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id})
}

// One drafting call fills everything Wijkbrug knows; decided under mandate the decision is
// numbered and issues its allocation, which carries the number.
func TestDecisionDraftedFromWhatIsKnownIssuesItsAllocation(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	intakeID, caseID := w.triaged(3)
	// The team registered the resident's name and address in intake once.
	w.intake.mu.Lock()
	r := w.intake.residents[w.intake.intakes[intakeID].GetResidentId()]
	r.Name = &intakev1.PersonName{GivenNames: "Aaltje Geertruida", FamilyNamePrefix: "van der", FamilyName: "Jansen"}
	r.Address = &intakev1.Address{Street: "Kerkstraat", HouseNumber: 12, HouseNumberAddition: "b", Postcode: "1011ab", City: "Amsterdam"}
	w.intake.mu.Unlock()
	d := w.draftAndPropose(t, draftRequest(caseID, 4))
	w.intake.mu.Lock()
	forwarded := slices.Clone(w.intake.onBehalfOf)
	w.intake.mu.Unlock()
	if !d.GetAddresseeKnown() || len(forwarded) != 1 || forwarded[0] != w.team.OIN {
		t.Fatalf("the addressee is read from intake forwarding the drafting team: known %v, forwarded for %v", d.GetAddresseeKnown(), forwarded)
	}
	var addressee []byte
	if err := w.svc.Pool.QueryRow(context.Background(), `SELECT addressee FROM decisions WHERE id = $1`, d.GetId()).Scan(&addressee); err != nil ||
		len(addressee) == 0 || strings.Contains(string(addressee), "Kerkstraat") || strings.Contains(string(addressee), "Jansen") {
		t.Fatalf("the addressee is stored sealed: %v", err)
	}

	in := w.intake.intakes[intakeID]
	if d.GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_PROPOSED || d.GetIntakeId() != intakeID || d.GetCaseId() != caseID ||
		d.GetResidentId() != in.GetResidentId() || d.GetHouseholdId() != in.GetHouseholdId() || d.GetTeamOin() != w.team.OIN ||
		d.GetMunicipalityCode() != municipality || d.GetDistrictCode() != district || !d.GetGranted() ||
		d.GetLegalBasis() != pmv1.LegalBasis_LEGAL_BASIS_WMO_2_3_5 || d.GetProduct().GetCategory() != wmoCategory ||
		d.GetProviderAgb() != providerAGB || d.GetForm() != pmv1.AllocationForm_ALLOCATION_FORM_IN_KIND ||
		d.GetVolume().GetAmount() != 4 || d.GetStartDate() == "" || d.GetEndDate() == "" || d.GetDraftedBy() != "regisseur-anna" {
		t.Fatalf("draft: %v", d)
	}
	m := d.GetMotivation()
	if len(m.GetGoals()) != 2 || m.GetGoals()[0].GetBaselineScore() != 2 || m.GetGoals()[0].GetTargetScore() != 4 ||
		m.GetGoals()[1].GetLifeDomain() != commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK || len(m.GetLifeDomains()) != 2 ||
		m.GetTriageOutcome() != "CASE_DIRECTION" || m.GetTriageRule() != "complex" || !strings.Contains(m.GetText(), "Begeleiding") {
		t.Fatalf("motivation: %v", m)
	}
	if !strings.Contains(d.GetObjectionClause(), "zes weken") || !strings.Contains(d.GetOwnContributionNotice(), "CAK") {
		t.Fatalf("paragraphs: %q %q", d.GetObjectionClause(), d.GetOwnContributionNotice())
	}
	received := time.Now().AddDate(0, 0, -3).In(amsterdam)
	if want := time.Date(received.Year(), received.Month(), received.Day(), 0, 0, 0, 0, time.UTC); d.GetReportDate() != date(want) ||
		d.GetApplicationDate() != date(today()) {
		t.Fatalf("report date %s, application date %s: want the intake's receipt %s and the application given", d.GetReportDate(),
			d.GetApplicationDate(), date(want))
	}
	// Free text is sealed at rest.
	var sealed []byte
	if err := w.svc.Pool.QueryRow(context.Background(), `SELECT motivation_text FROM decisions WHERE id = $1`, d.GetId()).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "Begeleiding") {
		t.Fatal("motivation text stored in the clear")
	}

	out, err := decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), d.GetId())
	if err != nil {
		t.Fatalf("decide: %v", err)
	}
	dec := out.GetDecision()
	year := time.Now().In(amsterdam).Year()
	if dec.GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_DECIDED || !strings.HasPrefix(dec.GetNumber(), municipality+"-"+strconv.Itoa(year)+"-") ||
		dec.GetMandate() != "wmo-consulent" || dec.GetDecidedBy() != "consulent-bert" || !dec.GetWithinStatutoryTerm() ||
		len(out.GetAllocations()) != 1 || len(dec.GetAllocationNumbers()) != 1 {
		t.Fatalf("decided: %v", out)
	}
	al := out.GetAllocations()[0]
	if al.GetDecisionNumber() != dec.GetNumber() || al.GetCaseId() != caseID || al.GetProductCode() != wmoProduct || al.GetProviderAgb() != providerAGB {
		t.Fatalf("allocation: %v", al)
	}
	got, err := w.allocations.GetAllocation(svctest.Ctx(t), &pmv1.GetAllocationRequest{AllocationNumber: al.GetNumber()})
	if err != nil || got.GetAllocation().GetDecisionNumber() != dec.GetNumber() {
		t.Fatalf("GetAllocation: %v %v", got, err)
	}
	list, err := w.allocations.ListCaseAllocations(svctest.Ctx(t), &pmv1.ListCaseAllocationsRequest{CaseId: caseID})
	if err != nil || len(list.GetAllocations()) != 1 || list.GetAllocations()[0].GetDecisionNumber() != dec.GetNumber() {
		t.Fatalf("ListCaseAllocations: %v %v", list, err)
	}
	// Events: information-poor, the decided one with the term.
	w.events.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*pmv1.AllocationIssued)
		return ok && e.GetDecisionNumber() == dec.GetNumber()
	})
	_, ev := w.events.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*pmv1.DecisionDecided)
		return ok && e.GetDecisionId() == d.GetId()
	})
	de := ev.(*pmv1.DecisionDecided)
	if !de.GetWithinStatutoryTerm() || de.GetDecisionNumber() != dec.GetNumber() || de.GetApplicationDate() != d.GetApplicationDate() ||
		de.GetDecidedDate() == "" || de.GetLegalBasis() != pmv1.LegalBasis_LEGAL_BASIS_WMO_2_3_5 || !de.GetGranted() ||
		de.GetIntakeId() != intakeID || de.GetCaseId() != caseID || de.GetDistrictCode() != district {
		t.Fatalf("decision.decided: %v", de)
	}
	for _, r := range w.events.All() {
		if b, err := proto.Marshal(r.Message); err == nil && strings.Contains(string(b), "Begeleiding") {
			t.Fatalf("free text in event %T", r.Message)
		}
	}

	// The letter: nobody types the name or address, it is addressed as intake registered the
	// resident; a recipient in the request overrides that.
	letter, err := w.asTeam.RenderDecisionLetter(svctest.Ctx(t), &pmv1.RenderDecisionLetterRequest{DecisionId: d.GetId(), Format: pmv1.LetterFormat_LETTER_FORMAT_HTML})
	if err != nil || !strings.Contains(string(letter.GetContent()), dec.GetNumber()) || !strings.Contains(string(letter.GetContent()), "eigen bijdrage") {
		t.Fatalf("letter: %v", err)
	}
	for _, want := range []string{"A.G. van der Jansen", "Kerkstraat 12b", "1011 AB", "Amsterdam"} {
		if !strings.Contains(string(letter.GetContent()), want) {
			t.Errorf("the letter lacks the registered addressee %q", want)
		}
	}
	typed, err := w.asTeam.RenderDecisionLetter(svctest.Ctx(t), &pmv1.RenderDecisionLetterRequest{DecisionId: d.GetId(), Format: pmv1.LetterFormat_LETTER_FORMAT_HTML,
		Recipient: &pmv1.LetterRecipient{Name: "mr. B. Bakker", Street: "Dorpsstraat 2", PostalCode: "1012 CD", City: "Amsterdam"}})
	if err != nil || !strings.Contains(string(typed.GetContent()), "Dorpsstraat 2") || strings.Contains(string(typed.GetContent()), "Kerkstraat") {
		t.Fatalf("letter for a typed recipient: %v", err)
	}

	// Sent, objected to (on time), amended, and the amendment replaces it.
	sent, err := w.asMuni.SendDecision(svctest.Ctx(t), &pmv1.SendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId()})
	if err != nil || sent.GetDecision().GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_SENT || sent.GetDecision().GetObjectionDeadline() == "" ||
		!sent.GetDecision().GetLetterStored() {
		t.Fatalf("send: %v %v", sent, err)
	}
	obj, err := w.asMuni.RegisterObjection(svctest.Ctx(t), &pmv1.RegisterObjectionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId(), ReceivedOn: date(today())})
	if err != nil || !obj.GetDecision().GetObjection().GetOnTime() {
		t.Fatalf("objection: %v %v", obj, err)
	}
	_, err = w.asMuni.RegisterObjection(svctest.Ctx(t), &pmv1.RegisterObjectionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId(), ReceivedOn: date(today())})
	wantCode(t, err, codes.FailedPrecondition)
	teamCtx := acting(t, "regisseur-anna", "case_director")
	am, err := w.asTeam.AmendDecision(teamCtx, &pmv1.AmendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId(),
		Volume: &commonv1.Volume{Amount: 6, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}})
	if err != nil || am.GetDecision().GetReplacesDecisionId() != d.GetId() || am.GetDecision().GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_DRAFT {
		t.Fatalf("amend: %v %v", am, err)
	}
	// A second amendment of the same decision, drafted and proposed alongside the first.
	am2, err := w.asTeam.AmendDecision(teamCtx, &pmv1.AmendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId(),
		Volume: &commonv1.Volume{Amount: 7, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}})
	if err != nil {
		t.Fatalf("second amendment: %v", err)
	}
	for _, id := range []string{am.GetDecision().GetId(), am2.GetDecision().GetId()} {
		if _, err := w.asTeam.ProposeDecision(teamCtx, &pmv1.ProposeDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), am.GetDecision().GetId()); err != nil {
		t.Fatalf("decide amendment: %v", err)
	}
	attached := func() int {
		w.cases.mu.Lock()
		defer w.cases.mu.Unlock()
		return len(w.cases.attached[caseID])
	}
	before := attached()
	// The first amendment replaced the decision: the second can no longer, and is refused
	// before it records an allocation on the case or takes a decision number.
	_, err = decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), am2.GetDecision().GetId())
	wantCode(t, err, codes.FailedPrecondition)
	if after := attached(); after != before {
		t.Fatalf("a refused amendment recorded %d allocations on the case", after-before)
	}
	if got, err := w.asMuni.GetDecision(svctest.Ctx(t), &pmv1.GetDecisionRequest{DecisionId: am2.GetDecision().GetId()}); err != nil ||
		got.GetDecision().GetNumber() != "" || got.GetDecision().GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_PROPOSED {
		t.Fatalf("the refused amendment: %v %v", got.GetDecision(), err)
	}
	old, err := w.asMuni.GetDecision(svctest.Ctx(t), &pmv1.GetDecisionRequest{DecisionId: d.GetId()})
	if err != nil || old.GetDecision().GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_AMENDED || old.GetDecision().GetReplacedByDecisionId() != am.GetDecision().GetId() {
		t.Fatalf("amended: %v %v", old, err)
	}
	first, _ := w.allocations.GetAllocation(svctest.Ctx(t), &pmv1.GetAllocationRequest{AllocationNumber: al.GetNumber()})
	if first.GetAllocation().GetStatus() != commonv1.AllocationStatus_ALLOCATION_STATUS_WITHDRAWN {
		t.Fatalf("the amended decision's allocation: %v", first.GetAllocation())
	}
	wd, err := w.asMuni.WithdrawDecision(acting(t, "hoofd-carla", "department_head"), &pmv1.WithdrawDecisionRequest{IdempotencyKey: uuid.NewString(),
		DecisionId: am.GetDecision().GetId(), Reason: pmv1.DecisionWithdrawalReason_DECISION_WITHDRAWAL_REASON_CHANGED_CIRCUMSTANCES})
	if err != nil || wd.GetDecision().GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_WITHDRAWN {
		t.Fatalf("withdraw: %v %v", wd, err)
	}
	// The list shows both, to the municipality and to the owning team.
	for _, c := range []pmv1.DecisionServiceClient{w.asMuni, w.asTeam} {
		l, err := c.ListDecisions(svctest.Ctx(t), &pmv1.ListDecisionsRequest{MunicipalityCode: municipality, PageSize: 1})
		if err != nil || len(l.GetDecisions()) != 1 || l.GetNextPageToken() == "" {
			t.Fatalf("list page 1: %v %v", l, err)
		}
		l2, err := c.ListDecisions(svctest.Ctx(t), &pmv1.ListDecisionsRequest{MunicipalityCode: municipality, PageSize: 1, PageToken: l.GetNextPageToken()})
		if err != nil || len(l2.GetDecisions()) != 1 || l2.GetDecisions()[0].GetId() == l.GetDecisions()[0].GetId() {
			t.Fatalf("list page 2: %v %v", l2, err)
		}
	}
	other, err := w.asOtherTeam.ListDecisions(svctest.Ctx(t), &pmv1.ListDecisionsRequest{MunicipalityCode: municipality})
	if err != nil || len(other.GetDecisions()) != 0 {
		t.Fatalf("another team's list: %v %v", other, err)
	}
}

// Above the mandate's threshold a second official co-signs; outside every mandate the answer
// is PERMISSION_DENIED naming the mandate.
func TestDecisionMandateAndFourEyes(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	_, caseID := w.triaged(1)
	d := w.draftAndPropose(t, draftRequest(caseID, 30))

	bert := acting(t, "consulent-bert", "wmo_consultant")
	first, err := decide(w.asMuni, bert, d.GetId())
	if err != nil || first.GetDecision().GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_PROPOSED || !first.GetDecision().GetAwaitingSecondOfficial() || len(first.GetAllocations()) != 0 {
		t.Fatalf("first signature: %v %v", first, err)
	}
	_, err = decide(w.asMuni, bert, d.GetId())
	if st := wantCode(t, err, codes.PermissionDenied); !strings.Contains(st.Message(), "wmo-consulent") || !strings.Contains(st.Message(), "second official") {
		t.Fatalf("same official twice: %v", st.Message())
	}
	// A youth consultant has no mandate for Wmo category 02.
	_, err = decide(w.asMuni, acting(t, "consulent-dirk", "youth_consultant"), d.GetId())
	if st := wantCode(t, err, codes.PermissionDenied); !strings.Contains(st.Message(), "product category 02") {
		t.Fatalf("outside mandate: %v", st.Message())
	}
	second, err := decide(w.asMuni, acting(t, "hoofd-carla", "department_head"), d.GetId())
	if err != nil || second.GetDecision().GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_DECIDED || second.GetDecision().GetSecondOfficial() != "hoofd-carla" ||
		second.GetDecision().GetDecidedBy() != "consulent-bert" || len(second.GetAllocations()) != 1 || second.GetAllocations()[0].GetDecisionNumber() != second.GetDecision().GetNumber() {
		t.Fatalf("second signature: %v %v", second, err)
	}

	// Beyond the consultant's maximum (40): refused, naming the mandate; nothing is signed.
	big := w.draftAndPropose(t, draftRequest(caseID, 50))
	_, err = decide(w.asMuni, bert, big.GetId())
	if st := wantCode(t, err, codes.PermissionDenied); !strings.Contains(st.Message(), `mandate "wmo-consulent"`) {
		t.Fatalf("beyond mandate: %v", st.Message())
	}
	got, err := w.asMuni.GetDecision(svctest.Ctx(t), &pmv1.GetDecisionRequest{DecisionId: big.GetId()})
	if err != nil || got.GetDecision().GetAwaitingSecondOfficial() || got.GetDecision().GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_PROPOSED {
		t.Fatalf("refused decision changed: %v %v", got, err)
	}
	// Only municipal officials with a decision role decide at all.
	_, err = decide(w.asMuni, svctest.Ctx(t), big.GetId())
	wantCode(t, err, codes.PermissionDenied)
	_, err = decide(w.asTeam, acting(t, "x", "team_lead"), big.GetId())
	wantCode(t, err, codes.PermissionDenied)

	reg, err := w.asTeam.ListMandates(svctest.Ctx(t), &pmv1.ListMandatesRequest{MunicipalityCode: municipality})
	if err != nil || reg.GetVersion() != 0 || len(reg.GetMandates()) != 3 || reg.GetParagraphs().GetObjectionClause() == "" {
		t.Fatalf("mandates: %v %v", reg, err)
	}

	// The municipality adopts version 1 with a smaller Wmo mandate; decisions decided from
	// then on are judged by it.
	admin := acting(t, "beheer-eva", "municipal_administrator")
	smaller := proto.Clone(reg).(*pmv1.ListMandatesResponse)
	smaller.GetMandates()[0].MaxVolume, smaller.GetMandates()[0].FourEyesAboveVolume = 8, 0
	adopt := &pmv1.AdoptMandateRegisterRequest{IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality, ExpectedVersion: 0,
		Mandates: smaller.GetMandates(), Paragraphs: smaller.GetParagraphs()}
	_, err = w.asOtherMuni.AdoptMandateRegister(admin, adopt)
	wantCode(t, err, codes.PermissionDenied)
	_, err = w.asMuni.AdoptMandateRegister(svctest.Ctx(t), adopt)
	wantCode(t, err, codes.PermissionDenied) // not an administrator
	bad := proto.Clone(adopt).(*pmv1.AdoptMandateRegisterRequest)
	bad.IdempotencyKey, bad.Mandates[0].ProductCategories = uuid.NewString(), []string{"99"}
	_, err = w.asMuni.AdoptMandateRegister(admin, bad)
	if f := violatedFields(t, err); !slices.Contains(f, "mandates[0].product_categories") {
		t.Fatalf("invalid register: %v", f)
	}
	v1, err := w.asMuni.AdoptMandateRegister(admin, adopt)
	if err != nil || v1.GetVersion() != 1 || v1.GetMandates()[0].GetMaxVolume() != 8 {
		t.Fatalf("adopt: %v %v", v1, err)
	}
	adopt.IdempotencyKey = uuid.NewString()
	_, err = w.asMuni.AdoptMandateRegister(admin, adopt)
	wantCode(t, err, codes.FailedPrecondition) // version 1 is in force now
	ten := w.draftAndPropose(t, draftRequest(caseID, 10))
	_, err = decide(w.asMuni, bert, ten.GetId())
	if st := wantCode(t, err, codes.PermissionDenied); !strings.Contains(st.Message(), "version 1 of "+municipality) {
		t.Fatalf("judged by version 1: %v", st.Message())
	}
	old, err := w.asTeam.ListMandates(svctest.Ctx(t), &pmv1.ListMandatesRequest{MunicipalityCode: municipality, Version: 1})
	if err != nil || old.GetVersion() != 1 {
		t.Fatalf("version 1: %v %v", old, err)
	}
	_, err = w.asTeam.ListMandates(svctest.Ctx(t), &pmv1.ListMandatesRequest{MunicipalityCode: municipality, Version: 7})
	wantCode(t, err, codes.NotFound)
}

// Another organisation's ids: NOT_FOUND (its existence is not disclosed), the refusal logged.
func TestDecisionOtherOrganisationsIDs(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	intakeID, caseID := w.triaged(1)
	teamCtx := acting(t, "regisseur-anna", "case_director")

	// Drafting on another team's intake or case.
	req := draftRequest(caseID, 4)
	_, err := w.asOtherTeam.DraftDecision(teamCtx, req)
	wantCode(t, err, codes.NotFound)
	byIntake := draftRequest("", 4)
	byIntake.IntakeId = intakeID
	// The refusal names the intake that was sent, not the case it leads to (whose id the
	// other team must not learn), exactly as for an intake nobody knows.
	_, err = w.asOtherTeam.DraftDecision(teamCtx, byIntake)
	wantResource(t, err, "intake", intakeID)
	_, err = w.asOtherMuni.DraftDecision(svctest.Ctx(t), byIntake)
	wantResource(t, err, "intake", intakeID)
	_, err = w.asProvider.DraftDecision(teamCtx, byIntake)
	wantCode(t, err, codes.PermissionDenied)

	d := w.draftAndPropose(t, draftRequest(caseID, 4))
	id := d.GetId()
	officer := acting(t, "consulent-x", "wmo_consultant")
	calls := map[string]func(context.Context) error{
		"GetDecision": func(ctx context.Context) error {
			_, err := w.asOtherTeam.GetDecision(ctx, &pmv1.GetDecisionRequest{DecisionId: id})
			return err
		},
		"ProposeDecision": func(ctx context.Context) error {
			_, err := w.asOtherTeam.ProposeDecision(ctx, &pmv1.ProposeDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id})
			return err
		},
		"AmendDecision": func(ctx context.Context) error {
			_, err := w.asOtherTeam.AmendDecision(ctx, &pmv1.AmendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id})
			return err
		},
		"DecideDecision": func(context.Context) error {
			_, err := decide(w.asOtherMuni, officer, id)
			return err
		},
		"SendDecision": func(ctx context.Context) error {
			_, err := w.asOtherMuni.SendDecision(svctest.Ctx(t), &pmv1.SendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id})
			return err
		},
		"WithdrawDecision": func(context.Context) error {
			_, err := w.asOtherMuni.WithdrawDecision(officer, &pmv1.WithdrawDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id,
				Reason: pmv1.DecisionWithdrawalReason_DECISION_WITHDRAWAL_REASON_OTHER})
			return err
		},
		"RegisterObjection": func(ctx context.Context) error {
			_, err := w.asOtherMuni.RegisterObjection(svctest.Ctx(t), &pmv1.RegisterObjectionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id, ReceivedOn: date(today())})
			return err
		},
		"RenderDecisionLetter": func(ctx context.Context) error {
			_, err := w.asOtherTeam.RenderDecisionLetter(ctx, &pmv1.RenderDecisionLetterRequest{DecisionId: id, Format: pmv1.LetterFormat_LETTER_FORMAT_HTML,
				Recipient: &pmv1.LetterRecipient{Name: "X", Street: "Y 1", PostalCode: "1000 AA", City: "Z"}})
			return err
		},
		"GetDecision (other municipality)": func(ctx context.Context) error {
			_, err := w.asOtherMuni.GetDecision(svctest.Ctx(t), &pmv1.GetDecisionRequest{DecisionId: id})
			return err
		},
	}
	for name, call := range calls {
		if err := call(teamCtx); status.Code(err) != codes.NotFound {
			t.Errorf("%s by another organisation: %v, want NOT_FOUND", name, err)
		}
	}
	var denied int
	if err := w.svc.Pool.QueryRow(context.Background(), `SELECT count(*) FROM access_log_entries WHERE object_type = 'decision' AND object_id = $1 AND outcome = 'DENIED'`, id).Scan(&denied); err != nil {
		t.Fatal(err)
	}
	if denied < len(calls) {
		t.Fatalf("denied entries %d, want at least %d", denied, len(calls))
	}
	_, err = w.asOtherMuni.ListDecisions(svctest.Ctx(t), &pmv1.ListDecisionsRequest{MunicipalityCode: municipality})
	wantCode(t, err, codes.PermissionDenied)
	// A Wijkbrug service reads it without its free text.
	svcClient := pmv1.NewDecisionServiceClient(w.env.Client(t, w.svc.Addr, svctest.ServiceOrg("casedirection")))
	bySvc, err := svcClient.GetDecision(svctest.Ctx(t), &pmv1.GetDecisionRequest{DecisionId: id})
	if err != nil || bySvc.GetDecision().GetMotivation().GetText() != "" || len(bySvc.GetDecision().GetMotivation().GetGoals()) != 2 {
		t.Fatalf("service read: %v %v", bySvc, err)
	}
	// The owner still sees it unchanged.
	got, err := w.asTeam.GetDecision(teamCtx, &pmv1.GetDecisionRequest{DecisionId: id})
	if err != nil || got.GetDecision().GetStatus() != pmv1.DecisionStatus_DECISION_STATUS_PROPOSED {
		t.Fatalf("owner: %v %v", got, err)
	}
}

// Bad input names the field; an unknown id is NOT_FOUND; a wrong state FAILED_PRECONDITION.
func TestDecisionBadInput(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	_, caseID := w.triaged(1)
	ctx := acting(t, "regisseur-anna", "case_director")
	field := func(err error, want string) {
		t.Helper()
		for _, f := range violatedFields(t, err) {
			if f == want {
				return
			}
		}
		t.Fatalf("want a violation of %s, got %v", want, err)
	}
	_, err := w.asTeam.DraftDecision(ctx, &pmv1.DraftDecisionRequest{IdempotencyKey: uuid.NewString(), LegalBasis: pmv1.LegalBasis_LEGAL_BASIS_WMO_2_3_5, Outcome: pmv1.DecisionOutcome_DECISION_OUTCOME_GRANTED})
	field(err, "intake_id")
	r := draftRequest(caseID, 4)
	r.LegalBasis = pmv1.LegalBasis_LEGAL_BASIS_UNSPECIFIED
	_, err = w.asTeam.DraftDecision(ctx, r)
	field(err, "legal_basis")
	r = draftRequest(caseID, 4)
	r.Outcome = pmv1.DecisionOutcome_DECISION_OUTCOME_REJECTED
	_, err = w.asTeam.DraftDecision(ctx, r)
	field(err, "rejection_grounds")
	r = draftRequest(caseID, 4)
	r.CaseId = "not-a-uuid"
	_, err = w.asTeam.DraftDecision(ctx, r)
	field(err, "case_id")
	r = draftRequest(caseID, 4)
	r.Product.Category = "99"
	_, err = w.asTeam.DraftDecision(ctx, r)
	field(err, "product.category")
	r = draftRequest(caseID, 4)
	r.LegalBasis = pmv1.LegalBasis_LEGAL_BASIS_JEUGDWET_2_3 // with Wmo category 02
	_, err = w.asTeam.DraftDecision(ctx, r)
	field(err, "product.category")
	r = draftRequest(caseID, 4)
	r.Volume = nil
	_, err = w.asTeam.DraftDecision(ctx, r)
	field(err, "volume")
	r = draftRequest(uuid.NewString(), 4)
	_, err = w.asTeam.DraftDecision(ctx, r)
	wantCode(t, err, codes.NotFound)

	for name, call := range map[string]func(string) error{
		"GetDecision": func(id string) error {
			_, err := w.asTeam.GetDecision(ctx, &pmv1.GetDecisionRequest{DecisionId: id})
			return err
		},
		"ProposeDecision": func(id string) error {
			_, err := w.asTeam.ProposeDecision(ctx, &pmv1.ProposeDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id})
			return err
		},
		"DecideDecision": func(id string) error {
			_, err := decide(w.asMuni, acting(t, "b", "wmo_consultant"), id)
			return err
		},
		"SendDecision": func(id string) error {
			_, err := w.asMuni.SendDecision(svctest.Ctx(t), &pmv1.SendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id})
			return err
		},
		"AmendDecision": func(id string) error {
			_, err := w.asTeam.AmendDecision(ctx, &pmv1.AmendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id})
			return err
		},
		"WithdrawDecision": func(id string) error {
			_, err := w.asMuni.WithdrawDecision(acting(t, "b", "wmo_consultant"), &pmv1.WithdrawDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id,
				Reason: pmv1.DecisionWithdrawalReason_DECISION_WITHDRAWAL_REASON_OTHER})
			return err
		},
		"RegisterObjection": func(id string) error {
			_, err := w.asMuni.RegisterObjection(svctest.Ctx(t), &pmv1.RegisterObjectionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id, ReceivedOn: date(today())})
			return err
		},
		"RenderDecisionLetter": func(id string) error {
			_, err := w.asTeam.RenderDecisionLetter(ctx, &pmv1.RenderDecisionLetterRequest{DecisionId: id, Format: pmv1.LetterFormat_LETTER_FORMAT_PDF})
			return err
		},
	} {
		if err := call(""); status.Code(err) != codes.InvalidArgument || !slices.Contains(violatedFields(t, err), "decision_id") {
			t.Errorf("%s without an id: %v", name, err)
		}
		if err := call("x"); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s with a malformed id: %v", name, err)
		}
		if err := call(uuid.NewString()); status.Code(err) != codes.NotFound {
			t.Errorf("%s with an unknown id: %v", name, err)
		}
	}
	muniCtx := svctest.Ctx(t)
	_, err = w.asMuni.ListDecisions(muniCtx, &pmv1.ListDecisionsRequest{MunicipalityCode: "0363"})
	field(err, "municipality_code")
	_, err = w.asMuni.ListDecisions(muniCtx, &pmv1.ListDecisionsRequest{MunicipalityCode: municipality, PageToken: "garbage"})
	field(err, "page_token")

	// Wrong states.
	d, err := w.asTeam.DraftDecision(ctx, draftRequest(caseID, 4))
	if err != nil {
		t.Fatal(err)
	}
	id := d.GetDecision().GetId()
	_, err = decide(w.asMuni, acting(t, "b", "wmo_consultant"), id)
	wantCode(t, err, codes.FailedPrecondition)
	_, err = w.asMuni.SendDecision(muniCtx, &pmv1.SendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = w.asTeam.AmendDecision(ctx, &pmv1.AmendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = w.asMuni.RegisterObjection(muniCtx, &pmv1.RegisterObjectionRequest{IdempotencyKey: uuid.NewString(), DecisionId: id, ReceivedOn: date(today())})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = w.asTeam.ProposeDecision(ctx, &pmv1.ProposeDecisionRequest{DecisionId: id})
	field(err, "idempotency_key")
	_, err = w.asTeam.RenderDecisionLetter(ctx, &pmv1.RenderDecisionLetterRequest{DecisionId: id})
	field(err, "format")
	_, err = w.asTeam.RenderDecisionLetter(ctx, &pmv1.RenderDecisionLetterRequest{DecisionId: id, Format: pmv1.LetterFormat_LETTER_FORMAT_HTML,
		Recipient: &pmv1.LetterRecipient{Name: "X", Street: "Y 1", PostalCode: "1000 AA", City: "Z"}})
	wantCode(t, err, codes.FailedPrecondition) // not decided yet
	_, err = w.asTeam.RenderDecisionLetter(ctx, &pmv1.RenderDecisionLetterRequest{DecisionId: id, Format: pmv1.LetterFormat_LETTER_FORMAT_HTML,
		Recipient: &pmv1.LetterRecipient{Street: "Y 1", PostalCode: "1000 AA", City: "Z"}})
	field(err, "recipient.name")
}

// A provider's request for allocation (315) is the source of product, provider, period and
// volume; deciding the decision grants the request with the allocation it issues.
func TestDecisionOnAProvidersRequest(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	_, caseID := w.triaged(1)
	sub, err := w.providerPM.SubmitAllocationRequest(acting(t, "zorg-piet", "care_coordinator"), &pmv1.SubmitAllocationRequestRequest{
		IdempotencyKey: uuid.NewString(), Kind: pmv1.AllocationRequestKind_ALLOCATION_REQUEST_KIND_ALLOCATION,
		ProviderAgb: providerAGB, MunicipalityCode: municipality, DistrictCode: district, ProductCategory: wmoCategory, ProductCode: wmoProduct,
		StartDate: date(today()), EndDate: date(today().AddDate(0, 3, 0)),
		Volume:       &commonv1.Volume{Amount: 3, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK},
		ReferrerType: "02", ReferrerCode: "01234567"})
	if err != nil {
		t.Fatal(err)
	}
	requestID := sub.GetRequest().GetId()
	req := &pmv1.DraftDecisionRequest{IdempotencyKey: uuid.NewString(), CaseId: caseID, AllocationRequestId: requestID,
		LegalBasis: pmv1.LegalBasis_LEGAL_BASIS_WMO_2_3_5, Outcome: pmv1.DecisionOutcome_DECISION_OUTCOME_GRANTED, ApplicationDate: date(today())}
	d := w.draftAndPropose(t, req)
	if d.GetAllocationRequestId() != requestID || d.GetProduct().GetCode() != wmoProduct || d.GetProviderAgb() != providerAGB ||
		d.GetVolume().GetAmount() != 3 || d.GetStartDate() != date(today()) {
		t.Fatalf("drafted from the request: %v", d)
	}
	// A personal budget is not allocated to a provider: it cannot answer the provider's 315.
	pgb := &pmv1.DraftDecisionRequest{IdempotencyKey: uuid.NewString(), CaseId: caseID, AllocationRequestId: requestID,
		LegalBasis: pmv1.LegalBasis_LEGAL_BASIS_WMO_2_3_5, Outcome: pmv1.DecisionOutcome_DECISION_OUTCOME_GRANTED,
		Form: pmv1.AllocationForm_ALLOCATION_FORM_PGB, BudgetCents: 250000, ApplicationDate: date(today())}
	_, err = w.asTeam.DraftDecision(acting(t, "regisseur-anna", "case_director"), pgb)
	if f := violatedFields(t, err); !slices.Contains(f, "form") {
		t.Fatalf("a PGB on a provider's request: %v", f)
	}
	// Both a request and a product choice: which one is meant?
	both := draftRequest(caseID, 3)
	both.AllocationRequestId = requestID
	_, err = w.asTeam.DraftDecision(acting(t, "regisseur-anna", "case_director"), both)
	if f := violatedFields(t, err); !slices.Contains(f, "allocation_request_id") {
		t.Fatalf("request and product choice: %v", f)
	}
	out, err := decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), d.GetId())
	if err != nil || len(out.GetAllocations()) != 1 || out.GetAllocations()[0].GetRequestId() != requestID {
		t.Fatalf("decide: %v %v", out, err)
	}
	// Intake knows no name or address of this resident: the letter needs a recipient typed.
	if d.GetAddresseeKnown() {
		t.Fatal("addressee known without registered details")
	}
	_, err = w.asTeam.RenderDecisionLetter(acting(t, "regisseur-anna", "case_director"), &pmv1.RenderDecisionLetterRequest{DecisionId: d.GetId(),
		Format: pmv1.LetterFormat_LETTER_FORMAT_HTML})
	if f := violatedFields(t, err); !slices.Contains(f, "recipient") {
		t.Fatalf("letter without a known addressee or a recipient: %v", err)
	}
	q, err := w.providerPM.DescribeAllocationRequest(acting(t, "zorg-piet", "care_coordinator"), &pmv1.DescribeAllocationRequestRequest{RequestId: requestID})
	if err != nil || q.GetRequest().GetStatus() != pmv1.AllocationRequestStatus_ALLOCATION_REQUEST_STATUS_GRANTED ||
		q.GetRequest().GetResultingAllocationNumber() != out.GetAllocations()[0].GetNumber() {
		t.Fatalf("the request after the decision: %v %v", q, err)
	}
}

// A decision not decided by its statutory due date raises decision.overdue once.
func TestDecisionOverdue(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	_, caseID := w.triaged(40)
	late := draftRequest(caseID, 4)
	late.ApplicationDate = date(today().AddDate(0, 0, -20)) // the Wmo term of two weeks ended
	d := w.draftAndPropose(t, late)
	_, msg := w.events.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*pmv1.DecisionOverdue)
		return ok && e.GetDecisionId() == d.GetId()
	})
	ev := msg.(*pmv1.DecisionOverdue)
	// The overdue scan runs on its own schedule: it may catch the decision between drafting and
	// proposing, so either undecided status is right.
	undecided := ev.GetStatus() == pmv1.DecisionStatus_DECISION_STATUS_PROPOSED || ev.GetStatus() == pmv1.DecisionStatus_DECISION_STATUS_DRAFT
	if ev.GetDueDate() != d.GetDueDate() || !undecided || ev.GetMunicipalityCode() != municipality ||
		ev.GetCaseId() != caseID || ev.GetIntakeId() != d.GetIntakeId() || ev.GetIntakeId() == "" || ev.GetDistrictCode() != district {
		t.Fatalf("overdue: %v", ev)
	}
	out, err := decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), d.GetId())
	if err != nil || out.GetDecision().GetWithinStatutoryTerm() {
		t.Fatalf("a late decision is outside the term: %v %v", out, err)
	}
	time.Sleep(600 * time.Millisecond)
	n := 0
	for _, r := range w.events.All() {
		if e, ok := r.Message.(*pmv1.DecisionOverdue); ok && e.GetDecisionId() == d.GetId() {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("overdue events: %d, want 1", n)
	}
}

// submit is the provider's request for allocation (315) of 3 hours a week for three months.
func (w *decisionWorld) submit(t *testing.T) string {
	t.Helper()
	sub, err := w.providerPM.SubmitAllocationRequest(acting(t, "zorg-piet", "care_coordinator"), &pmv1.SubmitAllocationRequestRequest{
		IdempotencyKey: uuid.NewString(), Kind: pmv1.AllocationRequestKind_ALLOCATION_REQUEST_KIND_ALLOCATION,
		ProviderAgb: providerAGB, MunicipalityCode: municipality, DistrictCode: district, ProductCategory: wmoCategory, ProductCode: wmoProduct,
		StartDate: date(today()), EndDate: date(today().AddDate(0, 3, 0)),
		Volume:       &commonv1.Volume{Amount: 3, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK},
		ReferrerType: "02", ReferrerCode: "01234567"})
	if err != nil {
		t.Fatal(err)
	}
	return sub.GetRequest().GetId()
}

func fromRequest(caseID, requestID string) *pmv1.DraftDecisionRequest {
	return &pmv1.DraftDecisionRequest{IdempotencyKey: uuid.NewString(), CaseId: caseID, AllocationRequestId: requestID,
		LegalBasis: pmv1.LegalBasis_LEGAL_BASIS_WMO_2_3_5, Outcome: pmv1.DecisionOutcome_DECISION_OUTCOME_GRANTED, ApplicationDate: date(today())}
}

// One provider's request for allocation (315) leads to at most one allocation (probe-C F1):
// no second decision on it, none on a request granted or refused already, and no grant of a
// request a decision in force answers.
func TestOneAllocationPerRequest(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	if err := service.SeedMunicipalOrganisations(svctest.Ctx(t), w.svc.DSN, municipality, w.team.OIN); err != nil {
		t.Fatal(err)
	}
	teamPM := pmv1.NewProviderMonitoringServiceClient(w.env.Client(t, w.svc.Addr, w.team))
	teamCtx := acting(t, "regisseur-anna", "case_director")
	bert := acting(t, "consulent-bert", "wmo_consultant")
	_, caseA := w.triaged(1)
	_, caseB := w.triaged(1)

	// Two drafts may compete; the first decided answers the request, the second is refused.
	requestID := w.submit(t)
	first := w.draftAndPropose(t, fromRequest(caseA, requestID))
	second := w.draftAndPropose(t, fromRequest(caseB, requestID))
	out, err := decide(w.asMuni, bert, first.GetId())
	if err != nil || len(out.GetAllocations()) != 1 {
		t.Fatalf("decide the first: %v %v", out, err)
	}
	_, err = decide(w.asMuni, bert, second.GetId())
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), requestID) {
		t.Fatalf("decide the second: %s", st.Message())
	}
	_, err = w.asTeam.DraftDecision(teamCtx, fromRequest(caseB, requestID))
	wantCode(t, err, codes.FailedPrecondition)
	list, err := w.allocations.ListCaseAllocations(svctest.Ctx(t), &pmv1.ListCaseAllocationsRequest{CaseId: caseB})
	if err != nil || len(list.GetAllocations()) != 0 {
		t.Fatalf("the second case got an allocation: %v %v", list, err)
	}

	// A request granted or refused by the team's answer.
	for _, answer := range []*pmv1.AnswerAllocationRequestRequest{
		{Decision: pmv1.AnswerDecision_ANSWER_DECISION_GRANT},
		{Decision: pmv1.AnswerDecision_ANSWER_DECISION_REFUSE, RefusalReason: "al geholpen door de schuldhulp"},
	} {
		answer.IdempotencyKey, answer.RequestId = uuid.NewString(), w.submit(t)
		answered, err := teamPM.AnswerAllocationRequest(teamCtx, answer)
		if err != nil || answered.GetRequest().GetRefusalReason() != answer.GetRefusalReason() {
			t.Fatalf("answer: %v %v", answered.GetRequest(), err)
		}
		// A refusal's reason is free text about the resident: stored sealed only.
		var plain string
		var sealed []byte
		if err := w.svc.Pool.QueryRow(context.Background(), `SELECT refusal_reason, refusal_reason_enc FROM allocation_requests WHERE id = $1`,
			answer.GetRequestId()).Scan(&plain, &sealed); err != nil || plain != "" ||
			(answer.GetRefusalReason() != "") != (len(sealed) > 0) || bytes.Contains(sealed, []byte("schuldhulp")) {
			t.Fatalf("the stored refusal reason: %q %x %v", plain, sealed, err)
		}
		_, err = w.asTeam.DraftDecision(teamCtx, fromRequest(caseB, answer.GetRequestId()))
		if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "already") {
			t.Fatalf("a decision on an answered request: %s", st.Message())
		}
	}

	// A rejection decided on the request answers it (REFUSED): the team cannot grant it after all.
	requestID = w.submit(t)
	rejection := fromRequest(caseB, requestID)
	rejection.Outcome, rejection.RejectionGrounds = pmv1.DecisionOutcome_DECISION_OUTCOME_REJECTED, "Voorliggende voorziening volstaat."
	rejected := w.draftAndPropose(t, rejection)
	dec, err := decide(w.asMuni, bert, rejected.GetId())
	if err != nil {
		t.Fatal(err)
	}
	// It is the request's answer: REFUSED, the provider told which decision (not its grounds).
	got, err := w.providerPM.DescribeAllocationRequest(acting(t, "zorg-piet", "care_coordinator"), &pmv1.DescribeAllocationRequestRequest{RequestId: requestID})
	if err != nil {
		t.Fatal(err)
	}
	if q := got.GetRequest(); q.GetStatus() != pmv1.AllocationRequestStatus_ALLOCATION_REQUEST_STATUS_REFUSED || !q.GetDecidedOnTime() || q.GetOverdue() ||
		q.GetRefusalReason() != "rejected by decision "+dec.GetDecision().GetNumber() {
		t.Fatalf("the request a rejection answered: %v", q)
	}
	_, err = teamPM.AnswerAllocationRequest(teamCtx, &pmv1.AnswerAllocationRequestRequest{IdempotencyKey: uuid.NewString(), RequestId: requestID,
		Decision: pmv1.AnswerDecision_ANSWER_DECISION_GRANT})
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "from REFUSED") {
		t.Fatalf("grant after a rejection: %s", st.Message())
	}
}

// grantedAndStarted decides a decision of 4 hours a week on a new case and lets the provider
// start and pause care; it returns the decision and its allocation's number.
func (w *decisionWorld) grantedAndPaused(t *testing.T) (*pmv1.Decision, string) {
	t.Helper()
	_, caseID := w.triaged(1)
	d := w.draftAndPropose(t, draftRequest(caseID, 4))
	out, err := decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), d.GetId())
	if err != nil {
		t.Fatal(err)
	}
	number := out.GetAllocations()[0].GetNumber()
	piet := acting(t, "zorg-piet", "care_coordinator")
	if _, err := w.providerPM.ReportDeliveryStarted(piet, &pmv1.ReportDeliveryStartedRequest{IdempotencyKey: uuid.NewString(),
		AllocationNumber: number, StartedOn: date(today())}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.providerPM.ReportDeliveryStopped(piet, &pmv1.ReportDeliveryStoppedRequest{IdempotencyKey: uuid.NewString(),
		AllocationNumber: number, StoppedOn: date(today()), ReasonCode: "20"}); err != nil {
		t.Fatal(err)
	}
	return out.GetDecision(), number
}

func (w *decisionWorld) allocationStatus(t *testing.T, number string) commonv1.AllocationStatus {
	t.Helper()
	got, err := w.allocations.GetAllocation(svctest.Ctx(t), &pmv1.GetAllocationRequest{AllocationNumber: number})
	if err != nil {
		t.Fatal(err)
	}
	return got.GetAllocation().GetStatus()
}

// A decision no longer in force leaves no allocation alive (probe-C F2): withdrawn, or
// replaced by an amendment, it takes its paused allocation with it, and care cannot restart.
func TestDecisionNoLongerInForceWithdrawsPausedCare(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	d, number := w.grantedAndPaused(t)
	if _, err := w.asMuni.WithdrawDecision(acting(t, "consulent-bert", "wmo_consultant"), &pmv1.WithdrawDecisionRequest{IdempotencyKey: uuid.NewString(),
		DecisionId: d.GetId(), Reason: pmv1.DecisionWithdrawalReason_DECISION_WITHDRAWAL_REASON_CHANGED_CIRCUMSTANCES}); err != nil {
		t.Fatal(err)
	}
	if st := w.allocationStatus(t, number); st != commonv1.AllocationStatus_ALLOCATION_STATUS_WITHDRAWN {
		t.Fatalf("the paused allocation of a withdrawn decision is %s", st)
	}
	_, err := w.providerPM.ReportDeliveryStarted(acting(t, "zorg-piet", "care_coordinator"), &pmv1.ReportDeliveryStartedRequest{IdempotencyKey: uuid.NewString(),
		AllocationNumber: number, StartedOn: date(today())})
	wantCode(t, err, codes.FailedPrecondition)

	d, number = w.grantedAndPaused(t)
	am, err := w.asTeam.AmendDecision(acting(t, "regisseur-anna", "case_director"), &pmv1.AmendDecisionRequest{IdempotencyKey: uuid.NewString(),
		DecisionId: d.GetId(), EndDate: date(today().AddDate(0, 3, 0))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.asTeam.ProposeDecision(acting(t, "regisseur-anna", "case_director"), &pmv1.ProposeDecisionRequest{IdempotencyKey: uuid.NewString(),
		DecisionId: am.GetDecision().GetId()}); err != nil {
		t.Fatal(err)
	}
	out, err := decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), am.GetDecision().GetId())
	if err != nil || len(out.GetAllocations()) != 1 {
		t.Fatalf("decide the amendment: %v %v", out, err)
	}
	if st := w.allocationStatus(t, number); st != commonv1.AllocationStatus_ALLOCATION_STATUS_WITHDRAWN {
		t.Fatalf("the paused allocation of an amended decision is %s", st)
	}
}

// An allocation issued under a decision changes only within it (probe-C F3): more volume or
// a longer period needs AmendDecision.
func TestChangeOfADecisionsAllocationStaysWithinIt(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	_, caseID := w.triaged(1)
	d := w.draftAndPropose(t, draftRequest(caseID, 4))
	out, err := decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), d.GetId())
	if err != nil {
		t.Fatal(err)
	}
	number := out.GetAllocations()[0].GetNumber()
	change := func(c *pmv1.ChangeAllocationRequest) (*pmv1.ChangeAllocationResponse, error) {
		c.IdempotencyKey, c.AllocationNumber = uuid.NewString(), number
		c.ChangeReason = pmv1.AllocationChangeReason_ALLOCATION_CHANGE_REASON_CHANGED_NEED
		return w.allocations.ChangeAllocation(svctest.Ctx(t), c)
	}
	hours := func(n int32) *commonv1.Volume {
		return &commonv1.Volume{Amount: n, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_WEEK}
	}
	for name, c := range map[string]*pmv1.ChangeAllocationRequest{
		"more volume":   {Volume: hours(160)},
		"other unit":    {Volume: &commonv1.Volume{Amount: 1, Unit: commonv1.VolumeUnit_VOLUME_UNIT_HOUR, Frequency: commonv1.VolumeFrequency_VOLUME_FREQUENCY_DAY}},
		"longer period": {EndDate: "2199-12-31"},
		"earlier start": {StartDate: date(today().AddDate(0, 0, -7))},
	} {
		_, err := change(c)
		if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "AmendDecision") || !strings.Contains(st.Message(), out.GetDecision().GetNumber()) {
			t.Fatalf("%s: %s", name, st.Message())
		}
	}
	got, err := change(&pmv1.ChangeAllocationRequest{Volume: hours(3), EndDate: date(today().AddDate(0, 2, 0))})
	if err != nil || got.GetAllocation().GetVolume().GetAmount() != 3 || got.GetAllocation().GetVersion() != 2 {
		t.Fatalf("less than decided: %v %v", got, err)
	}
}

// The case a decision grants care for must be open, when drafted and when decided (probe-C
// F4); an unknown provider is NOT_FOUND at drafting (probe-C F8); a register naming a role
// that does not decide, or a four-eyes threshold above the maximum, is refused (probe-C F6).
func TestDecisionChecksCaseProviderAndRegister(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	teamCtx := acting(t, "regisseur-anna", "case_director")
	_, caseID := w.triaged(1)
	unknown := draftRequest(caseID, 4)
	unknown.ProviderAgb = "99999999"
	_, err := w.asTeam.DraftDecision(teamCtx, unknown)
	wantResource(t, err, "provider", "99999999")

	d := w.draftAndPropose(t, draftRequest(caseID, 4))
	w.cases.setStatus(caseID, casedirectionv1.CaseStatus_CASE_STATUS_HANDED_OVER)
	_, err = decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), d.GetId())
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "HANDED_OVER") {
		t.Fatalf("decide for a handed-over case: %s", st.Message())
	}
	_, err = w.asTeam.DraftDecision(teamCtx, draftRequest(caseID, 4))
	wantCode(t, err, codes.FailedPrecondition)
	// A rejection still answers the application.
	reject := draftRequest(caseID, 4)
	reject.Outcome, reject.RejectionGrounds = pmv1.DecisionOutcome_DECISION_OUTCOME_REJECTED, "Verhuisd naar een andere gemeente."
	if _, err := w.asTeam.DraftDecision(teamCtx, reject); err != nil {
		t.Fatalf("a rejection for a handed-over case: %v", err)
	}

	reg, err := w.asMuni.ListMandates(svctest.Ctx(t), &pmv1.ListMandatesRequest{MunicipalityCode: municipality})
	if err != nil {
		t.Fatal(err)
	}
	bad := &pmv1.AdoptMandateRegisterRequest{IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality,
		Mandates: reg.GetMandates(), Paragraphs: reg.GetParagraphs()}
	bad.Mandates[0].Role = "evil_role"
	bad.Mandates[1].MaxVolume, bad.Mandates[1].FourEyesAboveVolume = 10, 50
	_, err = w.asMuni.AdoptMandateRegister(acting(t, "beheer-eva", "municipal_administrator"), bad)
	if f := violatedFields(t, err); !slices.Contains(f, "mandates[0].role") || !slices.Contains(f, "mandates[1].four_eyes_above_volume") {
		t.Fatalf("invalid register: %v", f)
	}

	// The field at fault is the one named (an outside tester following the doc): a budget of
	// -5 next to a valid max_volume is max_budget_cents', a mandate without a budget too, and
	// the missing parts of the address are the flat fields the request has.
	reg, err = w.asMuni.ListMandates(svctest.Ctx(t), &pmv1.ListMandatesRequest{MunicipalityCode: municipality})
	if err != nil {
		t.Fatal(err)
	}
	bad = &pmv1.AdoptMandateRegisterRequest{IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality,
		Mandates: reg.GetMandates(), Paragraphs: reg.GetParagraphs()}
	bad.Mandates[0].MaxVolume, bad.Mandates[0].MaxBudgetCents = 40, -5
	bad.Mandates[1].MaxBudgetCents, bad.Mandates[1].FourEyesAboveBudgetCents = 0, 0
	bad.Paragraphs.PostalCode, bad.Paragraphs.PostalCity, bad.Paragraphs.MunicipalityName = "", "", ""
	_, err = w.asMuni.AdoptMandateRegister(acting(t, "beheer-eva", "municipal_administrator"), bad)
	if f, want := violatedFields(t, err), []string{"mandates[0].max_budget_cents", "mandates[1].max_budget_cents",
		"paragraphs.municipality_name", "paragraphs.postal_code", "paragraphs.postal_city"}; !slices.Equal(f, want) {
		t.Fatalf("invalid limits and address: %v, want %v", f, want)
	}
}

// The Wmo term of two weeks runs from the application (aanvraag), not from the report
// (melding) the intake received (Wmo 2015 art. 2.3.2 lid 1, 2.3.5 lid 1): the application
// date is required and not before the report; the decision shows the investigation term
// after the report. An earlier release took the intake's receipt as the application, so a Wmo
// decision was due two weeks after the report and counted overdue while still in term.
func TestWmoDecisionTermRunsFromTheApplication(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	_, caseID := w.triaged(20)
	ctx := acting(t, "regisseur-anna", "case_director")
	report := today().AddDate(0, 0, -20)
	refused := func(req *pmv1.DraftDecisionRequest, want string) {
		t.Helper()
		_, err := w.asTeam.DraftDecision(ctx, req)
		st := wantCode(t, err, codes.InvalidArgument)
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					if v.GetField() == "application_date" && strings.Contains(v.GetDescription(), want) {
						return
					}
				}
			}
		}
		t.Fatalf("want application_date refused saying %q, got %v", want, err)
	}
	r := draftRequest(caseID, 4)
	r.ApplicationDate = ""
	refused(r, "not the report (melding)")
	r = draftRequest(caseID, 4)
	r.ApplicationDate = date(report.AddDate(0, 0, -1))
	refused(r, "the application follows the report")

	r = draftRequest(caseID, 4)
	r.ApplicationDate = date(today().AddDate(0, 0, -10))
	resp, err := w.asTeam.DraftDecision(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	d, cal := resp.GetDecision(), domain.NewCalendar()
	if d.GetApplicationDate() != r.ApplicationDate || d.GetReportDate() != date(report) ||
		d.GetDueDate() != date(cal.DecisionDueDate(domain.BasisWmo, today().AddDate(0, 0, -10))) ||
		d.GetInvestigationDue() != date(cal.InvestigationDue(report)) {
		t.Fatalf("application %s, report %s, due %s, investigation due %s", d.GetApplicationDate(), d.GetReportDate(), d.GetDueDate(), d.GetInvestigationDue())
	}
	got, err := w.asTeam.GetDecision(ctx, &pmv1.GetDecisionRequest{DecisionId: d.GetId()})
	if err != nil || got.GetDecision().GetInvestigationDue() != d.GetInvestigationDue() || got.GetDecision().GetReportDate() != d.GetReportDate() {
		t.Fatalf("stored: %v %v", got, err)
	}
	// A Jeugdwet decision still takes the intake's receipt as the application (no report
	// stage) and has no investigation term.
	j := draftRequest(caseID, 4)
	j.ApplicationDate, j.LegalBasis, j.Product = "", pmv1.LegalBasis_LEGAL_BASIS_JEUGDWET_2_3, &pmv1.Product{Category: "45", Code: "45A01"}
	jr, err := w.asTeam.DraftDecision(ctx, j)
	if err != nil || jr.GetDecision().GetApplicationDate() != date(report) || jr.GetDecision().GetInvestigationDue() != "" {
		t.Fatalf("Jeugdwet: %v %v", jr, err)
	}
}

// An objection posted within the term and received no later than a week after it is on time
// (Awb art. 6:9 lid 2); posted_on after received_on or in the future is refused naming it. An
// earlier release judged by received_on alone and called such an objection late.
func TestObjectionPostedInTime(t *testing.T) {
	t.Parallel()
	w := startDecisions(t)
	_, caseID := w.triaged(3)
	d := w.draftAndPropose(t, draftRequest(caseID, 4))
	if _, err := decide(w.asMuni, acting(t, "consulent-bert", "wmo_consultant"), d.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.asMuni.SendDecision(svctest.Ctx(t), &pmv1.SendDecisionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId()}); err != nil {
		t.Fatal(err)
	}
	// The term ended three days ago (the service's clock cannot be moved: the decision is moved
	// back instead, as if sent six weeks earlier).
	deadline := today().AddDate(0, 0, -3)
	if _, err := w.svc.Pool.Exec(context.Background(), `UPDATE decisions SET sent_at = $2, objection_deadline = $3 WHERE id = $1`,
		d.GetId(), deadline.AddDate(0, 0, -42), deadline); err != nil {
		t.Fatal(err)
	}
	register := func(received, posted string) (*pmv1.RegisterObjectionResponse, error) {
		return w.asMuni.RegisterObjection(svctest.Ctx(t), &pmv1.RegisterObjectionRequest{IdempotencyKey: uuid.NewString(), DecisionId: d.GetId(),
			ReceivedOn: received, PostedOn: posted})
	}
	for _, bad := range []struct{ received, posted string }{
		{date(today()), date(today().AddDate(0, 0, 1))},     // in the future
		{date(deadline), date(deadline.AddDate(0, 0, 1))},   // after it was received
		{date(today()), date(deadline.AddDate(0, 0, -100))}, // before the decision was sent
		{date(today()), "2026-02-30"},                       // no date
	} {
		_, err := register(bad.received, bad.posted)
		if f := violatedFields(t, err); !slices.Contains(f, "posted_on") {
			t.Fatalf("posted %s, received %s: %v", bad.posted, bad.received, f)
		}
	}
	obj, err := register(date(today()), date(deadline))
	if err != nil || !obj.GetDecision().GetObjection().GetOnTime() || obj.GetDecision().GetObjection().GetPostedOn() != date(deadline) {
		t.Fatalf("posted on the last day, received three days later: %v %v", obj, err)
	}
	got, err := w.asMuni.GetDecision(svctest.Ctx(t), &pmv1.GetDecisionRequest{DecisionId: d.GetId()})
	if err != nil || got.GetDecision().GetObjection().GetPostedOn() != date(deadline) || !got.GetDecision().GetObjection().GetOnTime() {
		t.Fatalf("stored: %v %v", got, err)
	}
	_, ev := w.events.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*pmv1.DecisionObjectionRegistered)
		return ok && e.GetDecisionId() == d.GetId()
	})
	if e := ev.(*pmv1.DecisionObjectionRegistered); !e.GetOnTime() || e.GetPostedOn() != date(deadline) || e.GetReceivedOn() != date(today()) {
		t.Fatalf("decision.objection_registered: %v", e)
	}
}
