package service_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the Dutch calendar day, also on hosts without zoneinfo

	"github.com/google/uuid"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The clarification conversation is a record of the intake: recorded (idempotently,
// access-logged) by the owning team while the intake is being clarified, returned by GetIntake
// with its summary to the team (not to a service, not in the change's answer), the summary
// stored encrypted; bad input names the field; another team's intake is NOT_FOUND.
func TestClarificationIsARecord(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	in := h.register(t, validBSN(40), intakev1.Urgency_URGENCY_NORMAL)
	h.start(t, in.GetId())
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(amsterdam).Format(time.DateOnly)
	summary := "Huurachterstand van drie maanden; mevrouw wil schuldhulp, zoon helpt met post " + uuid.NewString()
	req := &intakev1.RecordClarificationRequest{IdempotencyKey: "clar-1", IntakeId: in.GetId(), HeldOn: today,
		Participants: []*intakev1.ClarificationParticipant{
			{Role: intakev1.ClarificationParticipantRole_CLARIFICATION_PARTICIPANT_ROLE_RESIDENT},
			{Role: intakev1.ClarificationParticipantRole_CLARIFICATION_PARTICIPANT_ROLE_INFORMAL_CARER},
			{Role: intakev1.ClarificationParticipantRole_CLARIFICATION_PARTICIPANT_ROLE_PROFESSIONAL, ProfessionalId: "noord-7"},
		},
		Summary: summary, NextStep: intakev1.ClarificationNextStep_CLARIFICATION_NEXT_STEP_COMMUNITY_REFERRAL}
	rec, err := h.client.RecordClarification(ctx, req)
	if err != nil {
		t.Fatalf("RecordClarification: %v", err)
	}
	c := rec.GetClarification()
	if c.GetId() == "" || c.GetHeldOn() != today || len(c.GetParticipants()) != 3 || c.GetSummary() != "" || rec.GetIntake().GetQuestion() != "" ||
		c.GetNextStep() != intakev1.ClarificationNextStep_CLARIFICATION_NEXT_STEP_COMMUNITY_REFERRAL {
		t.Fatalf("answer (no summary, no question): %v", rec)
	}
	again, err := h.client.RecordClarification(ctx, req)
	if err != nil || again.GetClarification().GetId() != c.GetId() {
		t.Fatalf("a retry gets the first answer: %v %v", again, err)
	}
	if n := h.count(t, `SELECT count(*) FROM clarifications WHERE intake_id = $1`, in.GetId()); n != 1 {
		t.Fatalf("a retry must not record a second clarification: %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.intake.record_clarification' AND object_id = $1 AND outcome = 'GRANTED' AND resident_pseudonym <> ''`, in.GetId()); n != 1 {
		t.Fatalf("recording must be access-logged under the resident once, got %d", n)
	}
	assertNoPlaintext(t, h, []string{summary})

	got, err := h.client.GetIntake(ctx, &intakev1.GetIntakeRequest{IntakeId: in.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	cs := got.GetIntake().GetClarifications()
	if len(cs) != 1 || cs[0].GetSummary() != summary || cs[0].GetId() != c.GetId() || cs[0].GetParticipants()[2].GetProfessionalId() != "noord-7" ||
		cs[0].GetRecordedBy() == "" || cs[0].GetRecordedAt() == nil {
		t.Fatalf("GetIntake must return the clarification with its summary to the team: %v", cs)
	}
	svcView, err := h.clientAs(t, svctest.ServiceOrg("casedirection")).GetIntake(ctx, &intakev1.GetIntakeRequest{IntakeId: in.GetId()})
	if err != nil || len(svcView.GetIntake().GetClarifications()) != 0 {
		t.Fatalf("a service gets no clarification summaries: %v %v", svcView, err)
	}
	if l, err := h.client.ListIntakes(ctx, &intakev1.ListIntakesRequest{}); err != nil || len(l.GetIntakes()) == 0 || len(l.GetIntakes()[0].GetClarifications()) != 0 {
		t.Fatalf("lists carry no clarifications: %v %v", l, err)
	}

	// Another team's intake is not found; a GP may not record at all.
	zuid := h.clientAs(t, svctest.Org(identity.OrgTeam, "Wijkteam Zuid"))
	req.IdempotencyKey = "clar-zuid"
	if _, err := zuid.RecordClarification(ctx, req); status.Code(err) != codes.NotFound {
		t.Fatalf("another team: want NOT_FOUND, got %v", err)
	}
	gp := h.clientAs(t, svctest.Org(identity.OrgGP, "Huisartsenpraktijk De Linde"))
	if _, err := gp.RecordClarification(ctx, req); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a GP: want PERMISSION_DENIED, got %v", err)
	}

	// Bad input names the field.
	valid := func() *intakev1.RecordClarificationRequest {
		return &intakev1.RecordClarificationRequest{IdempotencyKey: uuid.NewString(), IntakeId: in.GetId(), HeldOn: today,
			Participants: []*intakev1.ClarificationParticipant{{Role: intakev1.ClarificationParticipantRole_CLARIFICATION_PARTICIPANT_ROLE_RESIDENT}},
			Summary:      "kort gesprek", NextStep: intakev1.ClarificationNextStep_CLARIFICATION_NEXT_STEP_ADVICE}
	}
	for _, tc := range []struct {
		field  string
		modify func(*intakev1.RecordClarificationRequest)
	}{
		{"intake_id", func(r *intakev1.RecordClarificationRequest) { r.IntakeId = "not-a-uuid" }},
		{"held_on", func(r *intakev1.RecordClarificationRequest) { r.HeldOn = "yesterday" }},
		{"held_on", func(r *intakev1.RecordClarificationRequest) {
			r.HeldOn = time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
		}},
		{"held_on", func(r *intakev1.RecordClarificationRequest) { r.HeldOn = "2020-01-01" }},
		{"summary", func(r *intakev1.RecordClarificationRequest) { r.Summary = "" }},
		{"summary", func(r *intakev1.RecordClarificationRequest) { r.Summary = strings.Repeat("é", 4001) }},
		{"next_step", func(r *intakev1.RecordClarificationRequest) {
			r.NextStep = intakev1.ClarificationNextStep_CLARIFICATION_NEXT_STEP_UNSPECIFIED
		}},
		{"participants", func(r *intakev1.RecordClarificationRequest) { r.Participants = nil }},
		// A participant is named by its index, as the proto's rules name elements.
		{"participants[0].role", func(r *intakev1.RecordClarificationRequest) {
			r.Participants = []*intakev1.ClarificationParticipant{{}}
		}},
		{"participants[0].professional_id", func(r *intakev1.RecordClarificationRequest) { r.Participants[0].ProfessionalId = "noord-7" }},
		{"participants[1].role", func(r *intakev1.RecordClarificationRequest) {
			r.Participants = append(r.Participants, &intakev1.ClarificationParticipant{})
		}},
		{"participants[1].professional_id", func(r *intakev1.RecordClarificationRequest) {
			r.Participants = append(r.Participants, &intakev1.ClarificationParticipant{
				Role: intakev1.ClarificationParticipantRole_CLARIFICATION_PARTICIPANT_ROLE_INFORMAL_CARER, ProfessionalId: "noord-7"})
		}},
	} {
		req := valid()
		tc.modify(req)
		_, err := h.client.RecordClarification(ctx, req)
		if status.Code(err) != codes.InvalidArgument || len(violations(err)) != 1 || violations(err)[0] != tc.field {
			t.Errorf("%s: want INVALID_ARGUMENT naming it, got %v (fields %v)", tc.field, err, violations(err))
		}
	}

	// Once triage is decided the intake is no longer being clarified.
	if _, err := h.client.DecideTriage(ctx, &intakev1.DecideTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: in.GetId(),
		Outcome: intakev1.TriageOutcome_TRIAGE_OUTCOME_ADVICE}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.RecordClarification(ctx, valid()); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("an ADVISED intake: want FAILED_PRECONDITION, got %v", err)
	}
}
