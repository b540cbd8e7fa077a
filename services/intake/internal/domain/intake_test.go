package domain

import (
	"errors"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	allowed := []struct{ from, to Status }{
		{StatusReceived, StatusInTriage}, {StatusReceived, StatusMerged}, {StatusReceived, StatusCaseOpened},
		{StatusInTriage, StatusAdvised}, {StatusInTriage, StatusReferred}, {StatusInTriage, StatusCaseOpened},
		{StatusInTriage, StatusNotReached}, {StatusInTriage, StatusWithdrawn}, {StatusInTriage, StatusMerged},
	}
	for _, tc := range allowed {
		t.Run(string(tc.from)+"→"+string(tc.to), func(t *testing.T) {
			if !CanTransition(tc.from, tc.to) {
				t.Fatalf("%s → %s should be allowed", tc.from, tc.to)
			}
			in := Intake{Status: tc.from, Urgency: UrgencyCrisis}
			if err := in.TransitionTo(tc.to); err != nil || in.Status != tc.to {
				t.Fatalf("TransitionTo: %v, status %s", err, in.Status)
			}
		})
	}
	forbidden := []struct{ from, to Status }{
		{StatusReceived, StatusAdvised}, {StatusReceived, StatusReferred}, {StatusReceived, StatusNotReached},
		{StatusReceived, StatusWithdrawn}, {StatusInTriage, StatusReceived}, {StatusCaseOpened, StatusInTriage},
		{StatusCaseOpened, StatusMerged}, {StatusAdvised, StatusCaseOpened}, {StatusMerged, StatusInTriage},
		{StatusWithdrawn, StatusInTriage}, {StatusNotReached, StatusCaseOpened}, {StatusReferred, StatusAdvised},
	}
	for _, tc := range forbidden {
		t.Run(string(tc.from)+"↛"+string(tc.to), func(t *testing.T) {
			if CanTransition(tc.from, tc.to) {
				t.Fatalf("%s → %s should be forbidden", tc.from, tc.to)
			}
			in := Intake{Status: tc.from, Urgency: UrgencyCrisis}
			if err := in.TransitionTo(tc.to); !errors.Is(err, ErrTransition) || in.Status != tc.from {
				t.Fatalf("want ErrTransition and unchanged status, got %v, %s", err, in.Status)
			}
		})
	}
}

func TestOnlyACrisisSkipsTriage(t *testing.T) {
	for _, u := range []Urgency{UrgencyNormal, UrgencyHigh} {
		in := Intake{Status: StatusReceived, Urgency: u}
		if err := in.LinkCase("c1"); !errors.Is(err, ErrTransition) {
			t.Errorf("%s: RECEIVED → CASE_OPENED must be refused, got %v", u, err)
		}
		if err := in.Decide(Decision{Outcome: OutcomeCaseDirection, Rule: "x"}); !errors.Is(err, ErrTransition) {
			t.Errorf("%s: deciding from RECEIVED must be refused, got %v", u, err)
		}
		if err := in.StartTriage("anna"); err != nil || in.Status != StatusInTriage || in.TriageProfessional != "anna" {
			t.Errorf("%s: StartTriage: %v, status %s", u, err, in.Status)
		}
	}
	in := Intake{Status: StatusReceived, Urgency: UrgencyCrisis}
	if err := in.StartTriage("anna"); !errors.Is(err, ErrTransition) || in.Status != StatusReceived {
		t.Fatalf("a crisis skips triage: %v, %s", err, in.Status)
	}
	if err := in.Decide(Decision{Outcome: OutcomeCaseDirection, Rule: "crisis"}); err != nil || in.Status != StatusReceived {
		t.Fatalf("crisis decision: %v, %s", err, in.Status)
	}
	if err := in.LinkCase("c1"); err != nil || in.Status != StatusCaseOpened || in.CaseID != "c1" {
		t.Fatalf("crisis RECEIVED → CASE_OPENED: %v, %s, %q", err, in.Status, in.CaseID)
	}
}

func TestReceiveSetsTriageDueAndPinsThePolicy(t *testing.T) {
	now := time.Date(2026, 3, 27, 16, 30, 0, 0, time.UTC)
	var in Intake
	in.Receive(now, DefaultPolicy("GM0363"))
	if in.Status != StatusReceived || !in.ReceivedAt.Equal(now) || !in.TriageDue.Equal(now.AddDate(0, 0, 5)) || in.PolicyVersion != 0 {
		t.Fatalf("got %s %v %v v%d", in.Status, in.ReceivedAt, in.TriageDue, in.PolicyVersion)
	}
	in.Receive(now, Policy{Version: 4, TriageDays: 10})
	if !in.TriageDue.Equal(now.AddDate(0, 0, 10)) || in.PolicyVersion != 4 {
		t.Fatalf("policy term: %v v%d", in.TriageDue, in.PolicyVersion)
	}
	if in.Overdue(now.AddDate(0, 0, 10)) || !in.Overdue(now.AddDate(0, 0, 10).Add(time.Second)) {
		t.Fatal("overdue only after the deadline")
	}
	in.Status = StatusAdvised
	if in.Overdue(now.AddDate(1, 0, 0)) {
		t.Fatal("a closed intake is never overdue")
	}
}

func TestDecide(t *testing.T) {
	cases := []struct {
		outcome Outcome
		want    Status
	}{
		{OutcomeAdvice, StatusAdvised}, {OutcomeCommunityReferral, StatusReferred},
		{OutcomeCustomProvision, StatusReferred}, {OutcomeCaseDirection, StatusInTriage},
	}
	for _, tc := range cases {
		in := Intake{Status: StatusInTriage, Urgency: UrgencyNormal}
		d := Decision{Outcome: tc.outcome, Rule: "r", PolicyVersion: 3}
		if err := in.Decide(d); err != nil || in.Status != tc.want || in.TriageRule != "r" || in.PolicyVersion != 3 || in.TriageOutcome != tc.outcome {
			t.Errorf("%s: %v, %+v", tc.outcome, err, in)
		}
	}
	for _, from := range []Status{StatusAdvised, StatusReferred, StatusCaseOpened, StatusNotReached, StatusWithdrawn, StatusMerged} {
		in := Intake{Status: from, Urgency: UrgencyCrisis}
		if err := in.Decide(Decision{Outcome: OutcomeAdvice, Rule: "r"}); !errors.Is(err, ErrTransition) || in.Status != from {
			t.Errorf("decide from %s: %v", from, err)
		}
	}
}

func TestContactAttempts(t *testing.T) {
	in := Intake{Status: StatusInTriage}
	for i := 1; i <= 2; i++ {
		if err := in.RecordContactAttempt(false, 3); err != nil || in.Status != StatusInTriage || in.FailedContactAttempts != i {
			t.Fatalf("attempt %d: %v %s %d", i, err, in.Status, in.FailedContactAttempts)
		}
	}
	if err := in.RecordContactAttempt(true, 3); err != nil || in.FailedContactAttempts != 2 || in.Status != StatusInTriage {
		t.Fatalf("a reached attempt counts nothing: %v %+v", err, in)
	}
	if err := in.RecordContactAttempt(false, 3); err != nil || in.Status != StatusNotReached || in.FailedContactAttempts != 3 {
		t.Fatalf("third failed attempt: %v %s", err, in.Status)
	}
	if err := in.RecordContactAttempt(false, 3); !errors.Is(err, ErrTransition) {
		t.Fatalf("after NOT_REACHED: %v", err)
	}
	received := Intake{Status: StatusReceived}
	if err := received.RecordContactAttempt(false, 1); !errors.Is(err, ErrTransition) {
		t.Fatalf("contact attempts need triage: %v", err)
	}
}

func TestMergeInto(t *testing.T) {
	base := func(id string, st Status) Intake {
		return Intake{ID: id, Status: st, HouseholdID: "h1", TeamOIN: "t1", SignalIDs: []string{"s-" + id}}
	}
	dup, into := base("a", StatusReceived), base("b", StatusInTriage)
	if err := dup.MergeInto(&into); err != nil || dup.Status != StatusMerged || dup.MergedInto != "b" ||
		len(into.SignalIDs) != 2 || into.SignalIDs[1] != "s-a" {
		t.Fatalf("merge: %v %+v %+v", err, dup, into)
	}
	cases := []struct {
		name      string
		dup, into Intake
		want      error
	}{
		{"itself", base("a", StatusReceived), base("a", StatusReceived), ErrMerge},
		{"into a closed intake", base("a", StatusReceived), base("b", StatusAdvised), ErrMerge},
		{"other household", base("a", StatusReceived), func() Intake { i := base("b", StatusReceived); i.HouseholdID = "h2"; return i }(), ErrMerge},
		{"other team", base("a", StatusReceived), func() Intake { i := base("b", StatusReceived); i.TeamOIN = "t2"; return i }(), ErrMerge},
		{"a closed duplicate", base("a", StatusCaseOpened), base("b", StatusReceived), ErrTransition},
	}
	for _, tc := range cases {
		if err := tc.dup.MergeInto(&tc.into); !errors.Is(err, tc.want) || tc.dup.Status == StatusMerged {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
}

func TestSignalUrgency(t *testing.T) {
	cases := []struct {
		crisis   bool
		source   string
		meldcode bool
		want     Urgency
	}{
		{true, "GP", false, UrgencyCrisis}, {true, SourceVeiligThuis, false, UrgencyCrisis}, {true, "GP", true, UrgencyCrisis},
		{false, SourceVeiligThuis, false, UrgencyHigh}, {false, "HOUSING_CORPORATION", false, UrgencyNormal},
		{false, "GP", true, UrgencyHigh},
	}
	for _, tc := range cases {
		if got := SignalUrgency(tc.crisis, tc.source, tc.meldcode); got != tc.want {
			t.Errorf("SignalUrgency(%v, %s, meldcode %v) = %s, want %s", tc.crisis, tc.source, tc.meldcode, got, tc.want)
		}
	}
}

func TestConfidentiality(t *testing.T) {
	cases := []struct {
		in   Intake
		want string
	}{
		{Intake{SafetyConcern: true}, "SAFETY"},
		{Intake{SourceType: SourceVeiligThuis}, "SAFETY"},
		{Intake{LifeDomains: []string{"HOUSING", "MENTAL_HEALTH"}}, "SPECIAL"},
		{Intake{LifeDomains: []string{"HOUSING"}}, "PERSONAL"},
	}
	for _, tc := range cases {
		if got := tc.in.Confidentiality(); got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.in, got, tc.want)
		}
	}
}
