package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func ams(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, Amsterdam)
}

func codes(t *testing.T) Codes {
	t.Helper()
	c, err := LoadCodes()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodeLists(t *testing.T) {
	c := codes(t)
	if c.Deadlines.Answer != 5 || c.Deadlines.FinalDecisionWeeks != 8 {
		t.Fatalf("deadlines: %+v", c.Deadlines)
	}
	if c.ReferrerTypes["02"] == "" || c.Answers[AnswerRefused] == "" || c.ProductCategories["45"] == "" || c.ProductCategories["02"] == "" {
		t.Fatalf("code lists incomplete: %+v", c)
	}
	if _, ok := c.ProductCategories["99"]; ok {
		t.Fatal("99 is not a product category")
	}
}

// Stop reports: 5 working days after the day care stopped, Dutch holidays excluded.
func TestStopReportOnTimeBoundary(t *testing.T) {
	r := rules(t)
	// Stopped Friday 25 April 2025: Saturday 26 April is King's Day (on a Saturday), 5 May
	// Liberation Day is a Monday holiday in 2025, so the 5th working day is Friday 2 May.
	stopped := day("2025-04-25")
	if got := r.StopReportDeadline(stopped); !got.Equal(day("2025-05-02")) {
		t.Fatalf("deadline %s, want 2025-05-02", got.Format(DateLayout))
	}
	if !r.StopReportedOnTime(stopped, ams(2025, 5, 2, 23, 59)) {
		t.Error("the 5th working day is on time")
	}
	if r.StopReportedOnTime(stopped, ams(2025, 5, 6, 0, 1)) {
		t.Error("after Liberation Day (Mon 5 May) the 6th working day is late")
	}
	// Over Christmas and New Year: stopped Tuesday 23 December 2025 → 24, 29, 30, 31 Dec,
	// 2 Jan 2026 (25, 26 Dec and 1 Jan are holidays).
	if got := r.StopReportDeadline(day("2025-12-23")); !got.Equal(day("2026-01-02")) {
		t.Fatalf("over Christmas: %s", got.Format(DateLayout))
	}
}

// Answers to requests: 5 working days after the Dutch day of receipt.
func TestAnswerDue(t *testing.T) {
	r := rules(t)
	cases := []struct {
		received time.Time
		want     string
	}{
		{ams(2025, 3, 3, 9, 0), "2025-03-10"},   // Monday → next Monday
		{ams(2025, 3, 8, 11, 0), "2025-03-14"},  // received on a Saturday: 5 working days → Friday
		{ams(2025, 3, 2, 23, 30), "2025-03-07"}, // Sunday 23:30 Dutch time is Sunday (22:30 UTC)
		{ams(2026, 4, 2, 10, 0), "2026-04-13"},  // Thursday before Easter 2026: Good Friday and Easter Monday skipped
		{ams(2027, 5, 5, 10, 0), "2027-05-13"},  // Liberation Day 2027 (Wed); Ascension 6 May 2027 skipped
	}
	for _, tc := range cases {
		if got := r.AnswerDue(tc.received); got.Format(DateLayout) != tc.want {
			t.Errorf("received %s: due %s, want %s", tc.received, got.Format(DateLayout), tc.want)
		}
	}
	// Extra non-working day by decree: the Friday after Ascension 2025 (30 May).
	withExtra := NewTimeliness(codes(t), day("2025-05-30"))
	if got := withExtra.AnswerDue(ams(2025, 5, 27, 9, 0)); got.Format(DateLayout) != "2025-06-05" {
		t.Errorf("with 29 and 30 May off: %s, want 2025-06-05", got.Format(DateLayout))
	}
}

// The final decision when under investigation: 8 weeks after receipt, moved to the next
// working day when that is a weekend day or holiday.
func TestDecisionDue(t *testing.T) {
	r := rules(t)
	cases := []struct {
		received time.Time
		want     string
	}{
		{ams(2025, 3, 3, 9, 0), "2025-04-28"},   // 8 weeks → Monday 28 April
		{ams(2025, 2, 24, 9, 0), "2025-04-22"},  // → Easter Monday 21 April 2025 → Tuesday
		{ams(2025, 3, 1, 12, 0), "2025-04-28"},  // received Saturday → Saturday 26 April (King's Day) → Monday
		{ams(2025, 10, 30, 9, 0), "2025-12-29"}, // → Thursday 25 Dec → 26 Dec, weekend → Monday 29 Dec
	}
	for _, tc := range cases {
		if got := r.DecisionDue(tc.received); got.Format(DateLayout) != tc.want {
			t.Errorf("received %s: decision due %s, want %s", tc.received, got.Format(DateLayout), tc.want)
		}
	}
}

func TestRequestAnswers(t *testing.T) {
	r := rules(t)
	received := ams(2025, 3, 3, 9, 0) // answer due Monday 10 March

	onTime := NewRequest(Request{ID: "r1"}, received, r)
	if err := onTime.Answer(RequestGranted, ams(2025, 3, 10, 17, 0), r); err != nil {
		t.Fatal(err)
	}
	if !*onTime.AnsweredOnTime || !*onTime.DecidedOnTime || onTime.Status != RequestGranted || onTime.Overdue(ams(2025, 6, 1, 0, 0), r) {
		t.Fatalf("granted on the due day: %+v", onTime)
	}

	late := NewRequest(Request{ID: "r2"}, received, r)
	if !late.Overdue(ams(2025, 3, 11, 0, 5), r) || late.Overdue(ams(2025, 3, 10, 23, 55), r) {
		t.Fatal("a request not answered after its due day is overdue, on the due day it is not")
	}
	if err := late.Answer(RequestRefused, ams(2025, 3, 11, 9, 0), r); err != nil {
		t.Fatal(err)
	}
	if *late.AnsweredOnTime || *late.DecidedOnTime || late.Overdue(ams(2025, 3, 12, 0, 0), r) {
		t.Fatalf("refused a day late: %+v", late)
	}

	inv := NewRequest(Request{ID: "r3"}, received, r)
	if err := inv.Answer(RequestUnderInvestigation, ams(2025, 3, 7, 10, 0), r); err != nil {
		t.Fatal(err)
	}
	if !*inv.AnsweredOnTime || inv.DecisionDue == nil || inv.DecisionDue.Format(DateLayout) != "2025-04-28" || inv.DecidedAt != nil {
		t.Fatalf("under investigation: %+v", inv)
	}
	if inv.Overdue(ams(2025, 4, 28, 20, 0), r) || !inv.Overdue(ams(2025, 4, 29, 8, 0), r) {
		t.Fatal("under investigation: overdue only after the decision due day")
	}
	if err := inv.Answer(RequestGranted, ams(2025, 4, 29, 8, 0), r); err != nil {
		t.Fatal(err)
	}
	if !*inv.AnsweredOnTime || *inv.DecidedOnTime {
		t.Fatalf("first answer on time, final decision late: %+v", inv)
	}

	for _, tc := range []struct{ from, to RequestStatus }{
		{RequestGranted, RequestRefused}, {RequestRefused, RequestGranted},
		{RequestUnderInvestigation, RequestUnderInvestigation}, {RequestGranted, RequestUnderInvestigation},
	} {
		req := Request{Status: tc.from}
		var te RequestTransitionError
		if err := req.Answer(tc.to, received, r); !errors.As(err, &te) || te.From != tc.from || te.To != tc.to {
			t.Errorf("%s → %s: %v", tc.from, tc.to, err)
		}
	}
}

// The not-started alert: N calendar days after the start date.
func TestNotStartedAlertDue(t *testing.T) {
	start := day("2025-03-01")
	if NotStartedAlertDue(start, day("2025-03-10"), 10) {
		t.Error("day 9 after the start is not yet due")
	}
	if !NotStartedAlertDue(start, day("2025-03-11"), 10) || !NotStartedAlertDue(start, day("2025-04-30"), 10) {
		t.Error("from day 10 after the start it is due")
	}
	if !NotStartedAlertDue(start, day("2025-03-01"), 0) {
		t.Error("with N = 0 the start date itself is due")
	}
	today := day("2025-03-11")
	if cut := NotStartedCutoff(today, 10); !cut.Equal(start) {
		t.Errorf("cutoff %s", cut.Format(DateLayout))
	}
	// The query bound and the rule agree around the boundary.
	for _, s := range []string{"2025-02-28", "2025-03-01", "2025-03-02"} {
		if NotStartedAlertDue(day(s), today, 10) != !day(s).After(NotStartedCutoff(today, 10)) {
			t.Errorf("rule and cutoff disagree for start %s", s)
		}
	}
}

func TestReportStopPauseRestartEnd(t *testing.T) {
	r, c := rules(t), codes(t)
	end := day("2025-12-31")
	a := Allocation{Number: "TW0000000001", Status: StatusIssued, Start: day("2025-03-01"), End: &end}
	if _, err := a.ReportStart(day("2025-03-03"), ams(2025, 3, 4, 9, 0), r); err != nil {
		t.Fatal(err)
	}
	// Pause (20) on 10 March, reported on the 6th working day: late.
	s, err := a.ReportStop(day("2025-03-10"), ams(2025, 3, 18, 9, 0), "20", r, c)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != StatusPaused || s.OnTime || !s.ClosesPeriod || a.StopReason != "20" {
		t.Fatalf("pause: %+v %+v", a, s)
	}
	if _, err := a.ReportStop(day("2025-03-18"), ams(2025, 3, 18, 9, 0), "20", r, c); !errors.As(err, new(TransitionError)) {
		t.Fatalf("a second pause is a forbidden transition: %v", err)
	}
	var rv RuleViolation
	if _, err := a.ReportStart(day("2025-03-09"), ams(2025, 3, 18, 9, 0), r); !errors.As(err, &rv) || rv.Field != "started_on" {
		t.Fatalf("a restart before the pause: %v", err)
	}
	if _, err := a.ReportStart(day("2025-03-17"), ams(2025, 3, 18, 9, 0), r); err != nil || a.Status != StatusStarted || !a.FirstStartedOn.Equal(day("2025-03-03")) {
		t.Fatalf("restart: %v %+v", err, a)
	}
	for name, tc := range map[string]struct {
		on     string
		reason string
		field  string
	}{
		"unknown reason":     {"2025-03-20", "99", "reason_code"},
		"before the restart": {"2025-03-16", "31", "stopped_on"},
		"in the future":      {"2025-03-19", "31", "stopped_on"},
		"after the end date": {"2026-01-02", "31", "stopped_on"},
	} {
		b := a
		var rv RuleViolation
		now := ams(2025, 3, 18, 9, 0)
		if name == "after the end date" {
			now = ams(2026, 1, 5, 9, 0)
		}
		if _, err := b.ReportStop(day(tc.on), now, tc.reason, r, c); !errors.As(err, &rv) || rv.Field != tc.field || b.Status != StatusStarted {
			t.Errorf("%s: %v", name, err)
		}
	}
	s, err = a.ReportStop(day("2025-03-18"), ams(2025, 3, 18, 9, 0), "31", r, c)
	if err != nil || a.Status != StatusEnded || !s.OnTime {
		t.Fatalf("stop as planned: %v %+v", err, a)
	}
	if _, err := a.ReportStop(day("2025-03-18"), ams(2025, 3, 18, 9, 0), "31", r, c); !errors.As(err, new(TransitionError)) {
		t.Fatal("an ended allocation cannot stop again")
	}

	// A paused allocation that never resumes ends with a stop from PAUSED.
	p := Allocation{Number: "TW0000000002", Status: StatusPaused, Start: day("2025-03-01"), StoppedOn: new(day("2025-03-10"))}
	s, err = p.ReportStop(day("2025-03-12"), ams(2025, 3, 12, 9, 0), "33", r, c)
	if err != nil || p.Status != StatusEnded || s.ClosesPeriod {
		t.Fatalf("end after a pause: %v %+v %+v", err, p, s)
	}
	i := Allocation{Status: StatusIssued, Start: day("2025-03-01")}
	if _, err := i.ReportStop(day("2025-03-12"), ams(2025, 3, 12, 9, 0), "31", r, c); !errors.As(err, new(TransitionError)) {
		t.Fatal("an allocation that never started cannot stop")
	}
}

func TestApplyChange(t *testing.T) {
	end := day("2025-12-31")
	base := Allocation{Number: "TW1", Status: StatusIssued, Start: day("2025-03-01"), End: &end, Volume: Volume{4, "04", "2"}, Version: 1}

	a := base
	newEnd, newStart := day("2026-06-30"), day("2025-03-15")
	if err := a.Apply(Change{Reason: ChangeExtension, End: &newEnd, Start: &newStart}); err != nil || a.Version != 2 || !a.End.Equal(newEnd) || !a.Start.Equal(newStart) {
		t.Fatalf("extension: %v %+v", err, a)
	}
	var rv RuleViolation
	same := base
	if err := same.Apply(Change{Reason: ChangeChangedNeed, Volume: &Volume{4, "04", "2"}}); !errors.As(err, &rv) || same.Version != 1 {
		t.Fatalf("a change that changes nothing: %v", err)
	}
	started := base
	started.Status, started.StartedOn = StatusStarted, new(day("2025-04-01"))
	if err := started.Apply(Change{Start: &newStart}); !errors.As(err, &rv) || rv.Field != "start_date" {
		t.Fatalf("start date after care started: %v", err)
	}
	early := day("2025-03-20")
	if err := started.Apply(Change{End: &early}); !errors.As(err, &rv) || rv.Field != "end_date" || started.Version != 1 {
		t.Fatalf("end before care started: %v", err)
	}
	budget := int64(120000)
	if err := started.Apply(Change{BudgetCents: &budget}); err != nil || started.BudgetCents != budget || started.Version != 2 {
		t.Fatalf("budget: %v", err)
	}
	for _, s := range []Status{StatusEnded, StatusWithdrawn} {
		b := base
		b.Status = s
		var se StateError
		if err := b.Apply(Change{End: &newEnd}); !errors.As(err, &se) || se.Status != s {
			t.Errorf("change of %s: %v", s, err)
		}
	}
}

func TestWithdraw(t *testing.T) {
	for _, s := range []Status{StatusIssued, StatusStarted} {
		a := Allocation{Status: s}
		if err := a.Withdraw("NO_LONGER_NEEDED"); err != nil || a.Status != StatusWithdrawn || a.WithdrawalReason != "NO_LONGER_NEEDED" {
			t.Errorf("withdraw from %s: %v", s, err)
		}
	}
	for _, s := range []Status{StatusPaused, StatusEnded, StatusWithdrawn} {
		a := Allocation{Status: s}
		var te TransitionError
		if err := a.Withdraw("OTHER"); !errors.As(err, &te) || te.From != s {
			t.Errorf("withdraw from %s: %v", s, err)
		}
	}
	a := Allocation{Status: StatusIssued}
	if err := a.Withdraw("BECAUSE"); !errors.As(err, new(RuleViolation)) {
		t.Error("unknown reason")
	}
}

func TestProgress(t *testing.T) {
	at := ams(2025, 3, 18, 9, 0)
	goals := []string{"g1", "g2"}
	for s, advised := range map[Status]bool{StatusStarted: true, StatusPaused: true, StatusEnded: false} {
		p, err := Allocation{Status: s, CaseID: "c"}.ReportProgress("p", []string{"g2"}, goals, Reached, at)
		if err != nil || p.ScaleDownAdvised != advised {
			t.Errorf("%s: %v %+v", s, err, p)
		}
	}
	if p, _ := (Allocation{Status: StatusStarted, CaseID: "c"}).ReportProgress("p", goals, goals, OnTrack, at); p.ScaleDownAdvised {
		t.Error("on track advises nothing")
	}
	for _, s := range []Status{StatusIssued, StatusWithdrawn} {
		if _, err := (Allocation{Status: s, CaseID: "c"}).ReportProgress("p", []string{"g1"}, goals, Reached, at); !errors.As(err, new(StateError)) {
			t.Errorf("%s: %v", s, err)
		}
	}
	// Only goals of the allocation's case, and only for an allocation of a case.
	var rv RuleViolation
	if _, err := (Allocation{Status: StatusStarted, CaseID: "c"}).ReportProgress("p", []string{"g1", "g3"}, goals, OnTrack, at); !errors.As(err, &rv) || rv.Field != "goal_ids[1]" {
		t.Errorf("a goal of another case: %v", err)
	}
	if _, err := (Allocation{Status: StatusStarted}).ReportProgress("p", []string{"g1"}, goals, OnTrack, at); !errors.As(err, new(NoCaseError)) {
		t.Errorf("an allocation without a case: %v", err)
	}
}

func TestValidateContract(t *testing.T) {
	c := codes(t)
	to := day("2024-12-31")
	bad := Contract{Model: "MIXED", Products: []Product{{"99", "X"}, {"45", "45A01"}, {"45", "45A01"}}, ValidFrom: day("2025-01-01"), ValidTo: &to, Capacity: -1}
	got := map[string]bool{}
	for _, v := range ValidateContract(bad, c) {
		got[v.Field] = true
	}
	for _, f := range []string{"model", "products[0].category", "products[2]", "valid_to", "capacity"} {
		if !got[f] {
			t.Errorf("%s not reported: %v", f, got)
		}
	}
	if v := ValidateContract(Contract{Model: ModelConsortium, Products: []Product{{"02", "02A01"}}, ValidFrom: day("2025-01-01")}, c); len(v) != 0 {
		t.Errorf("valid contract: %v", v)
	}
}

// A decision no longer in force takes its allocations that have not ended with it, a paused
// one too (probe-C F2); ended and withdrawn ones stay as they are.
func TestWithdrawWithDecision(t *testing.T) {
	for _, s := range []Status{StatusIssued, StatusStarted, StatusPaused} {
		a := Allocation{Status: s}
		if ok, err := a.WithdrawWithDecision("OTHER"); !ok || err != nil || a.Status != StatusWithdrawn || a.WithdrawalReason != "OTHER" {
			t.Errorf("from %s: %v %v %+v", s, ok, err, a)
		}
	}
	for _, s := range []Status{StatusEnded, StatusWithdrawn} {
		a := Allocation{Status: s}
		if ok, err := a.WithdrawWithDecision("OTHER"); ok || err != nil || a.Status != s {
			t.Errorf("from %s: %v %v", s, ok, err)
		}
	}
	if _, err := (&Allocation{Status: StatusPaused}).WithdrawWithDecision("BECAUSE"); !errors.As(err, new(RuleViolation)) {
		t.Error("unknown reason")
	}
}

// A goal's UUID in upper case is the same goal, reported in lower case (probe-C F10).
func TestProgressGoalIDsCaseInsensitive(t *testing.T) {
	goal := "0b8f5a3e-2c1d-4e5f-9a7b-1c2d3e4f5a6b"
	p, err := Allocation{Status: StatusStarted, CaseID: "c"}.ReportProgress("p", []string{strings.ToUpper(goal)}, []string{goal}, OnTrack, ams(2025, 3, 18, 9, 0))
	if err != nil || len(p.GoalIDs) != 1 || p.GoalIDs[0] != goal {
		t.Fatalf("upper-case goal id: %v %+v", err, p)
	}
}

// At most one allocation per request for allocation (probe-C F1); a 317 whose change the
// allocation cannot take is refused as a request, not as a field of the answer (probe-C F10).
func TestRequestAnsweredOnce(t *testing.T) {
	open := Request{ID: "q", Status: RequestReceived}
	if err := open.Unanswered(nil); err != nil {
		t.Fatal(err)
	}
	var ra RequestAnsweredError
	if err := open.Unanswered(&Decision{ID: "d", Number: "GM0363-2026-000001"}); !errors.As(err, &ra) || !strings.Contains(err.Error(), "GM0363-2026-000001") {
		t.Errorf("answered by a decision: %v", err)
	}
	for _, s := range []RequestStatus{RequestGranted, RequestRefused} {
		if err := (Request{ID: "q", Status: s, ResultingAllocation: "TW0000000001"}).Unanswered(nil); !errors.As(err, &ra) || ra.Status != s {
			t.Errorf("%s: %v", s, err)
		}
	}
	started := Allocation{Number: "TW0000000001", Status: StatusStarted, Start: Date(2025, 3, 1), Volume: Volume{Amount: 2, Unit: "04", Frequency: "2"}}
	q := Request{ID: "q", Kind: RequestChange, Start: Date(2025, 2, 1), Volume: started.Volume}
	err := q.GrantRefused(started.Number, started.Apply(q.ChangeFor()))
	var gr GrantRefusedError
	if !errors.As(err, &gr) || errors.As(err, new(RuleViolation)) || !strings.Contains(err.Error(), "start_date") {
		t.Errorf("317 moving the start of started care: %v", err)
	}
}

// A case handed over or closed gets no new allocation or granted decision (probe-C F4).
func TestCaseOpen(t *testing.T) {
	for st, open := range map[string]bool{"": true, "IN_PROGRESS": true, "REGISTERED": true, "HANDED_OVER": false, "CLOSED": false} {
		if err := CaseOpen("c", st); (err == nil) != open {
			t.Errorf("%q: %v", st, err)
		}
	}
}
