package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func testCodes(t *testing.T) Codes {
	t.Helper()
	c, err := LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func draft(t *testing.T, basis LegalBasis, category string, amount int32, budget int64) Decision {
	t.Helper()
	cal := NewCalendar()
	app := Date(2026, time.March, 2)
	end := Date(2026, time.December, 31)
	reg := DefaultMandateRegister("GM0363")
	d := Decision{
		ID: "d-1", Municipality: "GM0363", ResidentID: "r-1", HouseholdID: "h-1", IntakeID: "i-1",
		LegalBasis: basis, Granted: true, Product: Product{Category: category, Code: category + "A01"},
		ProviderAGB: "12345678", Form: FormInKind, Start: Date(2026, time.March, 16), End: &end,
		Volume: Volume{Amount: amount, Unit: "04", Frequency: "2"}, BudgetCents: budget,
		ObjectionClause: reg.Paragraphs.ObjectionClause, ApplicationDate: app,
		DueDate: cal.DecisionDueDate(basis, app), Status: DecisionDraft,
		Motivation: Motivation{Goals: []MotivationGoal{{GoalID: "g-1", LifeDomain: "FINANCES", Baseline: 2, Target: 4}}},
	}
	if basis == BasisWmo {
		d.OwnContributionNotice = reg.Paragraphs.OwnContributionNotice
	}
	return d
}

func TestStatutoryTerms(t *testing.T) {
	cal := NewCalendar()
	// Monday 2 March 2026: Wmo two weeks → Monday 16 March; Jeugdwet eight weeks → 27 April
	// is King's Day, so the term ends on Tuesday 28 April (Algemene termijnenwet art. 1).
	app := Date(2026, time.March, 2)
	if got := cal.DecisionDueDate(BasisWmo, app); !got.Equal(Date(2026, time.March, 16)) {
		t.Errorf("Wmo due %v", got)
	}
	if got := cal.DecisionDueDate(BasisJeugdwet, app); !got.Equal(Date(2026, time.April, 28)) {
		t.Errorf("Jeugdwet due %v", got)
	}
	// Sent Thursday 19 November 2026: six weeks → Thursday 31 December 2026.
	if got := cal.ObjectionDeadline(Date(2026, time.November, 19)); !got.Equal(Date(2026, time.December, 31)) {
		t.Errorf("objection deadline %v", got)
	}
	// Sent 20 November: six weeks → Friday 1 January 2027 (New Year) → Monday 4 January.
	if got := cal.ObjectionDeadline(Date(2026, time.November, 20)); !got.Equal(Date(2027, time.January, 4)) {
		t.Errorf("objection deadline over New Year %v", got)
	}
}

func TestLifecycleUnderMandate(t *testing.T) {
	codes := testCodes(t)
	reg := DefaultMandateRegister("GM0363")
	d := draft(t, BasisWmo, "02", 4, 0)
	if err := d.Propose("team-1", codes, time.Now()); err != nil {
		t.Fatalf("propose: %v", err)
	}
	decided, err := d.Sign(Signature{User: "official-1", Role: "wmo_consultant", At: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}, reg)
	if err != nil || !decided {
		t.Fatalf("sign: %v %v", decided, err)
	}
	if d.Status != DecisionDecided || d.Mandate != "wmo-consulent" || d.DecidedBy != "official-1" || !d.WithinStatutoryTerm {
		t.Fatalf("decided: %+v", d)
	}
	var te DecisionTransitionError
	if _, err := d.Sign(Signature{User: "x", Role: "wmo_consultant", At: time.Now()}, reg); !errors.As(err, &te) {
		t.Fatalf("second decide: %v", err)
	}
	if err := d.RegisterObjection(Date(2026, 3, 11), nil, time.Now(), NewCalendar()); err == nil {
		t.Fatal("objection before sending accepted")
	}
	sent := time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC)
	if err := d.Send(sent, NewCalendar()); err != nil {
		t.Fatal(err)
	}
	if !d.ObjectionDeadline.Equal(Date(2026, 4, 22)) {
		t.Fatalf("objection deadline %v", d.ObjectionDeadline)
	}
	if err := d.RegisterObjection(Date(2026, 4, 23), nil, time.Date(2026, 4, 24, 0, 0, 0, 0, time.UTC), NewCalendar()); err != nil {
		t.Fatal(err)
	}
	if d.Objection.OnTime {
		t.Fatal("objection a day late counted on time")
	}
	n, err := d.Amendment("d-2", "team-1", time.Now())
	if err != nil || n.Replaces != "d-1" || n.Status != DecisionDraft || n.Number != "" || n.Objection != nil {
		t.Fatalf("amendment: %+v %v", n, err)
	}
	if err := d.ReplaceBy("d-2", time.Now()); err != nil || d.Status != DecisionAmended {
		t.Fatalf("replace: %v", err)
	}
	if err := d.Withdraw("OTHER", time.Now()); !errors.As(err, &te) {
		t.Fatalf("withdraw amended: %v", err)
	}
}

func TestLateDecisionIsOutsideTerm(t *testing.T) {
	d := draft(t, BasisWmo, "02", 4, 0)
	if err := d.Propose("team-1", testCodes(t), time.Now()); err != nil {
		t.Fatal(err)
	}
	if !d.Overdue(Date(2026, 3, 17)) || d.Overdue(Date(2026, 3, 16)) {
		t.Fatal("overdue: due 16 March")
	}
	if _, err := d.Sign(Signature{User: "o", Role: "wmo_consultant", At: time.Date(2026, 3, 17, 9, 0, 0, 0, time.UTC)}, DefaultMandateRegister("GM0363")); err != nil {
		t.Fatal(err)
	}
	if d.WithinStatutoryTerm || d.Overdue(Date(2026, 3, 18)) {
		t.Fatal("decided a day late: outside the term, no longer overdue")
	}
}

func TestFourEyesAndMandateLimits(t *testing.T) {
	reg := DefaultMandateRegister("GM0363")
	codes := testCodes(t)
	// Above the four-eyes threshold (20) but within the maximum (40).
	d := draft(t, BasisWmo, "02", 30, 0)
	if err := d.Propose("team-1", codes, time.Now()); err != nil {
		t.Fatal(err)
	}
	decided, err := d.Sign(Signature{User: "official-1", Role: "wmo_consultant", At: time.Now()}, reg)
	if err != nil || decided || !d.NeedsSecondOfficial() {
		t.Fatalf("first signature: %v %v", decided, err)
	}
	var me MandateError
	if _, err := d.Sign(Signature{User: "official-1", Role: "wmo_consultant", At: time.Now()}, reg); !errors.As(err, &me) || !strings.Contains(err.Error(), "wmo-consulent") {
		t.Fatalf("same official twice: %v", err)
	}
	if decided, err := d.Sign(Signature{User: "official-2", Role: "department_head", At: time.Now()}, reg); err != nil || !decided {
		t.Fatalf("second official: %v %v", decided, err)
	}
	if d.SecondOfficial != "official-2" || d.DecidedBy != "official-1" {
		t.Fatalf("signatures: %+v", d)
	}

	// Above the maximum of the consultant's mandate: refused, naming the mandate.
	big := draft(t, BasisWmo, "02", 50, 0)
	_ = big.Propose("team-1", codes, time.Now())
	_, err = big.Sign(Signature{User: "official-1", Role: "wmo_consultant", At: time.Now()}, reg)
	if !errors.As(err, &me) || !strings.Contains(err.Error(), `mandate "wmo-consulent"`) {
		t.Fatalf("beyond mandate: %v", err)
	}
	// A category no mandate of the role covers.
	youth := draft(t, BasisJeugdwet, "45", 4, 0)
	_ = youth.Propose("team-1", codes, time.Now())
	if _, err := youth.Sign(Signature{User: "o", Role: "wmo_consultant", At: time.Now()}, reg); !errors.As(err, &me) || !strings.Contains(err.Error(), "product category 45") {
		t.Fatalf("category outside mandate: %v", err)
	}
	// The budget limit counts as well.
	pgb := draft(t, BasisJeugdwet, "45", 4, 6000000)
	pgb.Form, pgb.ProviderAGB = FormPGB, ""
	if err := pgb.Propose("team-1", codes, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := pgb.Sign(Signature{User: "o", Role: "youth_consultant", At: time.Now()}, reg); !errors.As(err, &me) || !strings.Contains(err.Error(), "jeugd-consulent") {
		t.Fatalf("budget beyond mandate: %v", err)
	}
}

func TestProposeNeedsEveryElement(t *testing.T) {
	codes := testCodes(t)
	d := draft(t, BasisWmo, "02", 4, 0)
	d.OwnContributionNotice, d.Volume = "", Volume{}
	var rv RuleViolation
	if err := d.Propose("team-1", codes, time.Now()); !errors.As(err, &rv) {
		t.Fatalf("incomplete draft proposed: %v", err)
	}
	fields := map[string]bool{}
	for _, v := range d.Validate(codes) {
		fields[v.Field] = true
	}
	if !fields["volume"] || !fields["own_contribution_notice"] {
		t.Fatalf("violations: %v", fields)
	}
	// Granted without the plan's goals, its letter could never be sent (a probe decided one).
	noGoals := draft(t, BasisJeugdwet, "45", 4, 0)
	noGoals.Motivation.Goals = nil
	if v := noGoals.Validate(codes); len(v) != 1 || v[0].Field != "case_id" || !strings.Contains(v[0].Reason, "goals of the case's plan") {
		t.Fatalf("granted without goals: %v", v)
	}
	wrongLaw := draft(t, BasisJeugdwet, "02", 4, 0)
	if v := wrongLaw.Validate(codes); len(v) != 1 || v[0].Field != "product.category" {
		t.Fatalf("a Wmo category under the Jeugdwet: %v", v)
	}
	r := draft(t, BasisWmo, "02", 0, 0)
	r.Granted = false
	if v := r.Validate(codes); len(v) != 1 || v[0].Field != "rejection_grounds" {
		t.Fatalf("rejection without grounds: %v", v)
	}
	r.RejectionGrounds = "De ondersteuning is via een algemene voorziening beschikbaar."
	if err := r.Propose("team-1", codes, time.Now()); err != nil {
		t.Fatal(err)
	}
	// A rejection needs a mandate for the category but no volume check or second official.
	if decided, err := r.Sign(Signature{User: "o", Role: "wmo_consultant", At: time.Now()}, DefaultMandateRegister("GM0363")); err != nil || !decided {
		t.Fatalf("rejection: %v %v", decided, err)
	}
}

func TestDefaultRegisterIsValid(t *testing.T) {
	r := DefaultMandateRegister("GM0363")
	if v := r.Validate(testCodes(t)); len(v) > 0 {
		t.Fatalf("default register: %v", v)
	}
	if DecisionNumber("GM0363", 2026, 7) != "GM0363-2026-000007" {
		t.Fatal(DecisionNumber("GM0363", 2026, 7))
	}
}

// An allocation issued under a decision stays within it (probe-C F3).
func TestDecisionCoversItsAllocation(t *testing.T) {
	end := Date(2027, 6, 30)
	d := Decision{Number: "GM0363-2026-000003", Start: Date(2026, 12, 4), End: &end, Volume: Volume{Amount: 3, Unit: "04", Frequency: "2"}}
	within := d.Allocation()
	within.Number = "TW0000000014"
	if err := d.Covers(within); err != nil {
		t.Fatal(err)
	}
	later, shorter := Date(2027, 1, 4), Date(2027, 3, 31)
	less := within
	less.Start, less.End, less.Volume.Amount = later, &shorter, 2
	if err := d.Covers(less); err != nil {
		t.Errorf("less than decided: %v", err)
	}
	beyondEnd := Date(2199, 12, 31)
	for name, change := range map[string]func(a *Allocation){
		"volume":    func(a *Allocation) { a.Volume.Amount = 100000 },
		"frequency": func(a *Allocation) { a.Volume.Frequency = "1" },
		"end":       func(a *Allocation) { a.End = &beyondEnd },
		"open end":  func(a *Allocation) { a.End = nil },
		"start":     func(a *Allocation) { a.Start = Date(2026, 1, 1) },
		"budget":    func(a *Allocation) { a.BudgetCents = 1 },
	} {
		a := within
		change(&a)
		var be BeyondDecisionError
		if err := d.Covers(a); !errors.As(err, &be) || !strings.Contains(err.Error(), "AmendDecision") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A register's mandate names a role that decides, and a four-eyes threshold within its
// maximum (probe-C F6).
func TestRegisterRolesAndThresholds(t *testing.T) {
	r := DefaultMandateRegister("GM0363")
	r.Mandates = append([]Mandate{}, r.Mandates...)
	r.Mandates[0].Role = "evil_role"
	r.Mandates[1].Role = "front_office" // a MUNICIPALITY role, but not one that decides
	r.Mandates[2].MaxVolume, r.Mandates[2].FourEyesAboveVolume = 10, 50
	fields := map[string]bool{}
	for _, v := range r.Validate(testCodes(t)) {
		fields[v.Field] = true
	}
	for _, f := range []string{"mandates[0].role", "mandates[1].role", "mandates[2].four_eyes_above_volume"} {
		if !fields[f] {
			t.Errorf("%s not reported: %v", f, fields)
		}
	}
}

// The Wmo term runs from the application (aanvraag), not the report (melding) the intake
// received: Wmo 2015 art. 2.3.2 lid 1 gives six weeks to investigate after the report, art.
// 2.3.5 lid 1 two weeks to decide after the application. An earlier release took the intake's
// receipt as the application, so a Wmo decision fell due two weeks after the report.
func TestApplicationDateRunsFromTheAanvraag(t *testing.T) {
	report, today := Date(2026, time.March, 2), Date(2026, time.April, 20)
	at := func(d time.Time) *time.Time { return &d }
	violation := func(err error, want string) {
		t.Helper()
		var v RuleViolation
		if !errors.As(err, &v) || v.Field != "application_date" || !strings.Contains(v.Reason, want) {
			t.Fatalf("want a violation of application_date saying %q, got %v", want, err)
		}
	}
	// Wmo: required, whatever the intake's receipt; the reason says why.
	_, err := ApplicationDate(BasisWmo, nil, report, today)
	violation(err, "not the report (melding)")
	_, err = ApplicationDate(BasisWmo, nil, time.Time{}, today)
	violation(err, "runs from the application (aanvraag)")
	// Not before the report: the application follows it.
	_, err = ApplicationDate(BasisWmo, at(report.AddDate(0, 0, -1)), report, today)
	violation(err, "cannot be before 2026-03-02")
	// Not in the future.
	_, err = ApplicationDate(BasisWmo, at(today.AddDate(0, 0, 1)), report, today)
	violation(err, "future")
	for _, ok := range []time.Time{report, Date(2026, time.April, 13), today} {
		if got, err := ApplicationDate(BasisWmo, at(ok), report, today); err != nil || !got.Equal(ok) {
			t.Fatalf("Wmo application on %v: %v %v", ok, got, err)
		}
	}
	// The due date then runs from the application: two weeks after 13 April 2026 is 27 April,
	// King's Day, so 28 April; from the report it would have been 16 March.
	if due := NewCalendar().DecisionDueDate(BasisWmo, Date(2026, time.April, 13)); !due.Equal(Date(2026, time.April, 28)) {
		t.Fatalf("Wmo due date %v", due)
	}
	// Jeugdwet: no report stage, the request for help is the application; an earlier date
	// given is accepted (the term ends earlier, never later).
	if got, err := ApplicationDate(BasisJeugdwet, nil, report, today); err != nil || !got.Equal(report) {
		t.Fatalf("Jeugdwet default: %v %v", got, err)
	}
	if got, err := ApplicationDate(BasisJeugdwet, nil, time.Time{}, today); err != nil || !got.Equal(today) {
		t.Fatalf("Jeugdwet without an intake: %v %v", got, err)
	}
	if got, err := ApplicationDate(BasisJeugdwet, at(report.AddDate(0, 0, -3)), report, today); err != nil || !got.Equal(report.AddDate(0, 0, -3)) {
		t.Fatalf("Jeugdwet application before the intake: %v %v", got, err)
	}
	_, err = ApplicationDate(BasisJeugdwet, at(today.AddDate(0, 0, 1)), report, today)
	violation(err, "future")
}

// The Wmo investigation runs six weeks from the report, extended past weekends and holidays
// (Algemene termijnenwet art. 1).
func TestInvestigationDue(t *testing.T) {
	cal := NewCalendar()
	for _, c := range []struct{ report, want time.Time }{
		{Date(2026, time.March, 2), Date(2026, time.April, 13)},    // a Monday, six weeks later a Monday
		{Date(2026, time.February, 21), Date(2026, time.April, 7)}, // Saturday 4 April, Easter Monday 6 April: Tuesday
		{Date(2025, time.March, 15), Date(2025, time.April, 28)},   // Saturday 26 April 2025 (King's Day), Sunday: Monday
	} {
		if got := cal.InvestigationDue(c.report); !got.Equal(c.want) {
			t.Errorf("investigation after a report on %v ends %v, want %v", c.report, got, c.want)
		}
	}
}

// Awb art. 6:9: an objection is on time when received within the term (lid 1), or, sent by
// post, when posted within the term and received no later than a week after it (lid 2). An
// earlier release judged by the day of receipt alone.
func TestObjectionOnTimeByPost(t *testing.T) {
	cal := NewCalendar()
	at := func(d time.Time) *time.Time { return &d }
	wed := Date(2026, time.April, 22) // a term ending on Wednesday
	mon := Date(2026, time.April, 20) // a term ending on Monday: a week later is King's Day 2026
	for _, c := range []struct {
		name               string
		deadline, received time.Time
		posted             *time.Time
		want               bool
	}{
		{"received on the last day", wed, wed, nil, true},
		{"received a day late, not by post", wed, wed.AddDate(0, 0, 1), nil, false},
		{"posted on the last day, received a week later", wed, Date(2026, time.April, 29), at(wed), true},
		{"posted in the term, received the day after the week", wed, Date(2026, time.April, 30), at(Date(2026, time.April, 20)), false},
		{"posted the day after the term", wed, Date(2026, time.April, 24), at(Date(2026, time.April, 23)), false},
		{"posted in the term, received in the term", wed, Date(2026, time.April, 21), at(Date(2026, time.April, 20)), true},
		{"the week ends on King's Day: the next day still counts", mon, Date(2026, time.April, 28), at(mon), true},
		{"and the day after that does not", mon, Date(2026, time.April, 29), at(mon), false},
	} {
		if got := cal.ObjectionOnTime(c.deadline, c.received, c.posted); got != c.want {
			t.Errorf("%s: on time %v, want %v", c.name, got, c.want)
		}
	}

	d := draft(t, BasisWmo, "02", 4, 0)
	reg := DefaultMandateRegister("GM0363")
	if err := d.Propose("p", testCodes(t), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Sign(Signature{User: "o", Role: "wmo_consultant", At: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}, reg); err != nil {
		t.Fatal(err)
	}
	if err := d.Send(time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC), cal); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		received, posted time.Time
		reason           string
	}{
		{Date(2026, 4, 24), Date(2026, 4, 25), "cannot be after received_on"},
		{Date(2026, 4, 24), Date(2026, 3, 10), "before the decision was sent"},
		{Date(2026, 4, 30), Date(2026, 5, 2), "future"},
	} {
		err := d.RegisterObjection(c.received, at(c.posted), now, cal)
		var v RuleViolation
		if !errors.As(err, &v) || v.Field != "posted_on" || !strings.Contains(v.Reason, c.reason) {
			t.Errorf("posted %v, received %v: want posted_on refused (%s), got %v", c.posted, c.received, c.reason, err)
		}
	}
	if err := d.RegisterObjection(Date(2026, 4, 28), at(Date(2026, 4, 22)), now, cal); err != nil || !d.Objection.OnTime ||
		!d.Objection.PostedOn.Equal(Date(2026, 4, 22)) {
		t.Fatalf("posted on the last day, received within the week: %+v %v", d.Objection, err)
	}
}
