package service_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

var otherHousing = svctest.Org(identity.OrgHousingCorporation, "Woningbouw Elders")

func arrearsSignal(key string) *referralv1.SubmitSignalRequest {
	return &referralv1.SubmitSignalRequest{IdempotencyKey: key, SourceType: referralv1.SourceType_SOURCE_TYPE_HOUSING_CORPORATION,
		LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WGS, ResidentBsn: residentBSN, MunicipalityCode: "GM0363", DistrictCode: "WK036300",
		LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES, commonv1.LifeDomain_LIFE_DOMAIN_HOUSING},
		Category:    "rent arrears", Arrears: &referralv1.Arrears{AmountCents: 245000, Months: 3}}
}

func feedbackIs(id string, f referralv1.Feedback) func(cloudevents.Envelope, proto.Message) bool {
	return func(_ cloudevents.Envelope, m proto.Message) bool {
		e, ok := m.(*referralv1.SignalFedBack)
		return ok && e.GetSignalId() == id && e.GetFeedback() == f
	}
}

// TestHousingArrearsSignalFeedback follows a Wgs arrears signal from a housing corporation
// through intake (events published as intake would) into case direction and to the case's
// closing: the corporation gets each piece of feedback on its own subject, another partner
// gets nothing.
func TestHousingArrearsSignalFeedback(t *testing.T) {
	t.Parallel()
	h := start(t)
	mine := h.env.Events(t, "referral", "wijkbrug.referral.feedback."+housing.OIN+".>")
	theirs := h.env.Events(t, "referral", "wijkbrug.referral.feedback."+otherHousing.OIN+".>")
	hc := h.client(t, housing)
	sent, err := hc.SubmitSignal(h.ctx, arrearsSignal(h.key()))
	if err != nil {
		t.Fatal(err)
	}
	id := sent.GetSignalId()
	intakeID, caseID := uuid.NewString(), uuid.NewString()
	h.env.Publish(t, "intake", "wijkbrug.intake.GM0363.intake.received", intakeID, &intakev1.IntakeReceived{IntakeId: intakeID, SignalIds: []string{id}, MunicipalityCode: "GM0363"})
	mine.WaitFor(t, feedbackIs(id, referralv1.Feedback_FEEDBACK_INTAKE_REGISTERED))
	h.env.Publish(t, "intake", "wijkbrug.intake.GM0363.intake.case_opened", intakeID, &intakev1.IntakeCaseOpened{IntakeId: intakeID, CaseId: caseID, SignalIds: []string{id}})
	mine.WaitFor(t, feedbackIs(id, referralv1.Feedback_FEEDBACK_TAKEN_INTO_CASE_DIRECTION))
	h.env.Publish(t, "casedirection", "wijkbrug.casedirection.GM0363.case.closed", caseID, &casedirectionv1.CaseClosed{CaseId: caseID, IntakeId: intakeID,
		Status: casedirectionv1.CaseStatus_CASE_STATUS_CLOSED, Result: commonv1.CaseResult_CASE_RESULT_GOALS_REACHED, MunicipalityCode: "GM0363"})
	_, msg := mine.WaitFor(t, feedbackIs(id, referralv1.Feedback_FEEDBACK_CASE_CLOSED))
	if fb := msg.(*referralv1.SignalFedBack); fb.GetStatus() != referralv1.SignalStatus_SIGNAL_STATUS_FED_BACK || fb.GetSourceOin() != housing.OIN {
		t.Fatalf("feedback %v", fb)
	}
	got, err := hc.GetSignal(h.ctx, &referralv1.GetSignalRequest{SignalId: id})
	if err != nil || got.GetSignal().GetFeedback() != referralv1.Feedback_FEEDBACK_CASE_CLOSED || got.GetSignal().GetArrears().GetMonths() != 3 {
		t.Fatalf("signal: %v %v", got, err)
	}
	if c := got.GetSignal().GetArrears().GetCreditor(); c.GetName() != housing.Name || c.GetOin() != housing.OIN {
		t.Fatalf("the creditor of a Wgs signal defaults to the reporting corporation: %v", c)
	}
	// A creditor named with its own reference for the debt: shown to the source, stored encrypted.
	named := arrearsSignal(h.key())
	named.Arrears.Creditor = &referralv1.Creditor{Name: "Woonstichting De Brug", Oin: housing.OIN, Reference: "huurcontract 4711-A"}
	sentNamed, err := hc.SubmitSignal(h.ctx, named)
	if err != nil {
		t.Fatal(err)
	}
	gotNamed, err := hc.GetSignal(h.ctx, &referralv1.GetSignalRequest{SignalId: sentNamed.GetSignalId()})
	if err != nil || !proto.Equal(gotNamed.GetSignal().GetArrears().GetCreditor(), named.Arrears.Creditor) {
		t.Fatalf("named creditor: %v %v", err, gotNamed)
	}
	if n := h.count(t, `SELECT count(*) FROM signals WHERE id = $1 AND creditor_reference_enc IS NOT NULL
		AND position(convert_to('4711', 'UTF8') in creditor_reference_enc) = 0`, sentNamed.GetSignalId()); n != 1 {
		t.Fatalf("the creditor's reference must be stored encrypted")
	}
	bad := arrearsSignal(h.key())
	bad.Arrears.Creditor = &referralv1.Creditor{Oin: "123"}
	if f := violations(t, mustErr(hc.SubmitSignal(h.ctx, bad))); !f["arrears.creditor.oin"] {
		t.Fatalf("a bad creditor OIN: %v", f)
	}
	// The category is shared with the region's themes in clear text: no number of the
	// resident's in it.
	numbered := arrearsSignal(h.key())
	numbered.Category = "huurachterstand 111222333"
	if f := violations(t, mustErr(hc.SubmitSignal(h.ctx, numbered))); !f["category"] {
		t.Fatalf("a category with a number: %v", f)
	}
	if n := len(theirs.All()); n != 0 {
		t.Fatalf("another housing corporation received %d feedback events", n)
	}
	for _, e := range mine.All() {
		if e.Envelope.NATSSubject != "wijkbrug.referral.feedback."+housing.OIN+".signal.fed_back" {
			t.Fatalf("feedback on %s", e.Envelope.NATSSubject)
		}
	}
}

func TestIntakeClosedFeedsBackAndListMySignals(t *testing.T) {
	t.Parallel()
	h := start(t)
	mine := h.env.Events(t, "referral", "wijkbrug.referral.feedback."+housing.OIN+".>")
	hc, oc := h.client(t, housing), h.client(t, otherHousing)
	var ids []string
	for range 3 {
		r, err := hc.SubmitSignal(h.ctx, arrearsSignal(h.key()))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.GetSignalId())
	}
	if _, err := oc.SubmitSignal(h.ctx, arrearsSignal(h.key())); err != nil {
		t.Fatal(err)
	}
	advised, notReached := uuid.NewString(), uuid.NewString()
	h.env.Publish(t, "intake", "wijkbrug.intake.GM0363.intake.closed", advised, &intakev1.IntakeClosed{IntakeId: advised,
		Status: intakev1.IntakeStatus_INTAKE_STATUS_ADVISED, SignalIds: []string{ids[0]}, MunicipalityCode: "GM0363"})
	h.env.Publish(t, "intake", "wijkbrug.intake.GM0363.intake.closed", notReached, &intakev1.IntakeClosed{IntakeId: notReached,
		Status: intakev1.IntakeStatus_INTAKE_STATUS_NOT_REACHED, SignalIds: []string{ids[1]}, MunicipalityCode: "GM0363"})
	mine.WaitFor(t, feedbackIs(ids[0], referralv1.Feedback_FEEDBACK_ADVISED))
	mine.WaitFor(t, feedbackIs(ids[1], referralv1.Feedback_FEEDBACK_NOT_TAKEN_UP))

	list, err := hc.ListMySignals(h.ctx, &referralv1.ListMySignalsRequest{})
	if err != nil || len(list.GetSignals()) != 3 {
		t.Fatalf("list: %v %v", list, err)
	}
	for _, s := range list.GetSignals() {
		if s.GetSourceOin() != housing.OIN {
			t.Fatalf("listed another source's signal")
		}
	}
	fedBack, err := hc.ListMySignals(h.ctx, &referralv1.ListMySignalsRequest{Status: referralv1.SignalStatus_SIGNAL_STATUS_FED_BACK})
	if err != nil || len(fedBack.GetSignals()) != 2 {
		t.Fatalf("fed back: %v %v", fedBack, err)
	}
	p1, err := hc.ListMySignals(h.ctx, &referralv1.ListMySignalsRequest{PageSize: 2})
	if err != nil || len(p1.GetSignals()) != 2 || p1.GetNextPageToken() == "" {
		t.Fatalf("page 1: %v %v", p1, err)
	}
	p2, err := hc.ListMySignals(h.ctx, &referralv1.ListMySignalsRequest{PageSize: 2, PageToken: p1.GetNextPageToken()})
	if err != nil || len(p2.GetSignals()) != 1 || p2.GetNextPageToken() != "" {
		t.Fatalf("page 2: %v %v", p2, err)
	}
	if f := violations(t, mustErr(hc.ListMySignals(h.ctx, &referralv1.ListMySignalsRequest{PageToken: "garbage"}))); !f["page_token"] {
		t.Fatalf("bad token: %v", f)
	}
	other, err := oc.ListMySignals(h.ctx, &referralv1.ListMySignalsRequest{})
	if err != nil || len(other.GetSignals()) != 1 {
		t.Fatalf("other corporation: %v %v", other, err)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.signal.list' AND org_oin = $1`, housing.OIN); n != 3+2+2+1 {
		t.Fatalf("every listed signal is access-logged: %d", n)
	}
}

// BatchGetSignals gives a Wijkbrug service several signals in one call, in the order asked,
// and logs each read as GetSignal does; an unknown id fails the whole call, partners are
// refused, and malformed lists name the field.
func TestBatchGetSignals(t *testing.T) {
	t.Parallel()
	h := start(t)
	gc, svc := h.client(t, gp), h.client(t, svcOrg)
	var ids []string
	for range 3 {
		sent, err := gc.SubmitSignal(h.ctx, gpSignal(h.key()))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sent.GetSignalId())
	}
	asked := []string{ids[2], ids[0], ids[1]}
	got, err := svc.BatchGetSignals(h.ctx, &referralv1.BatchGetSignalsRequest{SignalIds: asked})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GetSignals()) != len(asked) {
		t.Fatalf("%d signals for %d ids", len(got.GetSignals()), len(asked))
	}
	for i, s := range got.GetSignals() {
		if s.GetId() != asked[i] || s.GetResidentBsn() != residentBSN || s.GetDescription() != "Patient mentions debts and isolation" {
			t.Fatalf("signal %d: %v", i, s)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.signal.read' AND route = 'SERVICE'
		AND outcome = 'GRANTED' AND org_oin = $1 AND resident_pseudonym <> '' AND object_id = ANY($2)`, svcOrg.OIN, ids); n != len(ids) {
		t.Fatalf("%d access-log entries for the batch read, want one per signal (%d)", n, len(ids))
	}

	before := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.signal.read'`)
	unknown := uuid.NewString()
	_, err = svc.BatchGetSignals(h.ctx, &referralv1.BatchGetSignalsRequest{SignalIds: []string{ids[0], unknown}})
	named := ""
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.ResourceInfo); ok {
			named = ri.GetResourceName()
		}
	}
	if status.Code(err) != codes.NotFound || named != unknown {
		t.Fatalf("an unknown id: want NOT_FOUND naming it (ResourceInfo), got %v naming %q", err, named)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.signal.read'`); n != before {
		t.Fatalf("a failed batch read logged %d reads: nothing was shown", n-before)
	}
	if _, err := gc.BatchGetSignals(h.ctx, &referralv1.BatchGetSignalsRequest{SignalIds: ids}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("the signals' own source: want PERMISSION_DENIED (services only), got %v", err)
	}
	tooMany := make([]string, 101)
	for i := range tooMany {
		tooMany[i] = uuid.NewString()
	}
	for name, bad := range map[string][]string{
		"empty": nil, "not a uuid": {"signal-1"}, "twice": {ids[0], ids[0]}, "more than 100": tooMany,
	} {
		_, err := svc.BatchGetSignals(h.ctx, &referralv1.BatchGetSignalsRequest{SignalIds: bad})
		if !violations(t, err)["signal_ids"] && !violations(t, err)["signal_ids[0]"] {
			t.Errorf("%s: want a violation of signal_ids, got %v", name, err)
		}
	}
}

// TestIdempotencyKeyAsMetadata: a gRPC client may send its key as idempotency-key metadata,
// as a REST client sends the Idempotency-Key header: it is the request's key (a retry with it
// in the body is the same request), and one that differs from the body's, is sent twice or
// goes with a read is refused naming idempotency_key. The metadata was ignored, even when it
// differed from the body's key (probe C, thirty-fourth session).
func TestIdempotencyKeyAsMetadata(t *testing.T) {
	h := start(t)
	c := h.client(t, housing)
	withKey := func(keys ...string) context.Context {
		ctx := h.ctx
		for _, k := range keys {
			ctx = metadata.AppendToOutgoingContext(ctx, "idempotency-key", k)
		}
		return ctx
	}
	first, err := c.SubmitSignal(withKey("md-1"), arrearsSignal(""))
	if err != nil {
		t.Fatalf("a key as metadata only: %v", err)
	}
	again, err := c.SubmitSignal(h.ctx, arrearsSignal("md-1"))
	if err != nil || again.GetSignalId() != first.GetSignalId() {
		t.Fatalf("the same key in the body is a retry of the same request: %v %v, want signal %s", again, err, first.GetSignalId())
	}
	both, err := c.SubmitSignal(withKey("md-1"), arrearsSignal("md-1"))
	if err != nil || both.GetSignalId() != first.GetSignalId() {
		t.Fatalf("metadata and body with the same key: %v %v", both, err)
	}
	refused := map[string]error{}
	_, refused["metadata and body differ"] = c.SubmitSignal(withKey("md-2"), arrearsSignal("md-3"))
	_, refused["metadata sent twice"] = c.SubmitSignal(withKey("md-4", "md-5"), arrearsSignal(""))
	_, refused["a key with a read"] = c.GetSignal(withKey("md-6"), &referralv1.GetSignalRequest{SignalId: first.GetSignalId()})
	for name, err := range refused {
		if v := violations(t, err); !v["idempotency_key"] || len(v) != 1 {
			t.Errorf("%s: %v, want idempotency_key refused", name, err)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM signals`); n != 1 {
		t.Fatalf("%d signals stored, want the one", n)
	}
	// A health check ignores it, as reflection does: a client sending the key with every call
	// keeps its health checks (recheck probe).
	if resp, err := healthpb.NewHealthClient(h.env.Client(t, h.s.Addr, housing)).Check(withKey("md-7"), &healthpb.HealthCheckRequest{}); err != nil ||
		resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health with an idempotency-key: %v %v", resp, err)
	}
}
