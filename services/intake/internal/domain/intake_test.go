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
		if err := in.StartTriage(); err != nil || in.Status != StatusInTriage {
			t.Errorf("%s: StartTriage: %v, status %s", u, err, in.Status)
		}
	}
	in := Intake{Status: StatusReceived, Urgency: UrgencyCrisis}
	if err := in.StartTriage(); err != nil || in.Status != StatusReceived {
		t.Fatalf("a crisis stays RECEIVED: %v, %s", err, in.Status)
	}
	if err := in.LinkCase("c1"); err != nil || in.Status != StatusCaseOpened || in.CaseID != "c1" {
		t.Fatalf("crisis RECEIVED → CASE_OPENED: %v, %s, %q", err, in.Status, in.CaseID)
	}
}

func TestReceiveSetsTriageDue(t *testing.T) {
	now := time.Date(2026, 3, 27, 16, 30, 0, 0, time.UTC) // a Friday: calendar days for now
	var in Intake
	in.Receive(now)
	if in.Status != StatusReceived || !in.ReceivedAt.Equal(now) || !in.TriageDue.Equal(now.AddDate(0, 0, 5)) {
		t.Fatalf("got %s %v %v", in.Status, in.ReceivedAt, in.TriageDue)
	}
}

func TestSignalUrgency(t *testing.T) {
	cases := []struct {
		crisis bool
		source string
		want   Urgency
	}{
		{true, "GP", UrgencyCrisis}, {true, SourceVeiligThuis, UrgencyCrisis},
		{false, SourceVeiligThuis, UrgencyHigh}, {false, "HOUSING_CORPORATION", UrgencyNormal},
	}
	for _, tc := range cases {
		if got := SignalUrgency(tc.crisis, tc.source); got != tc.want {
			t.Errorf("SignalUrgency(%v, %s) = %s, want %s", tc.crisis, tc.source, got, tc.want)
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
