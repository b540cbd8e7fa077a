package domain

import (
	"errors"
	"testing"
	"time"
)

type transition struct{ from, to Status }

// allowed is DESIGN §4 written out by hand, independent of the table in case.go.
var allowed = []transition{
	{StatusRegistered, StatusActive},
	{StatusActive, StatusPlanAdopted},
	{StatusPlanAdopted, StatusInProgress},
	{StatusInProgress, StatusScaledDown}, {StatusScaledDown, StatusInProgress},
	{StatusInProgress, StatusWatch}, {StatusScaledDown, StatusWatch},
	{StatusWatch, StatusActive},
	{StatusRegistered, StatusHandedOver}, {StatusActive, StatusHandedOver}, {StatusPlanAdopted, StatusHandedOver},
	{StatusInProgress, StatusHandedOver}, {StatusScaledDown, StatusHandedOver}, {StatusWatch, StatusHandedOver},
	{StatusInProgress, StatusClosed}, {StatusScaledDown, StatusClosed}, {StatusWatch, StatusClosed},
}

func TestAllowedTransitions(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range allowed {
		if !CanTransition(tc.from, tc.to) {
			t.Errorf("%s → %s should be allowed", tc.from, tc.to)
		}
		c := Case{Status: tc.from}
		if err := c.Transition(tc.to, at); err != nil || c.Status != tc.to {
			t.Errorf("Transition %s → %s: err=%v status=%s", tc.from, tc.to, err, c.Status)
		}
		if tc.to.Final() != (c.ClosedAt != nil) {
			t.Errorf("%s → %s: closed_at set=%v, want %v", tc.from, tc.to, c.ClosedAt != nil, tc.to.Final())
		}
	}
}

// TestEveryOtherTransitionIsForbidden checks the whole from × to matrix, so a transition
// added to the table by mistake fails here.
func TestEveryOtherTransitionIsForbidden(t *testing.T) {
	ok := map[transition]bool{}
	for _, tc := range allowed {
		ok[tc] = true
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			if ok[transition{from, to}] {
				continue
			}
			if CanTransition(from, to) {
				t.Errorf("%s → %s should be forbidden", from, to)
			}
			c := Case{Status: from}
			err := c.Transition(to, time.Now())
			var te *TransitionError
			if !errors.As(err, &te) || te.From != from || te.To != to || !errors.Is(err, ErrTransition) {
				t.Errorf("%s → %s: want TransitionError naming both, got %v", from, to, err)
			}
			if c.Status != from {
				t.Errorf("%s → %s: a refused transition changed the status to %s", from, to, c.Status)
			}
		}
	}
}

func TestForbiddenSamples(t *testing.T) {
	for _, tc := range []transition{
		{StatusRegistered, StatusPlanAdopted}, // no plan without a director
		{StatusRegistered, StatusClosed},      // closing needs care to have run
		{StatusActive, StatusClosed},
		{StatusActive, StatusWatch},
		{StatusWatch, StatusInProgress}, // reopening goes through ACTIVE
		{StatusClosed, StatusActive},    // final
		{StatusHandedOver, StatusActive},
		{StatusClosed, StatusHandedOver},
		{StatusActive, StatusActive},
	} {
		if CanTransition(tc.from, tc.to) {
			t.Errorf("%s → %s should be forbidden", tc.from, tc.to)
		}
	}
	err := (&Case{Status: StatusClosed}).Transition(StatusActive, time.Now())
	if err == nil || err.Error() != "a case cannot go from CLOSED to ACTIVE" {
		t.Fatalf("message must name from and to, got %v", err)
	}
}

func TestAssignDirector(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := Case{Status: StatusRegistered}
	if err := c.CanRequestAllocation(); !errors.Is(err, ErrNoDirector) {
		t.Fatalf("registered case must not allocate, got %v", err)
	}
	changed, err := c.AssignDirector("prof-1", "00000001000000000100", t0)
	if err != nil || !changed || c.Status != StatusActive || c.Director == nil || c.Director.ProfessionalID != "prof-1" || !c.Director.Since.Equal(t0) {
		t.Fatalf("first director: changed=%v err=%v case=%+v", changed, err, c)
	}
	if err := c.CanRequestAllocation(); err != nil {
		t.Fatalf("active case with director must allocate, got %v", err)
	}
	if changed, err := c.AssignDirector("prof-1", "00000001000000000100", t0.Add(time.Hour)); changed || err != nil || !c.Director.Since.Equal(t0) {
		t.Fatalf("same director again must be a no-op: changed=%v err=%v", changed, err)
	}

	// A handover on a running case keeps its status.
	c.Status = StatusInProgress
	t1 := t0.Add(24 * time.Hour)
	if changed, err := c.AssignDirector("prof-2", "00000001000000000100", t1); !changed || err != nil || c.Status != StatusInProgress || c.Director.ProfessionalID != "prof-2" || !c.Director.Since.Equal(t1) {
		t.Fatalf("handover: changed=%v err=%v case=%+v", changed, err, c)
	}

	for _, final := range []Status{StatusClosed, StatusHandedOver} {
		c := Case{Status: final, Director: &Director{ProfessionalID: "prof-1"}}
		if _, err := c.AssignDirector("prof-2", "00000001000000000100", t1); !errors.Is(err, ErrTransition) {
			t.Errorf("%s: assigning a director must be refused, got %v", final, err)
		}
		if err := c.CanRequestAllocation(); !errors.Is(err, ErrNoDirector) {
			t.Errorf("%s: allocation must be refused, got %v", final, err)
		}
	}
}
