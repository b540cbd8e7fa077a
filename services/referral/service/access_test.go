package service_test

import (
	"encoding/base64"
	"testing"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const otherBSN = "123456782" // passes the 11-proef

var svcOrg = svctest.Org(identity.OrgService, "Wijkbrug intake")

func (h *harness) consent(t *testing.T, c referralv1.ReferralServiceClient, bsnValue string, recipients ...string) *referralv1.Consent {
	t.Helper()
	resp, err := c.RecordConsent(h.ctx, &referralv1.RecordConsentRequest{IdempotencyKey: h.key(), ResidentBsn: bsnValue,
		ProcessingActivity: "referral", RecipientOins: recipients, MunicipalityCode: "GM0363",
		DataCategories: []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_IDENTITY, referralv1.DataCategory_DATA_CATEGORY_QUESTION}})
	if err != nil {
		t.Fatalf("record consent: %v", err)
	}
	return resp.GetConsent()
}

func TestListConsentsShowsOnlyTheCallersOwn(t *testing.T) {
	t.Parallel()
	h := start(t)
	tc, oc, gc := h.client(t, team), h.client(t, otherTeam), h.client(t, gp)
	first := h.consent(t, tc, residentBSN, buddyOrg.OIN)
	second := h.consent(t, tc, residentBSN, debtOrg.OIN)
	h.consent(t, tc, otherBSN, buddyOrg.OIN)
	theirs := h.consent(t, oc, residentBSN, buddyOrg.OIN)
	if _, err := tc.WithdrawConsent(h.ctx, &referralv1.WithdrawConsentRequest{IdempotencyKey: h.key(), ConsentId: first.GetId()}); err != nil {
		t.Fatal(err)
	}

	all, err := tc.ListConsents(h.ctx, &referralv1.ListConsentsRequest{ResidentBsn: residentBSN})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	got := all.GetConsents()
	if len(got) != 2 || got[0].GetId() != second.GetId() || got[1].GetId() != first.GetId() {
		t.Fatalf("want the team's two consents of the resident, newest first; got %v", got)
	}
	if got[1].GetStatus() != referralv1.ConsentStatus_CONSENT_STATUS_WITHDRAWN || got[0].GetResidentBsn() != residentBSN || got[0].GetHolderOin() != team.OIN {
		t.Fatalf("unexpected consents %v", got)
	}
	valid, err := tc.ListConsents(h.ctx, &referralv1.ListConsentsRequest{ResidentBsn: residentBSN, Status: referralv1.ConsentStatus_CONSENT_STATUS_VALID})
	if err != nil || len(valid.GetConsents()) != 1 || valid.GetConsents()[0].GetId() != second.GetId() {
		t.Fatalf("only the valid one: %v %v", valid, err)
	}
	// Another team sees only the consent it recorded itself; a GP that recorded none sees nothing.
	other, err := oc.ListConsents(h.ctx, &referralv1.ListConsentsRequest{ResidentBsn: residentBSN})
	if err != nil || len(other.GetConsents()) != 1 || other.GetConsents()[0].GetId() != theirs.GetId() {
		t.Fatalf("another team: %v %v", other, err)
	}
	none, err := gc.ListConsents(h.ctx, &referralv1.ListConsentsRequest{ResidentBsn: residentBSN})
	if err != nil || len(none.GetConsents()) != 0 {
		t.Fatalf("a GP without consents: %v %v", none, err)
	}
	// Providers do not hold consents; a bad BSN or status is refused with the field named.
	if _, err := h.client(t, buddyOrg).ListConsents(h.ctx, &referralv1.ListConsentsRequest{ResidentBsn: residentBSN}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a provider listing consents: %v", err)
	}
	if f := violations(t, mustErr(tc.ListConsents(h.ctx, &referralv1.ListConsentsRequest{ResidentBsn: "123456789", Status: 99}))); !f["resident_bsn"] || !f["status"] {
		t.Fatalf("bad request: %v", f)
	}
	// Every consent read is in the access log, and so is the GP's look-up that found nothing.
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.consent.list' AND org_oin = $1`, team.OIN); n != 3 {
		t.Fatalf("want 3 logged consent reads by the team, got %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.consent.list' AND org_oin = $1 AND resident_pseudonym <> ''`, gp.OIN); n != 1 {
		t.Fatalf("the GP's empty look-up must be logged with the resident's pseudonym: %d", n)
	}

	// Paged one at a time: the same two, newest first; only the consent shown is logged.
	before := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.consent.list' AND org_oin = $1`, team.OIN)
	p1, err := tc.ListConsents(h.ctx, &referralv1.ListConsentsRequest{ResidentBsn: residentBSN, PageSize: 1})
	if err != nil || len(p1.GetConsents()) != 1 || p1.GetConsents()[0].GetId() != second.GetId() || p1.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", err, p1)
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.consent.list' AND org_oin = $1`, team.OIN); n != before+1 {
		t.Fatalf("a page of one consent logs one read, got %d", n-before)
	}
	p2, err := tc.ListConsents(h.ctx, &referralv1.ListConsentsRequest{ResidentBsn: residentBSN, PageSize: 1, PageToken: p1.GetNextPageToken()})
	if err != nil || len(p2.GetConsents()) != 1 || p2.GetConsents()[0].GetId() != first.GetId() || p2.GetNextPageToken() != "" {
		t.Fatalf("second page: %v %v", err, p2)
	}
	for field, req := range map[string]*referralv1.ListConsentsRequest{
		"page_token": {ResidentBsn: otherBSN, PageToken: p1.GetNextPageToken()},
		"page_size":  {ResidentBsn: residentBSN, PageSize: -1},
	} {
		if f := violations(t, mustErr(tc.ListConsents(h.ctx, req))); !f[field] {
			t.Errorf("bad %s: violations %v", field, f)
		}
	}
}

func TestReferralHistoryForBothPartiesOnly(t *testing.T) {
	t.Parallel()
	h := start(t)
	buddy := h.provision(t, buddyOrg, "Maatjesproject", nil)
	tc, bc := h.client(t, team), h.client(t, buddyOrg)
	created, err := tc.CreateReferral(h.ctx, withKey(referralTo(buddy.GetId()), h.key()))
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetReferral().GetId()
	if _, err := bc.AcceptReferral(h.ctx, &referralv1.AcceptReferralRequest{IdempotencyKey: h.key(), ReferralId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.HoldReferral(h.ctx, &referralv1.HoldReferralRequest{IdempotencyKey: h.key(), ReferralId: id, HoldReason: referralv1.HoldReason_HOLD_REASON_WAITLIST}); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.CancelReferral(h.ctx, &referralv1.CancelReferralRequest{IdempotencyKey: h.key(), ReferralId: id,
		Reason: referralv1.CancelReason_CANCEL_REASON_RESIDENT_MOVED, Note: "moved to Utrecht"}); err != nil {
		t.Fatal(err)
	}
	type step struct {
		from, to commonv1.ReferralStatus
		side     referralv1.TransitionSide
		org      string
		reason   referralv1.CancelReason
	}
	want := []step{
		{commonv1.ReferralStatus_REFERRAL_STATUS_UNSPECIFIED, commonv1.ReferralStatus_REFERRAL_STATUS_DRAFT, referralv1.TransitionSide_TRANSITION_SIDE_REFERRER, team.OIN, 0},
		{commonv1.ReferralStatus_REFERRAL_STATUS_DRAFT, commonv1.ReferralStatus_REFERRAL_STATUS_SENT, referralv1.TransitionSide_TRANSITION_SIDE_REFERRER, team.OIN, 0},
		{commonv1.ReferralStatus_REFERRAL_STATUS_SENT, commonv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED, referralv1.TransitionSide_TRANSITION_SIDE_RECIPIENT, buddyOrg.OIN, 0},
		{commonv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED, commonv1.ReferralStatus_REFERRAL_STATUS_ON_HOLD, referralv1.TransitionSide_TRANSITION_SIDE_RECIPIENT, buddyOrg.OIN, 0},
		{commonv1.ReferralStatus_REFERRAL_STATUS_ON_HOLD, commonv1.ReferralStatus_REFERRAL_STATUS_CANCELLED, referralv1.TransitionSide_TRANSITION_SIDE_REFERRER, team.OIN, referralv1.CancelReason_CANCEL_REASON_RESIDENT_MOVED},
	}
	for _, c := range []referralv1.ReferralServiceClient{tc, bc} {
		hist, err := c.GetReferralHistory(h.ctx, &referralv1.GetReferralHistoryRequest{ReferralId: id})
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		if hist.GetReferralId() != id || len(hist.GetTransitions()) != len(want) {
			t.Fatalf("want %d transitions, got %v", len(want), hist)
		}
		for i, tr := range hist.GetTransitions() {
			w := want[i]
			if tr.GetFromStatus() != w.from || tr.GetToStatus() != w.to || tr.GetSide() != w.side || tr.GetOrgOin() != w.org || tr.GetCancelReason() != w.reason || tr.GetAt() == nil {
				t.Fatalf("transition %d: want %+v, got %v", i, w, tr)
			}
			if i > 0 && tr.GetAt().AsTime().Before(hist.GetTransitions()[i-1].GetAt().AsTime()) {
				t.Fatal("history must be oldest first")
			}
		}
	}
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'referral.referral.history' AND outcome = 'GRANTED'`); n != 2 {
		t.Fatalf("each history read must be logged: %d", n)
	}
	// A Wijkbrug service reads referrals, but the history is for the two parties only.
	if _, err := h.client(t, svcOrg).GetReferralHistory(h.ctx, &referralv1.GetReferralHistoryRequest{ReferralId: id}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a service reading the history: %v", err)
	}
	if _, err := tc.GetReferralHistory(h.ctx, &referralv1.GetReferralHistoryRequest{ReferralId: "x"}); !violations(t, err)["referral_id"] {
		t.Fatal("bad id accepted")
	}
}

// TestEveryIDTakingRPCRefusesAnotherOrganisation is the referral service's BOLA check (DESIGN
// §6): every RPC that takes the id of a record with personal data answers NOT_FOUND to an
// organisation that may call the method but is not involved in the record, writes a DENIED
// access-log entry, and changes nothing.
func TestEveryIDTakingRPCRefusesAnotherOrganisation(t *testing.T) {
	t.Parallel()
	h := start(t)
	buddy := h.provision(t, buddyOrg, "Maatjesproject", nil)
	debt := h.provision(t, debtOrg, "Schuldhulpmaatje", nil)
	tc, gc := h.client(t, team), h.client(t, gp)
	oc, sc, bc := h.client(t, otherTeam), h.client(t, strangerPr), h.client(t, buddyOrg)

	sig, err := gc.SubmitSignal(h.ctx, gpSignal(h.key()))
	if err != nil {
		t.Fatal(err)
	}
	consent := h.consent(t, tc, residentBSN, buddyOrg.OIN)
	sentResp, err := tc.CreateReferral(h.ctx, withKey(referralTo(buddy.GetId()), h.key()))
	if err != nil {
		t.Fatal(err)
	}
	sent := sentResp.GetReferral().GetId()
	draftReq := withKey(referralTo(buddy.GetId()), h.key())
	draftReq.Send = false
	draftResp, err := tc.CreateReferral(h.ctx, draftReq)
	if err != nil {
		t.Fatal(err)
	}
	draft := draftResp.GetReferral().GetId()
	declinedResp, err := tc.CreateReferral(h.ctx, withKey(referralTo(buddy.GetId()), h.key()))
	if err != nil {
		t.Fatal(err)
	}
	declined := declinedResp.GetReferral().GetId()
	if _, err := bc.DeclineReferral(h.ctx, &referralv1.DeclineReferralRequest{IdempotencyKey: h.key(), ReferralId: declined,
		Reason: referralv1.DeclineReason_DECLINE_REASON_CAPACITY}); err != nil {
		t.Fatal(err)
	}
	theirConsent := withKey(referralTo(buddy.GetId()), h.key())
	theirConsent.LegalBasis, theirConsent.ConsentId = referralv1.LegalBasis_LEGAL_BASIS_UNSPECIFIED, consent.GetId()
	theirReroute := withKey(referralTo(debt.GetId()), h.key())
	theirReroute.ReplacesReferralId = declined
	// Neither names a case: the case check (TestReferralForAnotherTeamsCaseIsRefused) would
	// refuse first, and these cases are about the consent and the re-routing checks.
	theirConsent.CaseId, theirReroute.CaseId = "", ""
	theirConsent.IntakeId, theirReroute.IntakeId = "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01", "0b9a4c2e-8f43-4c39-9d55-4f7a2b8e1c01"
	theirConsent.GoalIds, theirReroute.GoalIds = nil, nil // an intake has no plan

	cases := []struct {
		name   string
		org    string
		object string
		action string
		call   func() error
	}{
		{"GetSignal", otherGP.OIN, sig.GetSignalId(), "referral.signal.read", func() error {
			_, err := h.client(t, otherGP).GetSignal(h.ctx, &referralv1.GetSignalRequest{SignalId: sig.GetSignalId()})
			return err
		}},
		{"GetConsent", otherTeam.OIN, consent.GetId(), "referral.consent.read", func() error {
			_, err := oc.GetConsent(h.ctx, &referralv1.GetConsentRequest{ConsentId: consent.GetId()})
			return err
		}},
		{"WithdrawConsent", otherTeam.OIN, consent.GetId(), "referral.consent.withdraw", func() error {
			_, err := oc.WithdrawConsent(h.ctx, &referralv1.WithdrawConsentRequest{IdempotencyKey: h.key(), ConsentId: consent.GetId()})
			return err
		}},
		{"CreateReferral/consent_id", otherTeam.OIN, consent.GetId(), "referral.consent.use", func() error {
			_, err := oc.CreateReferral(h.ctx, theirConsent)
			return err
		}},
		{"CreateReferral/replaces_referral_id", otherTeam.OIN, declined, "referral.referral.reroute", func() error {
			_, err := oc.CreateReferral(h.ctx, theirReroute)
			return err
		}},
		{"GetReferral", strangerPr.OIN, sent, "referral.referral.read", func() error {
			_, err := sc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: sent})
			return err
		}},
		{"GetReferralHistory", strangerPr.OIN, sent, "referral.referral.history", func() error {
			_, err := sc.GetReferralHistory(h.ctx, &referralv1.GetReferralHistoryRequest{ReferralId: sent})
			return err
		}},
		{"SendReferral", otherTeam.OIN, draft, "referral.referral.send", func() error {
			_, err := oc.SendReferral(h.ctx, &referralv1.SendReferralRequest{IdempotencyKey: h.key(), ReferralId: draft})
			return err
		}},
		{"AcceptReferral", strangerPr.OIN, sent, "referral.referral.accept", func() error {
			_, err := sc.AcceptReferral(h.ctx, &referralv1.AcceptReferralRequest{IdempotencyKey: h.key(), ReferralId: sent})
			return err
		}},
		{"DeclineReferral", strangerPr.OIN, sent, "referral.referral.decline", func() error {
			_, err := sc.DeclineReferral(h.ctx, &referralv1.DeclineReferralRequest{IdempotencyKey: h.key(), ReferralId: sent, Reason: referralv1.DeclineReason_DECLINE_REASON_OTHER})
			return err
		}},
		{"StartReferral", strangerPr.OIN, sent, "referral.referral.start", func() error {
			_, err := sc.StartReferral(h.ctx, &referralv1.StartReferralRequest{IdempotencyKey: h.key(), ReferralId: sent})
			return err
		}},
		{"HoldReferral", strangerPr.OIN, sent, "referral.referral.hold", func() error {
			_, err := sc.HoldReferral(h.ctx, &referralv1.HoldReferralRequest{IdempotencyKey: h.key(), ReferralId: sent, HoldReason: referralv1.HoldReason_HOLD_REASON_OTHER})
			return err
		}},
		{"ResumeReferral", strangerPr.OIN, sent, "referral.referral.resume", func() error {
			_, err := sc.ResumeReferral(h.ctx, &referralv1.ResumeReferralRequest{IdempotencyKey: h.key(), ReferralId: sent})
			return err
		}},
		{"CompleteReferral", strangerPr.OIN, sent, "referral.referral.complete", func() error {
			_, err := sc.CompleteReferral(h.ctx, &referralv1.CompleteReferralRequest{IdempotencyKey: h.key(), ReferralId: sent, Outcome: referralv1.ReferralOutcome_REFERRAL_OUTCOME_GOAL_REACHED})
			return err
		}},
		{"FailReferral", strangerPr.OIN, sent, "referral.referral.fail", func() error {
			_, err := sc.FailReferral(h.ctx, &referralv1.FailReferralRequest{IdempotencyKey: h.key(), ReferralId: sent, Reason: referralv1.FailReason_FAIL_REASON_OTHER})
			return err
		}},
		{"CancelReferral", otherTeam.OIN, sent, "referral.referral.cancel", func() error {
			_, err := oc.CancelReferral(h.ctx, &referralv1.CancelReferralRequest{IdempotencyKey: h.key(), ReferralId: sent, Reason: referralv1.CancelReason_CANCEL_REASON_OTHER})
			return err
		}},
		// The recipient has no side on a draft: it has not been sent to it.
		{"GetReferral/draft", buddyOrg.OIN, draft, "referral.referral.read", func() error {
			_, err := bc.GetReferral(h.ctx, &referralv1.GetReferralRequest{ReferralId: draft})
			return err
		}},
		{"GetReferralHistory/draft", buddyOrg.OIN, draft, "referral.referral.history", func() error {
			_, err := bc.GetReferralHistory(h.ctx, &referralv1.GetReferralHistoryRequest{ReferralId: draft})
			return err
		}},
		{"AcceptReferral/draft", buddyOrg.OIN, draft, "referral.referral.accept", func() error {
			_, err := bc.AcceptReferral(h.ctx, &referralv1.AcceptReferralRequest{IdempotencyKey: h.key(), ReferralId: draft})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); status.Code(err) != codes.NotFound {
				t.Fatalf("want NOT_FOUND, got %v", err)
			}
			if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE outcome = 'DENIED' AND route = 'NONE' AND org_oin = $1 AND object_id = $2 AND action = $3`,
				c.org, c.object, c.action); n != 1 {
				t.Fatalf("want one DENIED access-log entry, got %d", n)
			}
		})
	}
	// Nothing changed: the referrals, the consent and the signal are as they were.
	for id, st := range map[string]string{sent: "SENT", draft: "DRAFT", declined: "DECLINED"} {
		if n := h.count(t, `SELECT count(*) FROM referrals WHERE id = $1 AND status = $2`, id, st); n != 1 {
			t.Fatalf("referral %s is no longer %s", id, st)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM referrals`); n != 3 {
		t.Fatalf("a refused create stored a referral: %d", n)
	}
	if n := h.count(t, `SELECT count(*) FROM consents WHERE withdrawn_at IS NULL`); n != 1 {
		t.Fatal("the consent was withdrawn by another organisation")
	}
	// The social map holds no personal data: another organisation's entry is no secret, but
	// neither an upsert nor an import may change it (decision 36).
	changed := buddy
	changed.Name = "Overgenomen"
	if _, err := oc.UpsertProvision(h.ctx, &referralv1.UpsertProvisionRequest{IdempotencyKey: h.key(), Provision: changed}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("another team's upsert: %v", err)
	}
	exp, err := oc.ExportDirectory(h.ctx, &referralv1.ExportDirectoryRequest{MunicipalityCode: "GM0363"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oc.ImportDirectory(h.ctx, &referralv1.ImportDirectoryRequest{IdempotencyKey: h.key(), HsdsJson: exp.GetHsdsJson()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("another team's import over the team's entries: %v", err)
	}
	// A forged page token is bad input, not an internal error.
	forged := base64.RawURLEncoding.EncodeToString([]byte("2026-03-01T12:00:00Z|xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"))
	if !violations(t, mustErr(tc.ListReferrals(h.ctx, &referralv1.ListReferralsRequest{Side: referralv1.ReferralSide_REFERRAL_SIDE_REFERRER, PageToken: forged})))["page_token"] {
		t.Fatal("forged page token")
	}
	if !violations(t, mustErr(gc.ListMySignals(h.ctx, &referralv1.ListMySignalsRequest{PageToken: forged})))["page_token"] {
		t.Fatal("forged page token (signals)")
	}
}
