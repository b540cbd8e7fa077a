package domain

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var allStatuses = []ReferralStatus{RefDraft, RefSent, RefAccepted, RefDeclined, RefExpired, RefInProgress, RefOnHold, RefCompleted, RefFailed, RefCancelled}

// validTransition fills the mandatory reason, sub-status or outcome of an action.
func validTransition(a Action) Transition {
	t := Transition{Action: a}
	switch a {
	case ActDecline:
		t.Reason = "CAPACITY"
	case ActCancel:
		t.Reason = "NO_LONGER_NEEDED"
	case ActFail:
		t.Reason = "RESIDENT_NOT_REACHED"
	case ActHold:
		t.HoldReason = "WAITLIST"
	case ActComplete:
		t.Outcome = "GOAL_REACHED"
	}
	return t
}

// TestReferralStateMachine checks every action from every status for every side against the
// table of DESIGN §4: who owns the transition, from where, and to where.
func TestReferralStateMachine(t *testing.T) {
	type key struct {
		action Action
		side   Side
		from   ReferralStatus
	}
	open := []ReferralStatus{RefDraft, RefSent, RefAccepted, RefInProgress, RefOnHold}
	allowed := map[key]ReferralStatus{
		{ActSend, SideReferrer, RefDraft}:           RefSent,
		{ActAccept, SideRecipient, RefSent}:         RefAccepted,
		{ActDecline, SideRecipient, RefSent}:        RefDeclined,
		{ActExpire, SideSystem, RefSent}:            RefExpired,
		{ActStart, SideRecipient, RefAccepted}:      RefInProgress,
		{ActHold, SideRecipient, RefAccepted}:       RefOnHold,
		{ActHold, SideRecipient, RefInProgress}:     RefOnHold,
		{ActResume, SideRecipient, RefOnHold}:       RefInProgress,
		{ActComplete, SideRecipient, RefInProgress}: RefCompleted,
		{ActFail, SideRecipient, RefAccepted}:       RefFailed,
		{ActFail, SideRecipient, RefInProgress}:     RefFailed,
		{ActFail, SideRecipient, RefOnHold}:         RefFailed,
		{ActCancel, SideRecipient, RefAccepted}:     RefCancelled,
		{ActCancel, SideRecipient, RefInProgress}:   RefCancelled,
		{ActCancel, SideRecipient, RefOnHold}:       RefCancelled,
	}
	for _, s := range open {
		allowed[key{ActCancel, SideReferrer, s}] = RefCancelled
		allowed[key{ActCancel, SideSystem, s}] = RefCancelled
	}
	owners := map[Action][]Side{
		ActSend: {SideReferrer}, ActAccept: {SideRecipient}, ActDecline: {SideRecipient}, ActExpire: {SideSystem},
		ActStart: {SideRecipient}, ActHold: {SideRecipient}, ActResume: {SideRecipient}, ActComplete: {SideRecipient},
		ActFail: {SideRecipient}, ActCancel: {SideRecipient, SideReferrer, SideSystem},
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for action, own := range owners {
		for _, side := range []Side{SideReferrer, SideRecipient, SideSystem} {
			for _, from := range allStatuses {
				r := Referral{Status: from}
				tr := validTransition(action)
				if action == ActCancel && side == SideSystem {
					tr.Reason = CancelConsentWithdrawn
				}
				err := r.Apply(tr, []Side{side}, at)
				want, ok := allowed[key{action, side, from}]
				switch {
				case !slices.Contains(own, side):
					if !errors.Is(err, ErrWrongSide) {
						t.Errorf("%s by %s from %s: want ErrWrongSide, got %v", action, side, from, err)
					}
				case ok:
					if err != nil || r.Status != want || !r.UpdatedAt.Equal(at) {
						t.Errorf("%s by %s from %s: want %s, got %s (%v)", action, side, from, want, r.Status, err)
					}
				default:
					var te TransitionError
					if !errors.As(err, &te) || te.From != from || r.Status != from {
						t.Errorf("%s by %s from %s: want a TransitionError naming %s, got %v", action, side, from, from, err)
					}
				}
			}
		}
	}
	for _, s := range allStatuses {
		if s.Final() == slices.Contains(open, s) {
			t.Errorf("%s: final=%v", s, s.Final())
		}
	}
}

func TestReferralMandatoryReasons(t *testing.T) {
	cases := []struct {
		from  ReferralStatus
		side  Side
		t     Transition
		field string
	}{
		{RefSent, SideRecipient, Transition{Action: ActDecline}, "reason"},
		{RefSent, SideRecipient, Transition{Action: ActDecline, Reason: "BORED"}, "reason"},
		{RefSent, SideReferrer, Transition{Action: ActCancel}, "reason"},
		{RefSent, SideReferrer, Transition{Action: ActCancel, Reason: CancelConsentWithdrawn}, "reason"},
		{RefAccepted, SideRecipient, Transition{Action: ActFail}, "reason"},
		{RefInProgress, SideRecipient, Transition{Action: ActHold}, "hold_reason"},
		{RefInProgress, SideRecipient, Transition{Action: ActComplete}, "outcome"},
	}
	for _, tc := range cases {
		r := Referral{Status: tc.from}
		var rv RuleViolation
		if err := r.Apply(tc.t, []Side{tc.side}, time.Now()); !errors.As(err, &rv) || rv.Field != tc.field || r.Status != tc.from {
			t.Errorf("%s from %s without a valid %s: got %v, status %s", tc.t.Action, tc.from, tc.field, err, r.Status)
		}
	}
}

func TestReferralSides(t *testing.T) {
	r := Referral{ReferrerOIN: "A", RecipientOIN: "B", Status: RefDraft}
	if got := r.SidesOf("B"); len(got) != 0 {
		t.Fatalf("the recipient has no side on a draft: %v", got)
	}
	if got := r.SidesOf("C"); len(got) != 0 {
		t.Fatalf("a stranger has no side: %v", got)
	}
	r.Status = RefSent
	if got := r.SidesOf("B"); !slices.Equal(got, []Side{SideRecipient}) {
		t.Fatalf("recipient: %v", got)
	}
	// A team referring to its own provision is on both sides and may do both sides' work.
	self := Referral{ReferrerOIN: "A", RecipientOIN: "A", Status: RefSent}
	if err := self.Apply(validTransition(ActAccept), self.SidesOf("A"), time.Now()); err != nil || self.Status != RefAccepted {
		t.Fatalf("self-referral accept: %v", err)
	}
	// The recipient cannot cancel a sent referral: it declines, and the error says so.
	sent := Referral{ReferrerOIN: "A", RecipientOIN: "B", Status: RefSent}
	var te TransitionError
	if err := sent.Apply(validTransition(ActCancel), []Side{SideRecipient}, time.Now()); !errors.As(err, &te) || te.Hint == "" {
		t.Fatalf("recipient cancelling a sent referral: %v", err)
	}
}

func TestReferralClearsHoldAndKeepsOutcome(t *testing.T) {
	r := Referral{Status: RefAccepted}
	must := func(tr Transition) {
		t.Helper()
		if err := r.Apply(tr, []Side{SideRecipient}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	must(validTransition(ActHold))
	if r.HoldReason != "WAITLIST" {
		t.Fatalf("hold reason %q", r.HoldReason)
	}
	must(validTransition(ActResume))
	if r.HoldReason != "" || r.Status != RefInProgress {
		t.Fatalf("resume must clear the sub-status: %+v", r)
	}
	must(Transition{Action: ActComplete, Outcome: "PARTLY_REACHED", Note: "half way"})
	if r.Outcome != "PARTLY_REACHED" || r.Note != "half way" || r.CanBeReplaced() {
		t.Fatalf("complete: %+v", r)
	}
	for _, s := range []ReferralStatus{RefDeclined, RefExpired, RefCancelled, RefFailed} {
		if !(Referral{Status: s}).CanBeReplaced() {
			t.Errorf("%s can be re-routed", s)
		}
	}
	for _, s := range []ReferralStatus{RefDraft, RefSent, RefAccepted, RefCompleted} {
		if (Referral{Status: s}).CanBeReplaced() {
			t.Errorf("%s cannot be re-routed", s)
		}
	}
}

func TestConsentCovers(t *testing.T) {
	until := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	c := Consent{Activity: ActivityReferral, Recipients: []string{"B"}, Categories: []string{"IDENTITY", "QUESTION"},
		ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ValidUntil: &until}
	in := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := c.Covers(ActivityReferral, "B", []string{"QUESTION"}, in); err != nil {
		t.Fatalf("should cover: %v", err)
	}
	for name, err := range map[string]error{
		"other recipient": c.Covers(ActivityReferral, "C", []string{"QUESTION"}, in),
		"other category":  c.Covers(ActivityReferral, "B", []string{"HEALTH"}, in),
		"other activity":  c.Covers("research", "B", []string{"QUESTION"}, in),
		"before validity": c.Covers(ActivityReferral, "B", nil, time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC)),
		// 30 June 23:30 UTC is 1 July in Amsterdam: past the last valid day.
		"after validity": c.Covers(ActivityReferral, "B", nil, time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC)),
	} {
		if err == nil {
			t.Errorf("%s: must not be covered", name)
		}
	}
	if err := c.Withdraw(in); err != nil || c.StatusAt(in.Add(time.Minute)) != ConsentWithdrawn {
		t.Fatalf("withdraw: %v %s", err, c.StatusAt(in))
	}
	if err := c.Withdraw(in); err == nil {
		t.Fatal("withdrawing twice must fail")
	}
	if c.Covers(ActivityReferral, "B", nil, in.Add(time.Minute)) == nil {
		t.Fatal("a withdrawn consent covers nothing")
	}
}

func TestSuppress(t *testing.T) {
	got := Suppress([]ThemeCount{
		{Kind: ThemeDeclineReason, District: "WK036300", Key: "CAPACITY", Count: 7, Residents: 6},
		{Kind: ThemeDeclineReason, District: "WK036300", Key: "OUT_OF_AREA", Count: 4, Residents: 4},
		{Kind: ThemeSignalCategory, District: "WK036301", Key: "payment arrears", Count: 12, Residents: 5},
	}, 5)
	want := []ThemeCount{
		{Kind: ThemeDeclineReason, District: "WK036300", Key: "CAPACITY", Count: 7},
		{Kind: ThemeDeclineReason, District: "WK036300", Key: "OUT_OF_AREA", Suppressed: true},
		{Kind: ThemeSignalCategory, District: "WK036301", Key: "payment arrears", Count: 12},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestProvisionValidate(t *testing.T) {
	ok := Provision{Kind: KindCommunity, Status: ProvisionActive, CapacityStatus: "AVAILABLE", Taxonomy: []string{"buddy-project"}, MinAge: 18}
	if vs := ok.Validate(""); len(vs) != 0 {
		t.Fatalf("valid provision refused: %v", vs)
	}
	bad := Provision{Kind: KindCustom, Status: ProvisionActive, AcceptsDigitalReferrals: true, MinAge: 30, MaxAge: 20, Taxonomy: []string{"Debt Help"}}
	fields := map[string]bool{}
	for _, v := range bad.Validate("p.") {
		fields[v.Field] = true
	}
	for _, f := range []string{"p.max_age", "p.taxonomy_terms", "p.accepts_digital_referrals", "p.capacity_status"} {
		if !fields[f] {
			t.Errorf("want a violation of %s, got %v", f, fields)
		}
	}
	if !ok.ServesAge(18) || ok.ServesAge(17) || !ok.ServesDistrict("WK036300") {
		t.Fatal("eligibility")
	}
}
