package service_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
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
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/intake/service"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const municipality = "GM0363"

// fakeCaseDirection records OpenCase calls. Like the real service it answers a repeated key
// with the same case, and with existingCase set it refuses as for a household that already
// has an open case.
type fakeCaseDirection struct {
	casedirectionv1.UnimplementedCaseDirectionServiceServer
	mu           sync.Mutex
	requests     []*casedirectionv1.OpenCaseRequest
	existingCase string
}

var caseNamespace = uuid.MustParse("0b8a7f57-1f0e-4d0c-9a55-4c1f6a3e2d10")

func (f *fakeCaseDirection) OpenCase(_ context.Context, req *casedirectionv1.OpenCaseRequest) (*casedirectionv1.OpenCaseResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, proto.Clone(req).(*casedirectionv1.OpenCaseRequest))
	if f.existingCase != "" {
		st, err := status.New(codes.AlreadyExists, "the household has an open case").
			WithDetails(&errdetails.ResourceInfo{ResourceType: "case", ResourceName: f.existingCase})
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	}
	return &casedirectionv1.OpenCaseResponse{Case: &casedirectionv1.Case{
		Id: uuid.NewSHA1(caseNamespace, []byte(req.GetIdempotencyKey())).String(), HouseholdId: req.GetHouseholdId(),
		IntakeId: req.GetIntakeId(), MunicipalityCode: req.GetMunicipalityCode(), TeamOin: req.GetTeamOin(),
		Status: casedirectionv1.CaseStatus_CASE_STATUS_REGISTERED, LifeDomains: req.GetLifeDomains(),
	}}, nil
}

func (f *fakeCaseDirection) Requests() []*casedirectionv1.OpenCaseRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*casedirectionv1.OpenCaseRequest(nil), f.requests...)
}

// fakeReferral serves the signals it is given and counts reads per signal.
type fakeReferral struct {
	referralv1.UnimplementedReferralServiceServer
	mu       sync.Mutex
	signals  map[string]*referralv1.Signal
	reads    map[string]int
	purposes []string
	batches  []int // the number of ids of each BatchGetSignals call
	gate     *gate // set before the first read, never changed after
}

// gate holds GetSignal for one signal until release is closed; entered is closed when it is
// first called. A held call may end at its deadline (grpcx.DefaultCallTimeout) and be retried.
type gate struct {
	signalID         string
	once             sync.Once
	entered, release chan struct{}
}

func (f *fakeReferral) Add(s *referralv1.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals[s.GetId()] = s
}

func (f *fakeReferral) GetSignal(ctx context.Context, req *referralv1.GetSignalRequest) (*referralv1.GetSignalResponse, error) {
	f.mu.Lock()
	g := f.gate
	f.mu.Unlock()
	if g != nil && req.GetSignalId() == g.signalID {
		g.once.Do(func() { close(g.entered) })
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads[req.GetSignalId()]++
	md, _ := metadata.FromIncomingContext(ctx)
	f.purposes = append(f.purposes, md.Get(identity.HeaderPurpose)...)
	s, ok := f.signals[req.GetSignalId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "signal not found")
	}
	return &referralv1.GetSignalResponse{Signal: s}, nil
}

func (f *fakeReferral) BatchGetSignals(ctx context.Context, req *referralv1.BatchGetSignalsRequest) (*referralv1.BatchGetSignalsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	f.purposes = append(f.purposes, md.Get(identity.HeaderPurpose)...)
	f.batches = append(f.batches, len(req.GetSignalIds()))
	out := &referralv1.BatchGetSignalsResponse{}
	for _, id := range req.GetSignalIds() {
		f.reads[id]++
		s, ok := f.signals[id]
		if !ok {
			return nil, status.Error(codes.NotFound, "signal not found")
		}
		out.Signals = append(out.Signals, s)
	}
	return out, nil
}

func (f *fakeReferral) Reads(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads[id]
}

type harness struct {
	env      *svctest.Env
	svc      *svctest.Service
	cd       *fakeCaseDirection
	referral *fakeReferral
	team     devca.Org
	client   intakev1.IntakeServiceClient
}

func start(t *testing.T) *harness {
	t.Helper()
	env := svctest.New(t)
	h := &harness{env: env, cd: &fakeCaseDirection{},
		referral: &fakeReferral{signals: map[string]*referralv1.Signal{}, reads: map[string]int{}},
		team:     svctest.Org(identity.OrgTeam, "Wijkteam Noord")}
	cdAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) { casedirectionv1.RegisterCaseDirectionServiceServer(r, h.cd) })
	refAddr := env.ServeFake(t, func(r grpc.ServiceRegistrar) { referralv1.RegisterReferralServiceServer(r, h.referral) })
	h.svc = env.Start(t, service.Spec(), func(c *svc.Config) { c.CaseDirectionAddr = cdAddr; c.ReferralAddr = refAddr })
	h.client = h.clientAs(t, h.team)
	return h
}

func (h *harness) clientAs(t *testing.T, org devca.Org) intakev1.IntakeServiceClient {
	return intakev1.NewIntakeServiceClient(h.env.Client(t, h.svc.Addr, org))
}

func (h *harness) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := h.svc.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// validBSN returns a BSN that passes the 11-proef, different for every n.
func validBSN(n int) string {
	for k := 0; ; k++ {
		s := fmt.Sprintf("%08d", 10000000+(n*1000+k)*7919%89999999)
		sum := 0
		for i := 0; i < 8; i++ {
			sum += (9 - i) * int(s[i]-'0')
		}
		if d := sum % 11; d < 10 {
			return s + string(rune('0'+d))
		}
	}
}

func request(bsn string, urgency intakev1.Urgency, domains ...commonv1.LifeDomain) *intakev1.RegisterIntakeRequest {
	return &intakev1.RegisterIntakeRequest{
		IdempotencyKey: uuid.NewString(), Channel: intakev1.Channel_CHANNEL_DESK, ResidentBsn: bsn,
		MunicipalityCode: municipality, DistrictCode: "WK036300", Question: "Help with the rent, " + bsn,
		LifeDomains: domains, Urgency: urgency,
	}
}

func TestSameResidentTwiceIsOneResident(t *testing.T) {
	t.Parallel()
	h := start(t)
	bsn := validBSN(1)
	var intakes []*intakev1.Intake
	for range 2 {
		resp, err := h.client.RegisterIntake(svctest.Ctx(t), request(bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES))
		if err != nil {
			t.Fatalf("RegisterIntake: %v", err)
		}
		intakes = append(intakes, resp.GetIntake())
	}
	a, b := intakes[0], intakes[1]
	if a.GetId() == b.GetId() || a.GetResidentId() != b.GetResidentId() || a.GetHouseholdId() != b.GetHouseholdId() {
		t.Fatalf("want two intakes of one resident and household, got %v and %v", a, b)
	}
	if n := h.count(t, `SELECT count(*) FROM residents`); n != 1 {
		t.Fatalf("residents: %d, want 1", n)
	}
	if n := h.count(t, `SELECT count(*) FROM household_members WHERE resident_id = $1 AND role = 'APPLICANT'`, a.GetResidentId()); n != 1 {
		t.Fatalf("household members: %d, want 1 applicant", n)
	}
	if a.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_RECEIVED || a.GetTeamOin() != h.team.OIN || a.GetQuestion() != "" {
		t.Fatalf("got %v", a)
	}

	// Registered concurrently, a new resident is still one row (the blind index decides).
	other := validBSN(2)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := h.client.RegisterIntake(svctest.Ctx(t), request(other, intakev1.Urgency_URGENCY_NORMAL))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent RegisterIntake: %v", err)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM residents`); n != 2 {
		t.Fatalf("residents after concurrent registration: %d, want 2", n)
	}
	if n := h.count(t, `SELECT count(DISTINCT household_id) FROM intakes`); n != 2 {
		t.Fatalf("households used: %d, want 2", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.intake.create' AND resident_pseudonym <> '' AND route = 'NEW_RECORD'`); n != 10 {
		t.Fatalf("access log create entries: %d, want 10", n)
	}
}

func TestNoPlaintextBSNOrQuestionStored(t *testing.T) {
	t.Parallel()
	h := start(t)
	bsn := validBSN(3)
	req := request(bsn, intakev1.Urgency_URGENCY_CRISIS, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	resp, err := h.client.RegisterIntake(svctest.Ctx(t), req)
	if err != nil {
		t.Fatalf("RegisterIntake: %v", err)
	}
	got, err := h.client.GetIntake(svctest.Ctx(t), &intakev1.GetIntakeRequest{IntakeId: resp.GetIntake().GetId()})
	if err != nil || got.GetIntake().GetQuestion() != req.GetQuestion() {
		t.Fatalf("GetIntake must decrypt the question for the team: %v %q", err, got.GetIntake().GetQuestion())
	}
	// The newer tables too: a resident registered directly, found by BSN, assessed.
	if _, err := h.client.RegisterResident(svctest.Ctx(t), &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(),
		Bsn: bsn, MunicipalityCode: municipality}); err != nil {
		t.Fatalf("RegisterResident: %v", err)
	}
	if _, err := h.client.FindResident(svctest.Ctx(t), &intakev1.FindResidentRequest{Bsn: bsn}); err != nil {
		t.Fatalf("FindResident: %v", err)
	}
	h.assess(t, resp.GetIntake().GetResidentId(), "", map[string]int32{"HOUSING": 1})

	ctx := context.Background()
	rows, err := h.svc.Pool.Query(ctx, `
		SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'bytea', 'ARRAY', 'character varying')`)
	if err != nil {
		t.Fatal(err)
	}
	type column struct{ table, name, typ string }
	var columns []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name, &c.typ); err != nil {
			t.Fatal(err)
		}
		columns = append(columns, c)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	scanned := map[string]bool{}
	for _, c := range columns {
		if c.typ == "bytea" {
			rows, err := h.svc.Pool.Query(ctx, fmt.Sprintf(`SELECT %q FROM %q WHERE %q IS NOT NULL`, c.name, c.table, c.name))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var b []byte
				if err := rows.Scan(&b); err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(b, []byte(bsn)) || bytes.Contains(b, []byte("Help with the rent")) {
					t.Errorf("%s.%s holds plaintext", c.table, c.name)
				}
			}
			rows.Close()
		} else {
			var n int
			if err := h.svc.Pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %q WHERE %q::text LIKE '%%' || $1 || '%%'`, c.table, c.name), bsn).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				t.Errorf("%s.%s holds the BSN in plaintext", c.table, c.name)
			}
		}
		scanned[c.table] = true
	}
	for _, table := range []string{"residents", "intakes", "outbox", "access_log", "idempotency_keys", "assessments",
		"team_residents", "household_members", "households", "contact_attempts", "triage_policies"} {
		if !scanned[table] {
			t.Errorf("table %s was not scanned", table)
		}
	}
}

func TestCrisisOpensCase(t *testing.T) {
	t.Parallel()
	h := start(t)
	rec := h.env.Events(t, "intake", "wijkbrug.intake.>")
	req := request(validBSN(4), intakev1.Urgency_URGENCY_CRISIS, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	resp, err := h.client.RegisterIntake(svctest.Ctx(t), req)
	if err != nil {
		t.Fatalf("RegisterIntake: %v", err)
	}
	in := resp.GetIntake()
	if in.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED || in.GetCaseId() == "" ||
		in.GetTriageOutcome() != intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION || in.GetTriageRule() != "crisis" {
		t.Fatalf("got %v", in)
	}
	reqs := h.cd.Requests()
	if len(reqs) != 1 {
		t.Fatalf("OpenCase calls: %d, want 1", len(reqs))
	}
	oc := reqs[0]
	if oc.GetIdempotencyKey() != "intake-"+in.GetId() || oc.GetIntakeId() != in.GetId() || oc.GetHouseholdId() != in.GetHouseholdId() ||
		oc.GetMunicipalityCode() != municipality || oc.GetDistrictCode() != "WK036300" || oc.GetTeamOin() != h.team.OIN ||
		len(oc.GetLifeDomains()) != 1 || oc.GetLifeDomains()[0] != commonv1.LifeDomain_LIFE_DOMAIN_HOUSING {
		t.Fatalf("OpenCase request: %v", oc)
	}
	var status, caseID string
	if err := h.svc.Pool.QueryRow(context.Background(), `SELECT status, case_id::text FROM intakes WHERE id = $1`, in.GetId()).Scan(&status, &caseID); err != nil {
		t.Fatal(err)
	}
	if status != "CASE_OPENED" || caseID != in.GetCaseId() {
		t.Fatalf("row: %s %s", status, caseID)
	}
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeTriaged)
		// With the time of the decision (outcome reporting: time from intake to triage).
		return ok && e.GetIntakeId() == in.GetId() && e.GetRule() == "crisis" && e.GetStatus() == intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED &&
			e.GetAt() != nil && !e.GetAt().AsTime().Before(in.GetReceivedAt().AsTime())
	})
	ev, _ := rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeCaseOpened)
		return ok && e.GetIntakeId() == in.GetId() && e.GetCaseId() == in.GetCaseId()
	})
	if ev.NATSSubject != "wijkbrug.intake.GM0363.intake.case_opened" {
		t.Fatalf("subject %s", ev.NATSSubject)
	}
}

func TestExistingCaseOfHouseholdIsLinked(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.cd.existingCase = uuid.NewString()
	req := request(validBSN(5), intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	req.SafetyConcern = true
	resp, err := h.client.RegisterIntake(svctest.Ctx(t), req)
	if err != nil {
		t.Fatalf("RegisterIntake: %v", err)
	}
	in := resp.GetIntake()
	if in.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED || in.GetCaseId() != h.cd.existingCase || in.GetTriageRule() != "safety-signal" {
		t.Fatalf("got %v", in)
	}
}

// TestMatchedIntakeDoesNotNameTheOtherTeamsCase: a team whose intake only matches a resident
// another team works with is told whom to contact, not the case its intake went to (probe-B
// F4): neither in the answer nor when it reads or lists its intake later.
func TestMatchedIntakeDoesNotNameTheOtherTeamsCase(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	bsn := validBSN(6)
	own, err := h.client.RegisterIntake(ctx, request(bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING))
	if err != nil {
		t.Fatalf("RegisterIntake by the team that works with the resident: %v", err)
	}
	h.cd.mu.Lock()
	h.cd.existingCase = uuid.NewString() // the household's open case, the first team's
	h.cd.mu.Unlock()
	other := h.clientAs(t, svctest.Org(identity.OrgTeam, "Wijkteam Oost"))
	req := request(bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	req.SafetyConcern = true // case direction at receipt: the intake joins the household's case
	resp, err := other.RegisterIntake(ctx, req)
	if err != nil {
		t.Fatalf("RegisterIntake by another team: %v", err)
	}
	in := resp.GetIntake()
	if resp.GetMatch() == nil || in.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED {
		t.Fatalf("want a match and the intake sent to case direction, got %v", resp)
	}
	if in.GetCaseId() != "" {
		t.Errorf("the answer names the other team's case %s", in.GetCaseId())
	}
	got, err := other.GetIntake(ctx, &intakev1.GetIntakeRequest{IntakeId: in.GetId()})
	if err != nil || got.GetIntake().GetCaseId() != "" {
		t.Errorf("GetIntake of the matched intake: %v, case %q", err, got.GetIntake().GetCaseId())
	}
	list, err := other.ListIntakes(ctx, &intakev1.ListIntakesRequest{})
	if err != nil || len(list.GetIntakes()) != 1 || list.GetIntakes()[0].GetCaseId() != "" {
		t.Errorf("ListIntakes of the matched team: %v %v", err, list)
	}
	// Nor when the team triages an intake of its own to case direction, which joins that case.
	queued, err := other.RegisterIntake(ctx, request(bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING))
	if err != nil {
		t.Fatalf("RegisterIntake by another team: %v", err)
	}
	if _, err := other.StartTriage(ctx, &intakev1.StartTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: queued.GetIntake().GetId()}); err != nil {
		t.Fatalf("StartTriage: %v", err)
	}
	decide := &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: queued.GetIntake().GetId(),
		Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION}
	for _, attempt := range []string{"first", "replay"} {
		decided, err := other.DecideTriage(ctx, decide)
		if err != nil || decided.GetIntake().GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED || decided.GetIntake().GetCaseId() != "" {
			t.Errorf("DecideTriage to case direction (%s answer): %v, case %q", attempt, err, decided.GetIntake().GetCaseId())
		}
	}
	// The team that works with the resident still sees the case of an intake that went there.
	req = request(bsn, intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	req.SafetyConcern = true
	mine, err := h.client.RegisterIntake(ctx, req)
	if err != nil || mine.GetIntake().GetCaseId() != h.cd.existingCase || mine.GetMatch() != nil {
		t.Errorf("the owning team's intake: %v %v (first intake %s)", err, mine, own.GetIntake().GetId())
	}
}

func TestUndecidedIntakeWaitsInTheQueue(t *testing.T) {
	t.Parallel()
	h := start(t)
	rec := h.env.Events(t, "intake", "wijkbrug.intake.>")
	resp, err := h.client.RegisterIntake(svctest.Ctx(t), request(validBSN(6), intakev1.Urgency_URGENCY_HIGH,
		commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES))
	if err != nil {
		t.Fatalf("RegisterIntake: %v", err)
	}
	undecided := resp.GetIntake()
	if undecided.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_RECEIVED || undecided.GetTriageRule() != "" {
		t.Fatalf("got %v", undecided)
	}
	// Three domains decide; its events come after any the first intake could have had.
	resp, err = h.client.RegisterIntake(svctest.Ctx(t), request(validBSN(7), intakev1.Urgency_URGENCY_NORMAL,
		commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_MENTAL_HEALTH))
	if err != nil {
		t.Fatalf("RegisterIntake: %v", err)
	}
	decided := resp.GetIntake()
	if decided.GetTriageRule() != "three-or-more-domains" || decided.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED {
		t.Fatalf("got %v", decided)
	}
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeCaseOpened)
		return ok && e.GetIntakeId() == decided.GetId()
	})
	for _, ev := range rec.All() {
		if ev.Envelope.Subject == undecided.GetId() && ev.Envelope.Type != "wijkbrug.intake.v1.IntakeReceived" {
			t.Errorf("undecided intake announced %s", ev.Envelope.Type)
		}
	}
	if n := len(h.cd.Requests()); n != 1 {
		t.Fatalf("OpenCase calls: %d, want 1", n)
	}
}

func TestSignalBecomesIntake(t *testing.T) {
	t.Parallel()
	h := start(t)
	rec := h.env.Events(t, "intake", "wijkbrug.intake.>")
	gp := &referralv1.Signal{
		Id: uuid.NewString(), SourceType: referralv1.SourceType_SOURCE_TYPE_GP, ResidentBsn: validBSN(8),
		MunicipalityCode: municipality, DistrictCode: "WK036301", Description: "Lonely and behind on rent",
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK},
	}
	h.referral.Add(gp)
	subject := "wijkbrug.referral." + municipality + ".signal.received"
	event := &referralv1.SignalReceived{SignalId: gp.GetId(), SourceType: gp.GetSourceType(), MunicipalityCode: municipality}
	eventID := h.env.Publish(t, "referral", subject, gp.GetId(), event)

	_, msg := rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeReceived)
		return ok && len(e.GetSignalIds()) == 1 && e.GetSignalIds()[0] == gp.GetId()
	})
	received := msg.(*intakev1.IntakeReceived)
	if received.GetChannel() != intakev1.Channel_CHANNEL_SIGNAL || received.GetTeamOin() != h.svc.Config.Settings["WIJKBRUG_DEFAULT_TEAM_OIN"] ||
		received.GetUrgency() != intakev1.Urgency_URGENCY_NORMAL || received.GetDistrictCode() != "WK036301" ||
		received.GetSourceType() != referralv1.SourceType_SOURCE_TYPE_GP { // by source, for outcome reporting
		t.Fatalf("IntakeReceived: %v", received)
	}
	got, err := h.client.GetIntake(svctest.Ctx(t), &intakev1.GetIntakeRequest{IntakeId: received.GetIntakeId()})
	if err != nil {
		t.Fatalf("GetIntake by the default team: %v", err)
	}
	if got.GetIntake().GetQuestion() != gp.GetDescription() || got.GetIntake().GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_RECEIVED {
		t.Fatalf("intake: %v", got.GetIntake())
	}

	// The same event again, and the same signal in a new event: still one intake.
	h.env.PublishWithID(t, "referral", subject, gp.GetId(), eventID, event)
	h.env.Publish(t, "referral", subject, gp.GetId(), event)

	// A Veilig Thuis signal is triaged into case direction; being handled after the repeats
	// (one consumer, in order), its events mean the repeats were handled too.
	vt := &referralv1.Signal{
		Id: uuid.NewString(), SourceType: referralv1.SourceType_SOURCE_TYPE_VEILIG_THUIS, ResidentBsn: validBSN(9),
		MunicipalityCode: municipality, LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_DOMESTIC_RELATIONS},
	}
	h.referral.Add(vt)
	h.env.Publish(t, "referral", subject, vt.GetId(), &referralv1.SignalReceived{SignalId: vt.GetId(), MunicipalityCode: municipality})
	_, msg = rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeCaseOpened)
		return ok && len(e.GetSignalIds()) == 1 && e.GetSignalIds()[0] == vt.GetId()
	})
	opened := msg.(*intakev1.IntakeCaseOpened)
	var urgency, rule string
	if err := h.svc.Pool.QueryRow(context.Background(), `SELECT urgency, triage_rule FROM intakes WHERE id = $1`, opened.GetIntakeId()).Scan(&urgency, &rule); err != nil {
		t.Fatal(err)
	}
	if urgency != "HIGH" || rule != "safety-signal" {
		t.Fatalf("Veilig Thuis intake: urgency %s, rule %s", urgency, rule)
	}
	// A GP's signal shared under the meldcode (a suspicion of domestic violence or child
	// abuse) is a safety signal too: into case direction by the same rule, urgent, and its
	// intake carries the safety concern (it had been an ordinary queue item).
	meld := &referralv1.Signal{
		Id: uuid.NewString(), SourceType: referralv1.SourceType_SOURCE_TYPE_GP, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_MELDCODE,
		ResidentBsn: validBSN(10), MunicipalityCode: municipality, LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES},
	}
	h.referral.Add(meld)
	h.env.Publish(t, "referral", subject, meld.GetId(), &referralv1.SignalReceived{SignalId: meld.GetId(), MunicipalityCode: municipality})
	_, msg = rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeCaseOpened)
		return ok && len(e.GetSignalIds()) == 1 && e.GetSignalIds()[0] == meld.GetId()
	})
	var safety bool
	if err := h.svc.Pool.QueryRow(context.Background(), `SELECT urgency, triage_rule, safety_concern FROM intakes WHERE id = $1`,
		msg.(*intakev1.IntakeCaseOpened).GetIntakeId()).Scan(&urgency, &rule, &safety); err != nil {
		t.Fatal(err)
	}
	if urgency != "HIGH" || rule != "safety-signal" || !safety {
		t.Fatalf("meldcode intake from a GP: urgency %s, rule %s, safety concern %v", urgency, rule, safety)
	}

	if n := h.count(t, `SELECT count(*) FROM intakes WHERE $1::uuid = ANY (signal_ids)`, gp.GetId()); n != 1 {
		t.Fatalf("intakes for the GP signal: %d, want 1", n)
	}
	if n := h.referral.Reads(gp.GetId()); n != 1 {
		t.Fatalf("GetSignal calls for the GP signal: %d, want 1", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.intake.create' AND route = 'SYSTEM' AND purpose = 'signal-intake'`); n != 3 {
		t.Fatalf("system access-log entries: %d, want 3", n)
	}
	h.referral.mu.Lock()
	purposes := h.referral.purposes
	h.referral.mu.Unlock()
	if len(purposes) == 0 || purposes[0] != "signal-intake" {
		t.Fatalf("GetSignal purposes: %v", purposes)
	}
}

// The signal events that wait for a worker are read from referral in one BatchGetSignals
// call per batch, each signal once, and each still becomes its intake.
func TestWaitingSignalsAreReadInOneCall(t *testing.T) {
	t.Parallel()
	h := start(t)
	subject := "wijkbrug.referral." + municipality + ".signal.received"
	signal := func(n int) *referralv1.Signal {
		s := &referralv1.Signal{
			Id: uuid.NewString(), SourceType: referralv1.SourceType_SOURCE_TYPE_GP, ResidentBsn: validBSN(100 + n),
			MunicipalityCode: municipality, DistrictCode: "WK036301", Description: fmt.Sprintf("signal %d", n),
			LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK},
		}
		h.referral.Add(s)
		return s
	}
	// The first signal's read waits until the others are delivered, so that they queue up.
	first := signal(0)
	g := &gate{signalID: first.GetId(), entered: make(chan struct{}), release: make(chan struct{})}
	h.referral.mu.Lock()
	h.referral.gate = g
	h.referral.mu.Unlock()
	h.env.Publish(t, "referral", subject, first.GetId(), &referralv1.SignalReceived{SignalId: first.GetId(), MunicipalityCode: municipality})
	select {
	case <-g.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the first signal was never read")
	}
	// Released well within the held call's deadline, however far the events below got.
	deadline := time.Now().Add(3 * time.Second)
	// Every tenth signal is announced twice (a second event, as a republished copy would be):
	// the copy finds the intake its first event registered, in the same batch or a later one.
	const waiting = 40
	ids := []string{first.GetId()}
	for n := 1; n <= waiting; n++ {
		s := signal(n)
		ids = append(ids, s.GetId())
		h.env.Publish(t, "referral", subject, s.GetId(), &referralv1.SignalReceived{SignalId: s.GetId(), MunicipalityCode: municipality})
		if n%10 == 0 {
			h.env.Publish(t, "referral", subject, s.GetId(), &referralv1.SignalReceived{SignalId: s.GetId(), MunicipalityCode: municipality})
		}
	}
	cons, err := h.env.JetStream().Consumer(svctest.Ctx(t), natsx.StreamName("referral"), "intake-signals")
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := cons.Info(svctest.Ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending > waiting/2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(g.release)

	deadline = time.Now().Add(30 * time.Second)
	for h.count(t, `SELECT count(*) FROM intakes WHERE signal_ids && $1::uuid[]`, ids) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d signals became intakes", h.count(t, `SELECT count(*) FROM intakes WHERE signal_ids && $1::uuid[]`, ids), len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.referral.mu.Lock()
	defer h.referral.mu.Unlock()
	largest := 0
	for _, n := range h.referral.batches {
		largest = max(largest, n)
	}
	if largest < 2 {
		t.Fatalf("BatchGetSignals calls with %v ids: no batch of signals was read in one call", h.referral.batches)
	}
	for _, id := range ids {
		if n := h.referral.reads[id]; n != 1 {
			t.Errorf("signal %s read %d times, want once", id, n)
		}
	}
	for _, p := range h.referral.purposes {
		if p != "signal-intake" {
			t.Fatalf("reads with purpose %q: %v", p, h.referral.purposes)
		}
	}
	// One intake per signal, each announced once (IntakeReceived), the copies included.
	if n := h.count(t, `SELECT count(*) FROM outbox WHERE event_type = 'wijkbrug.intake.v1.IntakeReceived'
		AND aggregate_id IN (SELECT id::text FROM intakes WHERE signal_ids && $1::uuid[])`, ids); n != len(ids) {
		t.Errorf("%d IntakeReceived events for %d signals", n, len(ids))
	}
}

func violations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	h := start(t)
	cases := []struct {
		field  string
		modify func(*intakev1.RegisterIntakeRequest)
	}{
		{"resident_bsn", func(r *intakev1.RegisterIntakeRequest) { r.ResidentBsn = "123456789" }},
		{"resident_bsn", func(r *intakev1.RegisterIntakeRequest) { r.ResidentBsn = "" }},
		{"municipality_code", func(r *intakev1.RegisterIntakeRequest) { r.MunicipalityCode = "0363" }},
		{"district_code", func(r *intakev1.RegisterIntakeRequest) { r.DistrictCode = "WK0363" }},
		{"channel", func(r *intakev1.RegisterIntakeRequest) { r.Channel = intakev1.Channel_CHANNEL_UNSPECIFIED }},
		{"channel", func(r *intakev1.RegisterIntakeRequest) { r.Channel = intakev1.Channel_CHANNEL_SIGNAL }},
		{"urgency", func(r *intakev1.RegisterIntakeRequest) { r.Urgency = intakev1.Urgency_URGENCY_UNSPECIFIED }},
		{"question", func(r *intakev1.RegisterIntakeRequest) { r.Question = strings.Repeat("é", 10001) }},
		{"life_domains[0]", func(r *intakev1.RegisterIntakeRequest) { // the element, not the list
			r.LifeDomains = []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_UNSPECIFIED}
		}},
		{"life_domains", func(r *intakev1.RegisterIntakeRequest) {
			r.LifeDomains = []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING}
		}},
		{"life_domains", func(r *intakev1.RegisterIntakeRequest) { // listed three times: one violation
			r.LifeDomains = []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING}
		}},
		{"idempotency_key", func(r *intakev1.RegisterIntakeRequest) { r.IdempotencyKey = "" }},
		{"district_code", func(r *intakev1.RegisterIntakeRequest) { r.DistrictCode = "WK034400" }}, // a district of GM0344
	}
	for _, tc := range cases {
		req := request(validBSN(10), intakev1.Urgency_URGENCY_NORMAL)
		tc.modify(req)
		_, err := h.client.RegisterIntake(svctest.Ctx(t), req)
		if status.Code(err) != codes.InvalidArgument || len(violations(err)) != 1 || violations(err)[0] != tc.field {
			t.Errorf("%s: want INVALID_ARGUMENT naming it, got %v (fields %v)", tc.field, err, violations(err))
		}
	}
	// Every violation at once, the missing idempotency key among them (not only once the
	// other fields are right).
	for name, call := range map[string]func() error{
		"RegisterIntake": func() error {
			_, err := h.client.RegisterIntake(svctest.Ctx(t), &intakev1.RegisterIntakeRequest{})
			return err
		},
		"RegisterResident": func() error {
			_, err := h.client.RegisterResident(svctest.Ctx(t), &intakev1.RegisterResidentRequest{Bsn: "123456789", MunicipalityCode: municipality})
			return err
		},
		"CreateHousehold": func() error {
			_, err := h.client.CreateHousehold(svctest.Ctx(t), &intakev1.CreateHouseholdRequest{MunicipalityCode: municipality})
			return err
		},
		"DecideTriage": func() error {
			_, err := h.client.DecideTriage(svctest.Ctx(t), &intakev1.DecideTriageRequest{IntakeId: uuid.NewString()})
			return err
		},
		"RemoveHouseholdMember": func() error {
			_, err := h.client.RemoveHouseholdMember(svctest.Ctx(t), &intakev1.RemoveHouseholdMemberRequest{HouseholdId: uuid.NewString(), ResidentId: uuid.NewString()})
			return err
		},
	} {
		err := call()
		if fields := violations(err); status.Code(err) != codes.InvalidArgument || len(fields) < 2 || !slices.Contains(fields, "idempotency_key") {
			t.Errorf("%s with nothing right: want every violation, idempotency_key among them, got %v (fields %v)", name, err, fields)
		}
	}
	_, err := h.client.GetIntake(svctest.Ctx(t), &intakev1.GetIntakeRequest{IntakeId: "not-a-uuid"})
	if status.Code(err) != codes.InvalidArgument || len(violations(err)) != 1 || violations(err)[0] != "intake_id" {
		t.Errorf("GetIntake: want INVALID_ARGUMENT on intake_id, got %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM intakes`); n != 0 {
		t.Fatalf("intakes stored from bad input: %d", n)
	}
}

func TestGetIntakeAccess(t *testing.T) {
	t.Parallel()
	h := start(t)
	resp, err := h.client.RegisterIntake(svctest.Ctx(t), request(validBSN(11), intakev1.Urgency_URGENCY_NORMAL))
	if err != nil {
		t.Fatalf("RegisterIntake: %v", err)
	}
	id := resp.GetIntake().GetId()
	get := &intakev1.GetIntakeRequest{IntakeId: id}

	other := h.clientAs(t, svctest.Org(identity.OrgTeam, "Wijkteam Zuid"))
	if _, err := other.GetIntake(svctest.Ctx(t), get); status.Code(err) != codes.NotFound {
		t.Fatalf("another team: want NOT_FOUND, got %v", err)
	}
	if _, err := other.GetIntake(svctest.Ctx(t), &intakev1.GetIntakeRequest{IntakeId: uuid.NewString()}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown id: want NOT_FOUND, got %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.intake.read' AND object_id = $1 AND outcome = 'DENIED' AND resident_pseudonym <> ''`, id); n != 1 {
		t.Fatalf("denied reads logged: %d, want 1", n)
	}
	gp := h.clientAs(t, svctest.Org(identity.OrgGP, "Huisartsenpraktijk De Linde"))
	if _, err := gp.GetIntake(svctest.Ctx(t), get); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a GP: want PERMISSION_DENIED, got %v", err)
	}
	if _, err := gp.RegisterIntake(svctest.Ctx(t), request(validBSN(12), intakev1.Urgency_URGENCY_NORMAL)); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a GP registering: want PERMISSION_DENIED, got %v", err)
	}

	own, err := h.client.GetIntake(svctest.Ctx(t), get)
	if err != nil || own.GetIntake().GetQuestion() == "" {
		t.Fatalf("own team: %v, question %q", err, own.GetIntake().GetQuestion())
	}
	svcResp, err := h.clientAs(t, svctest.ServiceOrg("casedirection")).GetIntake(svctest.Ctx(t), get)
	if err != nil || svcResp.GetIntake().GetId() != id || svcResp.GetIntake().GetQuestion() != "" {
		t.Fatalf("a service gets the intake without the question: %v %v", err, svcResp.GetIntake())
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.intake.read' AND object_id = $1 AND outcome = 'GRANTED'`, id); n != 2 {
		t.Fatalf("granted reads logged: %d, want 2", n)
	}
}

func TestIdempotentRegistration(t *testing.T) {
	t.Parallel()
	h := start(t)
	req := request(validBSN(13), intakev1.Urgency_URGENCY_CRISIS)
	first, err := h.client.RegisterIntake(svctest.Ctx(t), req)
	if err != nil {
		t.Fatalf("RegisterIntake: %v", err)
	}
	again, err := h.client.RegisterIntake(svctest.Ctx(t), req)
	if err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if !proto.Equal(first, again) {
		t.Fatalf("repeat answered differently:\n%v\n%v", first, again)
	}
	if n := h.count(t, `SELECT count(*) FROM intakes`); n != 1 {
		t.Fatalf("intakes: %d, want 1", n)
	}
	if n := len(h.cd.Requests()); n != 1 {
		t.Fatalf("OpenCase calls: %d, want 1", n)
	}
	changed := proto.Clone(req).(*intakev1.RegisterIntakeRequest)
	changed.Urgency = intakev1.Urgency_URGENCY_HIGH
	_, err = h.client.RegisterIntake(svctest.Ctx(t), changed)
	if status.Code(err) != codes.InvalidArgument || len(violations(err)) != 1 || violations(err)[0] != "idempotency_key" {
		t.Fatalf("same key, other request: want INVALID_ARGUMENT on idempotency_key, got %v", err)
	}
}
