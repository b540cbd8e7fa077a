package service_test

import (
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"github.com/wijkbrug/wijkbrug/services/referral/service"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const residentBSN = "111222333" // passes the 11-proef

var (
	gp        = svctest.Org(identity.OrgGP, "Huisartsenpraktijk Noord")
	otherGP   = svctest.Org(identity.OrgGP, "Huisartsenpraktijk Zuid")
	housing   = svctest.Org(identity.OrgHousingCorporation, "Woonstichting De Wijk")
	integrate = svctest.Org(identity.OrgIntegrator, "Dashboard BV")
)

func gpSignal(key string) *referralv1.SubmitSignalRequest {
	return &referralv1.SubmitSignalRequest{
		IdempotencyKey: key, SourceType: referralv1.SourceType_SOURCE_TYPE_GP, LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO,
		ResidentBsn: residentBSN, MunicipalityCode: "GM0363", DistrictCode: "WK036300",
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_MENTAL_HEALTH},
		Category:    "loneliness", Description: "Patient mentions debts and isolation",
	}
}

func TestSubmitAndReadOwnSignalOnly(t *testing.T) {
	t.Parallel()
	env := svctest.New(t)
	s := env.Start(t, service.Spec(), nil)
	events := env.Events(t, "referral", "wijkbrug.referral.>")
	client := referralv1.NewReferralServiceClient(env.Client(t, s.Addr, gp))
	ctx := svctest.Ctx(t)

	resp, err := client.SubmitSignal(ctx, gpSignal("k1"))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if resp.GetStatus() != referralv1.SignalStatus_SIGNAL_STATUS_RECEIVED {
		t.Fatalf("status %v", resp.GetStatus())
	}
	again, err := client.SubmitSignal(ctx, gpSignal("k1"))
	if err != nil || again.GetSignalId() != resp.GetSignalId() {
		t.Fatalf("repeat with the same key must return the first answer: %v %v", again, err)
	}
	changed := gpSignal("k1")
	changed.Category = "other"
	if _, err := client.SubmitSignal(ctx, changed); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("same key, different request: want INVALID_ARGUMENT, got %v", err)
	}
	var n int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM signals`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("want 1 signal row, got %d (%v)", n, err)
	}

	got, err := client.GetSignal(ctx, &referralv1.GetSignalRequest{SignalId: resp.GetSignalId()})
	if err != nil {
		t.Fatalf("get own signal: %v", err)
	}
	if got.GetSignal().GetResidentBsn() != residentBSN || got.GetSignal().GetSourceOin() != gp.OIN || got.GetSignal().GetReporter() != "professional-1" {
		t.Fatalf("unexpected signal %v", got.GetSignal())
	}
	other := referralv1.NewReferralServiceClient(env.Client(t, s.Addr, otherGP))
	if _, err := other.GetSignal(ctx, &referralv1.GetSignalRequest{SignalId: resp.GetSignalId()}); status.Code(err) != codes.NotFound {
		t.Fatalf("another GP must get NOT_FOUND, got %v", err)
	}
	integrator := referralv1.NewReferralServiceClient(env.Client(t, s.Addr, integrate))
	if _, err := integrator.GetSignal(ctx, &referralv1.GetSignalRequest{SignalId: resp.GetSignalId()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("an integrator must get PERMISSION_DENIED, got %v", err)
	}
	var denied int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND org_oin = $1`, otherGP.OIN).Scan(&denied); err != nil || denied != 1 {
		t.Fatalf("the refused read must be in the access log: %d %v", denied, err)
	}

	_, msg := events.WaitFor(t, func(e cloudevents.Envelope, m proto.Message) bool {
		_, ok := m.(*referralv1.SignalReceived)
		return ok && e.Subject == resp.GetSignalId()
	})
	for _, ev := range events.All() {
		raw := string(ev.Envelope.Data) + ev.Envelope.NATSSubject
		if strings.Contains(raw, residentBSN) || strings.Contains(raw, "debts") {
			t.Fatalf("event %s carries personal data", ev.Envelope.Type)
		}
	}
	if rcv := msg.(*referralv1.SignalReceived); rcv.GetConfidentiality() != commonv1.Confidentiality_CONFIDENTIALITY_SPECIAL || rcv.GetSourceOin() != gp.OIN {
		t.Fatalf("unexpected event %v", rcv)
	}
}

func TestSubmitRejectsBadInput(t *testing.T) {
	t.Parallel()
	env := svctest.New(t)
	s := env.Start(t, service.Spec(), nil)
	ctx := svctest.Ctx(t)
	gpClient := referralv1.NewReferralServiceClient(env.Client(t, s.Addr, gp))

	bad := gpSignal("k-bad")
	bad.ResidentBsn = "123456789" // fails the 11-proef
	bad.MunicipalityCode = "Amsterdam"
	_, err := gpClient.SubmitSignal(ctx, bad)
	fields := violations(t, err)
	if !fields["resident_bsn"] || !fields["municipality_code"] {
		t.Fatalf("want violations for resident_bsn and municipality_code, got %v", fields)
	}
	if strings.Contains(err.Error(), "123456789") {
		t.Fatal("the error must not repeat the BSN")
	}
	// A district lies in the signal's municipality (probe-A F4): WK059900 is Rotterdam's.
	elsewhere := gpSignal("k-elsewhere")
	elsewhere.DistrictCode = "WK059900"
	if f := violations(t, mustErr(gpClient.SubmitSignal(ctx, elsewhere))); !f["district_code"] || len(f) != 1 {
		t.Fatalf("a district of another municipality: %v", f)
	}
	noKey := gpSignal("")
	if f := violations(t, mustErr(gpClient.SubmitSignal(ctx, noKey))); !f["idempotency_key"] {
		t.Fatalf("missing key: %v", f)
	}
	housingClient := referralv1.NewReferralServiceClient(env.Client(t, s.Addr, housing))
	asGP := gpSignal("k-h")
	if f := violations(t, mustErr(housingClient.SubmitSignal(ctx, asGP))); !f["source_type"] {
		t.Fatalf("a housing corporation cannot report as a GP: %v", f)
	}
	wgs := gpSignal("k-w")
	wgs.SourceType = referralv1.SourceType_SOURCE_TYPE_HOUSING_CORPORATION
	wgs.LegalBasis = referralv1.LegalBasis_LEGAL_BASIS_WGS
	if f := violations(t, mustErr(housingClient.SubmitSignal(ctx, wgs))); !f["arrears"] {
		t.Fatalf("a Wgs signal needs arrears: %v", f)
	}
	wgs.Arrears = &referralv1.Arrears{AmountCents: 250000, Months: 3}
	if _, err := housingClient.SubmitSignal(ctx, wgs); err != nil {
		t.Fatalf("valid Wgs signal refused: %v", err)
	}
	if _, err := gpClient.GetSignal(ctx, &referralv1.GetSignalRequest{SignalId: "not-a-uuid"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad id: %v", err)
	}
}

func TestFeedbackReachesOnlyTheSource(t *testing.T) {
	t.Parallel()
	env := svctest.New(t)
	s := env.Start(t, service.Spec(), nil)
	ctx := svctest.Ctx(t)
	mine := env.Events(t, "referral", "wijkbrug.referral.feedback."+gp.OIN+".>")
	theirs := env.Events(t, "referral", "wijkbrug.referral.feedback."+otherGP.OIN+".>")
	statuses := env.Events(t, "referral", "wijkbrug.referral.*.signal.status_changed")
	client := referralv1.NewReferralServiceClient(env.Client(t, s.Addr, gp))
	resp, err := client.SubmitSignal(ctx, gpSignal("k-fb"))
	if err != nil {
		t.Fatal(err)
	}
	intakeID, caseID := "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01", "5d1c3e7a-2b4f-4e8a-9c6d-7e8f9a0b1c2d"
	env.Publish(t, "intake", "wijkbrug.intake.GM0363.intake.received", intakeID, &intakev1.IntakeReceived{IntakeId: intakeID, SignalIds: []string{resp.GetSignalId()}})
	id := env.Publish(t, "intake", "wijkbrug.intake.GM0363.intake.case_opened", intakeID,
		&intakev1.IntakeCaseOpened{IntakeId: intakeID, CaseId: caseID, SignalIds: []string{resp.GetSignalId()}})
	// A redelivered event must not feed back twice.
	env.PublishWithID(t, "intake", "wijkbrug.intake.GM0363.intake.case_opened", intakeID, id,
		&intakev1.IntakeCaseOpened{IntakeId: intakeID, CaseId: caseID, SignalIds: []string{resp.GetSignalId()}})

	_, msg := mine.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		fb, ok := m.(*referralv1.SignalFedBack)
		return ok && fb.GetFeedback() == referralv1.Feedback_FEEDBACK_TAKEN_INTO_CASE_DIRECTION
	})
	if fb := msg.(*referralv1.SignalFedBack); fb.GetStatus() != referralv1.SignalStatus_SIGNAL_STATUS_FED_BACK || fb.GetSignalId() != resp.GetSignalId() {
		t.Fatalf("unexpected feedback %v", fb)
	}
	got, err := client.GetSignal(ctx, &referralv1.GetSignalRequest{SignalId: resp.GetSignalId()})
	if err != nil || got.GetSignal().GetStatus() != referralv1.SignalStatus_SIGNAL_STATUS_FED_BACK || got.GetSignal().GetFedBackAt() == nil {
		t.Fatalf("status after feedback: %v %v", got, err)
	}
	var processed int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM processed_events WHERE event_id = $1`, id).Scan(&processed); err != nil || processed != 1 {
		t.Fatalf("the event must be recorded once: %d %v", processed, err)
	}
	var fedBack int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE event_type = 'wijkbrug.referral.v1.SignalFedBack' AND recipient = ''`).Scan(&fedBack); err != nil || fedBack != 2 {
		t.Fatalf("want 2 feedback events (intake registered, case direction), got %d %v", fedBack, err)
	}
	// Each also went to the GP's own feed (and to no one else's).
	var copies int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE event_type = 'wijkbrug.referral.v1.SignalFedBack' AND recipient = $1`, gp.OIN).Scan(&copies); err != nil || copies != 2 {
		t.Fatalf("want 2 feedback copies in the GP's feed, got %d %v", copies, err)
	}
	// The status changes name the signal's source, and went to the GP's feed as well.
	_, msg = statuses.WaitFor(t, func(_ cloudevents.Envelope, m proto.Message) bool {
		sc, ok := m.(*referralv1.SignalStatusChanged)
		return ok && sc.GetSignalId() == resp.GetSignalId() && sc.GetCaseId() == caseID
	})
	if sc := msg.(*referralv1.SignalStatusChanged); sc.GetSourceOin() != gp.OIN || sc.GetIntakeId() != intakeID {
		t.Fatalf("status change: want source %s and intake %s, got %v", gp.OIN, intakeID, sc)
	}
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE event_type = 'wijkbrug.referral.v1.SignalStatusChanged' AND recipient = $1`, gp.OIN).Scan(&copies); err != nil || copies != 2 {
		t.Fatalf("want 2 status changes in the GP's feed, got %d %v", copies, err)
	}
	var others int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE recipient NOT IN ('', $1)`, gp.OIN).Scan(&others); err != nil || others != 0 {
		t.Fatalf("%d feed copies went to another organisation (%v)", others, err)
	}
	if n := len(theirs.All()); n != 0 {
		t.Fatalf("another GP received %d feedback events", n)
	}
}

func mustErr[T any](_ T, err error) error { return err }

func violations(t *testing.T, err error) map[string]bool {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("want INVALID_ARGUMENT, got %v", err)
	}
	out := map[string]bool{}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out[v.GetField()] = true
			}
		}
	}
	return out
}
