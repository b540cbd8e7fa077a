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
	// A draft cancelled unsent stays the referrer's alone.
	unsent := r
	if err := unsent.Apply(validTransition(ActCancel), []Side{SideReferrer}, time.Now()); err != nil || unsent.Status != RefCancelled || unsent.Sent {
		t.Fatalf("cancelling a draft: %v, status %s, sent %v", err, unsent.Status, unsent.Sent)
	}
	if got := unsent.SidesOf("B"); len(got) != 0 {
		t.Fatalf("the recipient has no side on a draft cancelled unsent: %v", got)
	}
	// Sending makes the recipient a party, also once the referral is cancelled.
	if err := r.Apply(Transition{Action: ActSend}, []Side{SideReferrer}, time.Now()); err != nil || r.Status != RefSent || !r.Sent {
		t.Fatalf("send: %v, status %s, sent %v", err, r.Status, r.Sent)
	}
	if got := r.SidesOf("B"); !slices.Equal(got, []Side{SideRecipient}) {
		t.Fatalf("recipient: %v", got)
	}
	if err := r.Apply(validTransition(ActCancel), []Side{SideReferrer}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := r.SidesOf("B"); !slices.Equal(got, []Side{SideRecipient}) {
		t.Fatalf("recipient of a sent referral, cancelled: %v", got)
	}
	// A team referring to its own provision is on both sides and may do both sides' work.
	self := Referral{ReferrerOIN: "A", RecipientOIN: "A", Status: RefSent, Sent: true}
	if err := self.Apply(validTransition(ActAccept), self.SidesOf("A"), time.Now()); err != nil || self.Status != RefAccepted {
		t.Fatalf("self-referral accept: %v", err)
	}
	// The recipient cannot cancel a sent referral: it declines, and the error says so.
	sent := Referral{ReferrerOIN: "A", RecipientOIN: "B", Status: RefSent, Sent: true}
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
	// Also a referral whose request began a moment before the withdrawal was stamped: it
	// reads the consent after the withdrawal committed (concurrency probe).
	if c.Covers(ActivityReferral, "B", nil, in.Add(-time.Second)) == nil {
		t.Fatal("a withdrawn consent covers nothing new, whatever the time of the request")
	}
}

func TestSuppress(t *testing.T) {
	got := Suppress([]ThemeCount{
		{Kind: ThemeDeclineReason, District: "WK036300", Key: "CAPACITY", Count: 7, Residents: 6},
		{Kind: ThemeDeclineReason, District: "WK036300", Key: "OUT_OF_AREA", Count: 4, Residents: 4},
		{Kind: ThemeSignalCategory, District: "WK036301", Key: "payment arrears", Count: 12, Residents: 5},
		{Kind: ThemeSignalCategory, District: "WK036301", Key: "Pietje de Vries, depressie", Count: 2, Residents: 1},
	}, 5)
	// A group below the minimum is left out, a code as much as a text: shown as suppressed it
	// would still say that someone is behind it.
	want := []ThemeCount{
		{Kind: ThemeDeclineReason, District: "WK036300", Key: "CAPACITY", Count: 7},
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

func TestReferralMustFitItsCaseOrIntake(t *testing.T) {
	const member, stranger = "pseudo-member", "pseudo-stranger"
	running := CaseFacts{ID: "c1", Municipality: "GM0363", Status: "IN_PROGRESS", HasPlan: true,
		Goals: map[string]string{"g-open": "OPEN", "g-busy": "IN_PROGRESS", "g-reached": "REACHED", "g-dropped": "DROPPED"}, Residents: []string{member}}
	ref := Referral{CaseID: "c1", Municipality: "GM0363", GoalIDs: []string{"g-open", "g-busy"}}
	field := func(err error) string {
		var rv RuleViolation
		if errors.As(err, &rv) {
			return rv.Field
		}
		return ""
	}
	isState := func(err error) bool { var ce ContextError; return errors.As(err, &ce) }
	if err := ref.CheckAgainstCase(running, member); err != nil {
		t.Fatalf("a referral that fits: %v", err)
	}
	with := func(mod func(*Referral, *CaseFacts)) (Referral, CaseFacts) {
		r, c := ref, running
		r.GoalIDs = append([]string(nil), ref.GoalIDs...)
		mod(&r, &c)
		return r, c
	}
	for _, tc := range []struct {
		name    string
		mod     func(*Referral, *CaseFacts)
		pseudo  string
		field   string
		isState bool
	}{
		{"resident outside the household", func(*Referral, *CaseFacts) {}, stranger, "resident_bsn", false},
		{"another municipality", func(r *Referral, _ *CaseFacts) { r.Municipality = "GM0599" }, member, "municipality_code", false},
		{"unknown goal", func(r *Referral, _ *CaseFacts) { r.GoalIDs[1] = "g-nope" }, member, "goal_ids[1]", false},
		{"goal twice", func(r *Referral, _ *CaseFacts) { r.GoalIDs[1] = "g-open" }, member, "goal_ids[1]", false},
		{"reached goal", func(r *Referral, _ *CaseFacts) { r.GoalIDs[1] = "g-reached" }, member, "", true},
		{"dropped goal", func(r *Referral, _ *CaseFacts) { r.GoalIDs[1] = "g-dropped" }, member, "", true},
		{"no plan yet", func(_ *Referral, c *CaseFacts) { c.HasPlan, c.Goals = false, nil }, member, "", true},
		{"closed case", func(_ *Referral, c *CaseFacts) { c.Status = "CLOSED" }, member, "", true},
		{"handed over", func(_ *Referral, c *CaseFacts) { c.Status = "HANDED_OVER" }, member, "", true},
	} {
		r, c := with(tc.mod)
		err := r.CheckAgainstCase(c, tc.pseudo)
		if err == nil || field(err) != tc.field || isState(err) != tc.isState {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
	noGoals, noPlan := ref, running
	noGoals.GoalIDs, noPlan.HasPlan, noPlan.Goals = nil, false, nil
	if err := noGoals.CheckAgainstCase(noPlan, member); err != nil {
		t.Fatalf("no goals on a case without a plan: %v", err)
	}

	intake := IntakeFacts{ID: "i1", Municipality: "GM0363", Status: "IN_TRIAGE", Residents: []string{member}}
	fromIntake := Referral{IntakeID: "i1", Municipality: "GM0363"}
	if err := fromIntake.CheckAgainstIntake(intake, member); err != nil {
		t.Fatalf("a referral that fits the intake: %v", err)
	}
	if err := fromIntake.CheckAgainstIntake(intake, stranger); field(err) != "resident_bsn" {
		t.Errorf("intake, resident outside the household: %v", err)
	}
	withGoals := fromIntake
	withGoals.GoalIDs = []string{"g-open"}
	if err := withGoals.CheckAgainstIntake(intake, member); field(err) != "goal_ids" {
		t.Errorf("intake with goals: %v", err)
	}
	elsewhere := fromIntake
	elsewhere.Municipality = "GM0599"
	if err := elsewhere.CheckAgainstIntake(intake, member); field(err) != "municipality_code" {
		t.Errorf("intake, another municipality: %v", err)
	}
	for _, st := range []string{"MERGED", "WITHDRAWN", "NOT_REACHED"} {
		ended := intake
		ended.Status = st
		if err := fromIntake.CheckAgainstIntake(ended, member); !isState(err) {
			t.Errorf("intake %s: %v", st, err)
		}
	}
}

// The recipient sees the resident's BSN and the question only where their categories are
// shared; the referrer, and anyone else who may read it (a service), see it whole.
func TestReferralSharedWith(t *testing.T) {
	r := Referral{ReferrerOIN: "A", RecipientOIN: "B", ResidentBSN: "123456782", Question: "depression", Categories: []string{"HOUSEHOLD"}}
	if got := r.SharedWith("B"); got.ResidentBSN != "" || got.Question != "" {
		t.Fatalf("recipient without IDENTITY and QUESTION shared: %+v", got)
	}
	r.Categories = []string{CategoryIdentity}
	if got := r.SharedWith("B"); got.ResidentBSN != "123456782" || got.Question != "" {
		t.Fatalf("recipient with IDENTITY shared: %+v", got)
	}
	r.Categories = []string{CategoryQuestion}
	if got := r.SharedWith("B"); got.ResidentBSN != "" || got.Question != "depression" {
		t.Fatalf("recipient with QUESTION shared: %+v", got)
	}
	for _, oin := range []string{"A", "SERVICE"} {
		if got := r.SharedWith(oin); got.ResidentBSN != "123456782" || got.Question != "depression" {
			t.Fatalf("%s: %+v", oin, got)
		}
	}
	self := Referral{ReferrerOIN: "A", RecipientOIN: "A", ResidentBSN: "123456782", Question: "depression"}
	if got := self.SharedWith("A"); got.ResidentBSN == "" || got.Question == "" {
		t.Fatalf("a referral to one's own provision: %+v", got)
	}
}
