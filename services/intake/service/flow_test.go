package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/intake/service"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func (h *harness) register(t *testing.T, bsn string, urgency intakev1.Urgency, domains ...commonv1.LifeDomain) *intakev1.Intake {
	t.Helper()
	resp, err := h.client.RegisterIntake(svctest.Ctx(t), request(bsn, urgency, domains...))
	if err != nil {
		t.Fatalf("RegisterIntake: %v", err)
	}
	return resp.GetIntake()
}

func (h *harness) assess(t *testing.T, residentID, intakeID string, scores map[string]int32) *intakev1.Assessment {
	t.Helper()
	req := &intakev1.RecordAssessmentRequest{IdempotencyKey: uuid.NewString(), ResidentId: residentID, IntakeId: intakeID,
		InstrumentVersion: "ZRM-2017", Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_INTAKE}
	for _, d := range slices.Sorted(func(yield func(string) bool) {
		for d := range scores {
			if !yield(d) {
				return
			}
		}
	}) {
		req.Scores = append(req.Scores, &commonv1.DomainScore{LifeDomain: protoenum.FromCode[commonv1.LifeDomain](d), Score: scores[d]})
	}
	resp, err := h.client.RecordAssessment(svctest.Ctx(t), req)
	if err != nil {
		t.Fatalf("RecordAssessment: %v", err)
	}
	return resp.GetAssessment()
}

func (h *harness) start(t *testing.T, id string) *intakev1.Intake {
	t.Helper()
	resp, err := h.client.StartTriage(svctest.Ctx(t), &intakev1.StartTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: id})
	if err != nil {
		t.Fatalf("StartTriage: %v", err)
	}
	return resp.GetIntake()
}

func adminCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return grpcx.ActingUser(ctx, "beleid-1", "municipal_administrator", "triage-policy")
}

func TestPolicyChangeAffectsNewIntakesOnly(t *testing.T) {
	t.Parallel()
	h := start(t)
	rec := h.env.Events(t, "intake", "wijkbrug.intake.>")
	gemeente := svctest.Org(identity.OrgMunicipality, "Gemeente Amsterdam")
	if err := service.SeedDemo(context.Background(), h.svc.DSN, service.DemoMunicipality{OIN: gemeente.OIN, Municipality: municipality}); err != nil {
		t.Fatal(err)
	}
	admin := h.clientAs(t, gemeente)

	// Under the default policy two life domains decide nothing.
	before := h.register(t, validBSN(20), intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES)
	if before.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_RECEIVED || before.GetTriagePolicyVersion() != 0 {
		t.Fatalf("before: %v", before)
	}
	got, err := admin.GetTriagePolicy(adminCtx(t), &intakev1.GetTriagePolicyRequest{MunicipalityCode: municipality})
	if err != nil || !got.GetPolicy().GetIsDefault() || len(got.GetPolicy().GetRules()) != 5 || got.GetPolicy().GetRules()[2].GetName() != "three-or-more-domains" {
		t.Fatalf("default policy: %v %v", err, got)
	}

	// A COMPLEX_ONLY policy that opens case direction for two domains.
	replace := &intakev1.ReplaceTriagePolicyRequest{
		IdempotencyKey: uuid.NewString(), MunicipalityCode: municipality, Positioning: intakev1.Positioning_POSITIONING_COMPLEX_ONLY,
		ContactAttempts: 2, TriageDays: 10, ExpectedVersion: 0,
		Rules: []*intakev1.TriageRule{
			{Name: "from-veilig-thuis", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_SOURCE_TYPE,
				SourceType: referralv1.SourceType_SOURCE_TYPE_VEILIG_THUIS, Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION},
			{Name: "two-domains", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_LIFE_DOMAINS_AT_LEAST, MinCount: 2,
				Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CASE_DIRECTION},
		},
	}
	// Who may adopt it: a municipality administrator of this municipality only.
	if _, err := h.client.ReplaceTriagePolicy(adminCtx(t), replace); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a team: want PERMISSION_DENIED, got %v", err)
	}
	if _, err := admin.ReplaceTriagePolicy(svctest.Ctx(t), replace); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("another role: want PERMISSION_DENIED, got %v", err)
	}
	other := h.clientAs(t, svctest.Org(identity.OrgMunicipality, "Gemeente Utrecht"))
	if _, err := other.ReplaceTriagePolicy(adminCtx(t), replace); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("another municipality: want PERMISSION_DENIED, got %v", err)
	}
	bad := proto.Clone(replace).(*intakev1.ReplaceTriagePolicyRequest)
	bad.Rules = append(bad.Rules, &intakev1.TriageRule{Name: "custom", Condition: intakev1.TriageCondition_TRIAGE_CONDITION_ALWAYS,
		Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CUSTOM_PROVISION})
	bad.TriageDays = 0
	if _, err := admin.ReplaceTriagePolicy(adminCtx(t), bad); status.Code(err) != codes.InvalidArgument ||
		!slices.Equal(violations(err), []string{"triage_days", "rules[2].outcome"}) {
		t.Fatalf("invalid policy: want both violations, got %v %v", err, violations(err))
	}
	adopted, err := admin.ReplaceTriagePolicy(adminCtx(t), replace)
	if err != nil || adopted.GetPolicy().GetVersion() != 1 || adopted.GetPolicy().GetAdoptedBy() != "beleid-1" {
		t.Fatalf("ReplaceTriagePolicy: %v %v", err, adopted)
	}
	stale := proto.Clone(replace).(*intakev1.ReplaceTriagePolicyRequest)
	stale.IdempotencyKey = uuid.NewString()
	if _, err := admin.ReplaceTriagePolicy(adminCtx(t), stale); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("expected version 0 after version 1: want FAILED_PRECONDITION, got %v", err)
	}
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.TriagePolicyReplaced)
		return ok && e.GetVersion() == 1 && e.GetPositioning() == intakev1.Positioning_POSITIONING_COMPLEX_ONLY
	})

	// A new intake is triaged under version 1.
	after := h.register(t, validBSN(21), intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, commonv1.LifeDomain_LIFE_DOMAIN_FINANCES)
	if after.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED || after.GetTriageRule() != "two-domains" || after.GetTriagePolicyVersion() != 1 {
		t.Fatalf("after: %v", after)
	}
	if !after.GetTriageDue().AsTime().Equal(after.GetReceivedAt().AsTime().AddDate(0, 0, 10)) {
		t.Fatalf("triage term of version 1: %v → %v", after.GetReceivedAt().AsTime(), after.GetTriageDue().AsTime())
	}
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeTriaged)
		return ok && e.GetIntakeId() == after.GetId() && e.GetRule() == "two-domains" && e.GetPolicyVersion() == 1
	})

	// The earlier intake keeps version 0: applying its policy still decides nothing, and its
	// team may decide a custom provision (FIRST_ACCESS), which version 1 would forbid.
	h.start(t, before.GetId())
	_, err = h.client.DecideTriage(svctest.Ctx(t), &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: before.GetId(), ApplyPolicy: true})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "version 0") {
		t.Fatalf("apply policy to the earlier intake: want FAILED_PRECONDITION under version 0, got %v", err)
	}
	decided, err := h.client.DecideTriage(svctest.Ctx(t), &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: before.GetId(),
		Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CUSTOM_PROVISION})
	if err != nil || decided.GetIntake().GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_REFERRED ||
		decided.GetIntake().GetTriageRule() != "professional" || decided.GetIntake().GetTriagePolicyVersion() != 0 {
		t.Fatalf("professional decision on the earlier intake: %v %v", err, decided)
	}
	// Under version 1 (COMPLEX_ONLY) a custom provision is not the team's to decide.
	third := h.register(t, validBSN(22), intakev1.Urgency_URGENCY_NORMAL, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING)
	h.start(t, third.GetId())
	_, err = h.client.DecideTriage(svctest.Ctx(t), &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: third.GetId(),
		Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_CUSTOM_PROVISION})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("COMPLEX_ONLY custom provision: want FAILED_PRECONDITION, got %v", err)
	}

	v0, err := h.client.GetTriagePolicy(svctest.Ctx(t), &intakev1.GetTriagePolicyRequest{MunicipalityCode: municipality})
	if err != nil || v0.GetPolicy().GetVersion() != 1 || v0.GetPolicy().GetIsDefault() || len(v0.GetPolicy().GetRules()) != 2 ||
		v0.GetPolicy().GetRules()[0].GetSourceType() != referralv1.SourceType_SOURCE_TYPE_VEILIG_THUIS {
		t.Fatalf("policy in force: %v %v", err, v0)
	}
	if _, err := h.client.GetTriagePolicy(svctest.Ctx(t), &intakev1.GetTriagePolicyRequest{MunicipalityCode: municipality, Version: 9}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown version: want NOT_FOUND, got %v", err)
	}
}

func TestTriageStateMachine(t *testing.T) {
	t.Parallel()
	h := start(t)
	rec := h.env.Events(t, "intake", "wijkbrug.intake.>")
	ctx := svctest.Ctx(t)
	domains := []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_HOUSING}

	// Picked up, three unanswered calls under the default policy: NOT_REACHED.
	in := h.register(t, validBSN(30), intakev1.Urgency_URGENCY_NORMAL, domains...)
	started := h.start(t, in.GetId())
	if started.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_IN_TRIAGE || started.GetTriageProfessional() != "professional-1" {
		t.Fatalf("StartTriage: %v", started)
	}
	if _, err := h.client.StartTriage(ctx, &intakev1.StartTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: in.GetId()}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), "IN_TRIAGE → IN_TRIAGE") {
		t.Fatalf("StartTriage twice: want FAILED_PRECONDITION naming from and to, got %v", err)
	}
	var last *intakev1.Intake
	for i, reached := range []bool{false, true, false, false} {
		resp, err := h.client.RecordContactAttempt(ctx, &intakev1.RecordContactAttemptRequest{IdempotencyKey: uuid.NewString(),
			IntakeId: in.GetId(), Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Reached: reached})
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		last = resp.GetIntake()
	}
	if last.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_NOT_REACHED || last.GetFailedContactAttempts() != 3 {
		t.Fatalf("after three failed attempts: %v", last)
	}
	if n := h.count(t, `SELECT count(*) FROM contact_attempts WHERE intake_id = $1`, in.GetId()); n != 4 {
		t.Fatalf("contact attempts stored: %d", n)
	}
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeClosed)
		return ok && e.GetIntakeId() == in.GetId() && e.GetStatus() == intakev1.IntakeStatus_INTAKE_STATUS_NOT_REACHED
	})
	// Each attempt is announced (for outcome reporting: the first reached one is the first
	// contact), with whether it reached the resident and when — nothing about who or how.
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeContactAttempted)
		return ok && e.GetIntakeId() == in.GetId() && e.GetReached() && e.GetAt() != nil && e.GetMunicipalityCode() != ""
	})
	attempts := 0
	for _, r := range rec.All() {
		if e, ok := r.Message.(*intakev1.IntakeContactAttempted); ok && e.GetIntakeId() == in.GetId() {
			attempts++
		}
	}
	if attempts != 4 {
		t.Fatalf("contact attempts announced: %d, want 4", attempts)
	}

	// Withdrawn from triage; a second withdrawal is a forbidden transition.
	w := h.register(t, validBSN(31), intakev1.Urgency_URGENCY_NORMAL, domains...)
	if _, err := h.client.WithdrawIntake(ctx, &intakev1.WithdrawIntakeRequest{IdempotencyKey: uuid.NewString(), IntakeId: w.GetId()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("withdraw from RECEIVED: want FAILED_PRECONDITION, got %v", err)
	}
	h.start(t, w.GetId())
	wr, err := h.client.WithdrawIntake(ctx, &intakev1.WithdrawIntakeRequest{IdempotencyKey: uuid.NewString(), IntakeId: w.GetId()})
	if err != nil || wr.GetIntake().GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_WITHDRAWN {
		t.Fatalf("withdraw: %v %v", err, wr)
	}

	// Advice by the professional closes the intake; the decision names the rule.
	adv := h.register(t, validBSN(32), intakev1.Urgency_URGENCY_HIGH, domains...)
	h.start(t, adv.GetId())
	dr, err := h.client.DecideTriage(ctx, &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: adv.GetId(),
		Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_ADVICE})
	if err != nil || dr.GetIntake().GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_ADVISED || dr.GetIntake().GetTriageRule() != "professional" {
		t.Fatalf("advice: %v %v", err, dr)
	}
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeClosed)
		return ok && e.GetIntakeId() == adv.GetId() && e.GetOutcome() == intakev1.TriageOutcome_TRIAGE_OUTCOME_ADVICE
	})
	if _, err := h.client.DecideTriage(ctx, &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: adv.GetId(), ApplyPolicy: true}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("deciding an advised intake: want FAILED_PRECONDITION, got %v", err)
	}
	if _, err := h.client.DecideTriage(ctx, &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: adv.GetId(), ApplyPolicy: true,
		Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_ADVICE}); status.Code(err) != codes.InvalidArgument || violations(err)[0] != "outcome" {
		t.Fatalf("both outcome and apply_policy: want INVALID_ARGUMENT, got %v", err)
	}

	// An assessment with an acute domain makes the policy open case direction.
	acute := h.register(t, validBSN(33), intakev1.Urgency_URGENCY_NORMAL, domains...)
	h.start(t, acute.GetId())
	h.assess(t, acute.GetResidentId(), acute.GetId(), map[string]int32{"HOUSING": 1, "FINANCES": 4})
	ar, err := h.client.DecideTriage(ctx, &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: acute.GetId(), ApplyPolicy: true})
	if err != nil || ar.GetIntake().GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED || ar.GetIntake().GetTriageRule() != "any-domain-acute" || ar.GetIntake().GetCaseId() == "" {
		t.Fatalf("apply policy with an acute domain: %v %v", err, ar)
	}

	// Two intakes of one resident: the later one is merged into the earlier one.
	bsn := validBSN(34)
	first := h.register(t, bsn, intakev1.Urgency_URGENCY_NORMAL, domains...)
	dup := h.register(t, bsn, intakev1.Urgency_URGENCY_NORMAL, domains...)
	mr, err := h.client.MergeIntake(ctx, &intakev1.MergeIntakeRequest{IdempotencyKey: uuid.NewString(), IntakeId: dup.GetId(), IntoIntakeId: first.GetId()})
	if err != nil || mr.GetMerged().GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_MERGED || mr.GetMerged().GetMergedIntoIntakeId() != first.GetId() ||
		mr.GetInto().GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_RECEIVED {
		t.Fatalf("merge: %v %v", err, mr)
	}
	if _, err := h.client.MergeIntake(ctx, &intakev1.MergeIntakeRequest{IdempotencyKey: uuid.NewString(), IntakeId: first.GetId(), IntoIntakeId: adv.GetId()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("merge into a closed intake of another household: want FAILED_PRECONDITION, got %v", err)
	}
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.IntakeClosed)
		return ok && e.GetIntakeId() == dup.GetId() && e.GetStatus() == intakev1.IntakeStatus_INTAKE_STATUS_MERGED && e.GetMergedIntoIntakeId() == first.GetId()
	})

	// Another team: every intake id is NOT_FOUND, and the refusal is on record.
	other := h.clientAs(t, svctest.Org(identity.OrgTeam, "Wijkteam Zuid"))
	if _, err := other.StartTriage(ctx, &intakev1.StartTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: first.GetId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's StartTriage: want NOT_FOUND, got %v", err)
	}
	if _, err := other.MergeIntake(ctx, &intakev1.MergeIntakeRequest{IdempotencyKey: uuid.NewString(), IntakeId: dup.GetId(), IntoIntakeId: first.GetId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's MergeIntake: want NOT_FOUND, got %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE object_id = $1 AND outcome = 'DENIED' AND action = 'intake.intake.start_triage'`, first.GetId()); n != 1 {
		t.Fatalf("denied StartTriage logged: %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM intakes WHERE status = 'IN_TRIAGE' AND id = $1`, first.GetId()); n != 0 {
		t.Fatal("another team changed the intake")
	}

	// The queue: the team's open intakes only, most urgent first.
	crisisless := h.register(t, validBSN(35), intakev1.Urgency_URGENCY_HIGH, domains...)
	q, err := h.client.ListTeamQueue(ctx, &intakev1.ListTeamQueueRequest{})
	if err != nil {
		t.Fatalf("ListTeamQueue: %v", err)
	}
	var ids []string
	for _, e := range q.GetEntries() {
		ids = append(ids, e.GetIntake().GetId())
		if e.GetOverdue() || e.GetIntake().GetQuestion() != "" {
			t.Fatalf("queue entry: %v", e)
		}
	}
	if !slices.Equal(ids, []string{crisisless.GetId(), first.GetId()}) {
		t.Fatalf("queue %v, want the HIGH intake, then the NORMAL one", ids)
	}
	if q, err := other.ListTeamQueue(ctx, &intakev1.ListTeamQueueRequest{}); err != nil || len(q.GetEntries()) != 0 {
		t.Fatalf("another team's queue: %v %v", err, q)
	}
	// A forged token whose rank does not fit the database's int is the caller's mistake,
	// not an INTERNAL from the driver's encoder.
	for _, rank := range []string{"2147483648", "-1", "9223372036854775808"} {
		_, err := h.client.ListTeamQueue(ctx, &intakev1.ListTeamQueueRequest{PageToken: paging.Token("intake.queue", rank, "2026-01-01T00:00:00Z", uuid.NewString())})
		if st := status.Convert(err); st.Code() != codes.InvalidArgument {
			t.Fatalf("rank %s in a forged token: want INVALID_ARGUMENT, got %v", rank, err)
		}
	}
}

func TestAssessmentsAndResidents(t *testing.T) {
	t.Parallel()
	h := start(t)
	rec := h.env.Events(t, "intake", "wijkbrug.intake.>")
	ctx := svctest.Ctx(t)
	bsn := validBSN(40)
	first, err := h.client.RegisterResident(ctx, &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(), Bsn: bsn, MunicipalityCode: municipality})
	if err != nil || !first.GetCreated() || first.GetResident().GetHouseholdId() == "" {
		t.Fatalf("RegisterResident: %v %v", err, first)
	}
	again, err := h.client.RegisterResident(ctx, &intakev1.RegisterResidentRequest{IdempotencyKey: uuid.NewString(), Bsn: bsn, MunicipalityCode: municipality})
	if err != nil || again.GetCreated() || again.GetResident().GetId() != first.GetResident().GetId() ||
		again.GetResident().GetHouseholdId() != first.GetResident().GetHouseholdId() {
		t.Fatalf("RegisterResident again: %v %v", err, again)
	}
	resident := first.GetResident().GetId()

	a1 := h.assess(t, resident, "", map[string]int32{"FINANCES": 1, "HOUSING": 3, "JUSTICE": 99})
	a2 := h.assess(t, resident, "", map[string]int32{"FINANCES": 3, "HOUSING": 2, "JUSTICE": 4})
	rec.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*intakev1.AssessmentRecorded)
		return ok && e.GetAssessmentId() == a2.GetId() && e.GetResidentId() == resident && e.GetConfidentiality() == commonv1.Confidentiality_CONFIDENTIALITY_SPECIAL
	})
	list, err := h.client.ListAssessments(ctx, &intakev1.ListAssessmentsRequest{ResidentId: resident})
	if err != nil || len(list.GetAssessments()) != 2 || list.GetAssessments()[0].GetId() != a2.GetId() {
		t.Fatalf("ListAssessments: %v %v", err, list)
	}
	cmp, err := h.client.CompareAssessments(ctx, &intakev1.CompareAssessmentsRequest{FromAssessmentId: a1.GetId(), ToAssessmentId: a2.GetId()})
	if err != nil {
		t.Fatalf("CompareAssessments: %v", err)
	}
	changes := map[string]commonv1.ScoreChange{}
	for _, c := range cmp.GetChanges() {
		changes[protoenum.Code(c.GetLifeDomain())] = c.GetChange()
	}
	if changes["FINANCES"] != commonv1.ScoreChange_SCORE_CHANGE_IMPROVED || changes["HOUSING"] != commonv1.ScoreChange_SCORE_CHANGE_WORSENED ||
		changes["JUSTICE"] != commonv1.ScoreChange_SCORE_CHANGE_NOT_COMPARABLE || len(changes) != 3 {
		t.Fatalf("changes: %v", cmp.GetChanges())
	}
	_, err = h.client.RecordAssessment(ctx, &intakev1.RecordAssessmentRequest{IdempotencyKey: uuid.NewString(), ResidentId: resident,
		InstrumentVersion: "ZRM-2017", Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_ADL, Score: 6}}})
	if status.Code(err) != codes.InvalidArgument || !slices.Equal(violations(err), []string{"context", "scores[0].life_domain", "scores[0].score"}) {
		t.Fatalf("bad assessment: want all violations, got %v %v", err, violations(err))
	}

	// Another team: NOT_FOUND for the resident, the BSN and the assessments, and logged.
	other := h.clientAs(t, svctest.Org(identity.OrgTeam, "Wijkteam Zuid"))
	if _, err := other.FindResident(ctx, &intakev1.FindResidentRequest{Bsn: bsn}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's FindResident: want NOT_FOUND, got %v", err)
	}
	if _, err := other.ListAssessments(ctx, &intakev1.ListAssessmentsRequest{ResidentId: resident}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's ListAssessments: want NOT_FOUND, got %v", err)
	}
	if _, err := other.CompareAssessments(ctx, &intakev1.CompareAssessmentsRequest{FromAssessmentId: a1.GetId(), ToAssessmentId: a2.GetId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's CompareAssessments: want NOT_FOUND, got %v", err)
	}
	if _, err := other.RecordAssessment(ctx, &intakev1.RecordAssessmentRequest{IdempotencyKey: uuid.NewString(), ResidentId: resident,
		InstrumentVersion: "ZRM-2017", Context: intakev1.AssessmentContext_ASSESSMENT_CONTEXT_INTAKE,
		Scores: []*commonv1.DomainScore{{LifeDomain: commonv1.LifeDomain_LIFE_DOMAIN_HOUSING, Score: 2}}}); status.Code(err) != codes.NotFound {
		t.Fatalf("another team's RecordAssessment: want NOT_FOUND, got %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND org_oin = $1`, svctest.Org(identity.OrgTeam, "Wijkteam Zuid").OIN); n != 4 {
		t.Fatalf("denied accesses logged: %d, want 4", n)
	}

	// A duplicate found later (here: a second BSN for the same person) is merged: its
	// intake and assessment move over and its BSN finds the kept resident.
	dupBSN := validBSN(41)
	dupIntake := h.register(t, dupBSN, intakev1.Urgency_URGENCY_NORMAL)
	h.assess(t, dupIntake.GetResidentId(), dupIntake.GetId(), map[string]int32{"HOUSING": 4})
	merged, err := h.client.MergeResidents(ctx, &intakev1.MergeResidentsRequest{IdempotencyKey: uuid.NewString(),
		KeepResidentId: resident, DuplicateResidentId: dupIntake.GetResidentId()})
	if err != nil || merged.GetResident().GetId() != resident {
		t.Fatalf("MergeResidents: %v %v", err, merged)
	}
	found, err := h.client.FindResident(ctx, &intakev1.FindResidentRequest{Bsn: dupBSN})
	if err != nil || found.GetResident().GetId() != resident {
		t.Fatalf("the duplicate's BSN must find the kept resident: %v %v", err, found)
	}
	moved, err := h.client.GetIntake(ctx, &intakev1.GetIntakeRequest{IntakeId: dupIntake.GetId()})
	if err != nil || moved.GetIntake().GetResidentId() != resident || moved.GetIntake().GetHouseholdId() != first.GetResident().GetHouseholdId() {
		t.Fatalf("the duplicate's intake: %v %v", err, moved)
	}
	if list, err := h.client.ListAssessments(ctx, &intakev1.ListAssessmentsRequest{ResidentId: resident}); err != nil || len(list.GetAssessments()) != 3 {
		t.Fatalf("assessments after the merge: %v %d", err, len(list.GetAssessments()))
	}
	// Paged: two pages of newest first, the same three; bad paging is INVALID_ARGUMENT naming the field.
	p1, err := h.client.ListAssessments(ctx, &intakev1.ListAssessmentsRequest{ResidentId: resident, PageSize: 2})
	if err != nil || len(p1.GetAssessments()) != 2 || p1.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", err, p1)
	}
	p2, err := h.client.ListAssessments(ctx, &intakev1.ListAssessmentsRequest{ResidentId: resident, PageSize: 2, PageToken: p1.GetNextPageToken()})
	if err != nil || len(p2.GetAssessments()) != 1 || p2.GetNextPageToken() != "" ||
		p2.GetAssessments()[0].GetAssessedAt().AsTime().After(p1.GetAssessments()[1].GetAssessedAt().AsTime()) {
		t.Fatalf("second page: %v %v", err, p2)
	}
	for name, bad := range map[string]struct {
		req   *intakev1.ListAssessmentsRequest
		field string
	}{
		"negative size": {&intakev1.ListAssessmentsRequest{ResidentId: resident, PageSize: -1}, "page_size"},
		"oversized":     {&intakev1.ListAssessmentsRequest{ResidentId: resident, PageSize: 10000}, "page_size"},
		"garbage token": {&intakev1.ListAssessmentsRequest{ResidentId: resident, PageToken: "garbage"}, "page_token"},
		"other filter":  {&intakev1.ListAssessmentsRequest{HouseholdId: first.GetResident().GetHouseholdId(), PageToken: p1.GetNextPageToken()}, "page_token"},
		"other list":    {&intakev1.ListAssessmentsRequest{ResidentId: resident, PageToken: paging.Token("intake.queue", "1", "2026-01-01T00:00:00Z", uuid.NewString())}, "page_token"},
	} {
		_, err := h.client.ListAssessments(ctx, bad.req)
		if status.Code(err) != codes.InvalidArgument || !slices.Contains(violations(err), bad.field) {
			t.Errorf("%s: want INVALID_ARGUMENT on %s, got %v", name, bad.field, err)
		}
	}
	if _, err := h.client.MergeResidents(ctx, &intakev1.MergeResidentsRequest{IdempotencyKey: uuid.NewString(),
		KeepResidentId: resident, DuplicateResidentId: dupIntake.GetResidentId()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("merging twice: want FAILED_PRECONDITION, got %v", err)
	}
	// A new intake with the duplicate's BSN joins the kept resident.
	later := h.register(t, dupBSN, intakev1.Urgency_URGENCY_NORMAL)
	if later.GetResidentId() != resident {
		t.Fatalf("intake for the duplicate's BSN: resident %s, want %s", later.GetResidentId(), resident)
	}
	if n := h.count(t, `SELECT count(*) FROM residents`); n != 2 {
		t.Fatalf("residents: %d", n)
	}
}

// A new resident (and the household made for them) has no ZRM assessment, so registering
// their intake does not look for one; an intake of a known resident is triaged with their
// latest assessment. Counted by PostgreSQL itself: the scans of the assessments table.
func TestNewResidentsIntakeLooksUpNoAssessment(t *testing.T) {
	t.Parallel()
	h := start(t)
	// The statistics of a table as the service's sessions have reported them so far. A
	// session reports after its transaction (within about a second when it goes idle), every
	// table it touched at once, so the intakes it inserted mark that the report is in.
	type counts struct{ assessmentScans, memberScans, intakesInserted int64 }
	stats := func() counts {
		t.Helper()
		var c counts
		err := h.svc.Pool.QueryRow(context.Background(), `SELECT
			(SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'assessments'),
			(SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'household_members'),
			(SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'intakes')`).Scan(&c.assessmentScans, &c.memberScans, &c.intakesInserted)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// register registers an intake and returns it with the scans of assessments and of
	// household members it caused.
	register := func(bsn string, urgency intakev1.Urgency, domains ...commonv1.LifeDomain) (*intakev1.Intake, counts) {
		t.Helper()
		c0 := stats()
		in := h.register(t, bsn, urgency, domains...)
		deadline := time.Now().Add(20 * time.Second)
		for {
			c := stats()
			if c.intakesInserted > c0.intakesInserted {
				return in, counts{assessmentScans: c.assessmentScans - c0.assessmentScans, memberScans: c.memberScans - c0.memberScans}
			}
			if time.Now().After(deadline) {
				t.Fatal("the intake's insert did not show in pg_stat_user_tables within 20 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	domains := []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_HOUSING}

	first, scans := register(validBSN(40), intakev1.Urgency_URGENCY_NORMAL, domains...)
	if scans.assessmentScans != 0 {
		t.Fatalf("registering a new resident's intake scanned assessments %d times, want 0", scans.assessmentScans)
	}
	if first.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_RECEIVED {
		t.Fatalf("new resident's intake: %v", first)
	}
	// The same resident again, now with an acute domain on record: the policy's rule
	// any-domain-acute opens case direction on receipt, which needs the assessment.
	h.assess(t, first.GetResidentId(), first.GetId(), map[string]int32{"HOUSING": 1, "FINANCES": 4})
	second, scans := register(validBSN(40), intakev1.Urgency_URGENCY_NORMAL, domains...)
	if scans.assessmentScans == 0 || scans.memberScans == 0 {
		t.Fatalf("a known resident's case was opened without looking up their assessments and household (%+v)", scans)
	}
	if second.GetResidentId() != first.GetResidentId() || second.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED ||
		second.GetTriageRule() != "any-domain-acute" {
		t.Fatalf("known resident with an acute domain: want CASE_OPENED by any-domain-acute, got %v", second)
	}
	if req := h.cd.Requests()[len(h.cd.Requests())-1]; req.GetBaselineAssessmentId() == "" {
		t.Fatalf("the known resident's case starts from no assessment: %v", req)
	}
	// A crisis about someone new opens a case at once: the household made for them in the
	// same transaction has them as its only member and no assessment, so nothing is looked up.
	crisis, scans := register(validBSN(41), intakev1.Urgency_URGENCY_CRISIS, domains...)
	if scans.assessmentScans != 0 || scans.memberScans != 0 {
		t.Fatalf("a new resident's crisis scanned assessments %d and household members %d times, want 0 and 0",
			scans.assessmentScans, scans.memberScans)
	}
	if crisis.GetStatus() != intakev1.IntakeStatus_INTAKE_STATUS_CASE_OPENED {
		t.Fatalf("new resident's crisis: want CASE_OPENED, got %v", crisis)
	}
	var pseudonym string
	if err := h.svc.Pool.QueryRow(context.Background(), `SELECT pseudonym FROM residents WHERE id = $1`, crisis.GetResidentId()).Scan(&pseudonym); err != nil {
		t.Fatal(err)
	}
	req := h.cd.Requests()[len(h.cd.Requests())-1]
	if req.GetIntakeId() != crisis.GetId() || req.GetBaselineAssessmentId() != "" || len(req.GetResidents()) != 1 ||
		req.GetResidents()[0].GetResidentId() != crisis.GetResidentId() || req.GetResidents()[0].GetPseudonym() != pseudonym {
		t.Fatalf("case requested for a new resident's crisis: %v (intake %v, pseudonym %s)", req, crisis, pseudonym)
	}
}
