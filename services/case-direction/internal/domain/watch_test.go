package domain

import (
	"errors"
	"testing"
	"time"
)

func TestEvaluationDecisions(t *testing.T) {
	until := t0.AddDate(0, 3, 0)
	for _, tc := range []struct {
		from     Status
		decision string
		to       Status
		refused  bool
	}{
		{StatusInProgress, DecisionScaleDown, StatusScaledDown, false},
		{StatusScaledDown, DecisionScaleUp, StatusInProgress, false},
		{StatusInProgress, DecisionScaleUp, StatusInProgress, false},
		{StatusInProgress, DecisionWatch, StatusWatch, false},
		{StatusScaledDown, DecisionWatch, StatusWatch, false},
		{StatusPlanAdopted, DecisionContinue, StatusPlanAdopted, false},
		{StatusWatch, DecisionClose, StatusWatch, false},
		{StatusPlanAdopted, DecisionScaleDown, StatusPlanAdopted, true},
		{StatusPlanAdopted, DecisionWatch, StatusPlanAdopted, true},
		{StatusWatch, DecisionScaleUp, StatusWatch, true},
		{StatusActive, DecisionContinue, StatusActive, true},
		{StatusClosed, DecisionContinue, StatusClosed, true},
	} {
		c := Case{Status: tc.from}
		_, _, err := c.Evaluate(tc.decision, &Watch{IntervalDays: 14, Until: until}, t0)
		if (err != nil) != tc.refused || c.Status != tc.to || !errors.Is(errOrNil(err), ErrTransition) != !tc.refused {
			t.Errorf("%s + %s: err=%v status=%s, want %s refused=%v", tc.from, tc.decision, err, c.Status, tc.to, tc.refused)
		}
		if tc.decision == DecisionWatch && !tc.refused {
			if c.Watch == nil || c.Watch.NextCheckAt == nil || !c.Watch.NextCheckAt.Equal(t0.AddDate(0, 0, 14)) {
				t.Errorf("%s + WATCH: next check-in one interval on, got %+v", tc.from, c.Watch)
			}
		}
	}
}

func errOrNil(err error) error {
	if err == nil {
		return errors.New("none")
	}
	return err
}

func TestPilotLight(t *testing.T) {
	until := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	c := Case{Status: StatusInProgress}
	if _, _, err := c.Evaluate(DecisionWatch, &Watch{IntervalDays: 14, Until: until}, t0); err != nil {
		t.Fatal(err)
	}
	// Missed check-ins: each moves the next one interval on, until the end date.
	c.Watch.MissCheckIn()
	if c.Watch.Missed != 1 || !c.Watch.NextCheckAt.Equal(t0.AddDate(0, 0, 28)) {
		t.Fatalf("after one miss: %+v", c.Watch)
	}
	c.Watch.MissCheckIn()
	if c.Watch.Missed != 2 || c.Watch.NextCheckAt != nil {
		t.Fatalf("no check-in is due after the end date (%s): %+v", until, c.Watch.NextCheckAt)
	}
	// A check-in restarts the interval from itself.
	at := t0.AddDate(0, 0, 10)
	if err := c.CheckIn(false, at); err != nil || !c.Watch.LastCheckInAt.Equal(at) || !c.Watch.NextCheckAt.Equal(at.AddDate(0, 0, 14)) || c.Status != StatusWatch {
		t.Fatalf("check-in: %v %+v", err, c.Watch)
	}
	// Reopening: WATCH → ACTIVE, pilot light off.
	if err := c.CheckIn(true, at); err != nil || c.Status != StatusActive || c.Watch != nil {
		t.Fatalf("reopen: %v %+v", err, c)
	}
	if err := c.CheckIn(false, at); !errors.Is(err, ErrTransition) {
		t.Fatalf("no check-in outside WATCH, got %v", err)
	}
}

func TestHandOverAndStart(t *testing.T) {
	for _, st := range Statuses {
		c := Case{Status: st}
		err := c.HandOver(Handover{Recipient: HandoverVeiligThuis, RecipientOIN: "00000001000000000200"}, t0)
		if st.Final() != (err != nil) {
			t.Errorf("%s: hand over err=%v", st, err)
		}
		if err == nil && (c.Status != StatusHandedOver || c.Result != "HANDED_OVER" || c.ClosedAt == nil) {
			t.Errorf("%s: after handover %+v", st, c)
		}
	}
	c := Case{Status: StatusPlanAdopted}
	if err := c.StartExecution(t0); err != nil || c.Status != StatusInProgress {
		t.Fatalf("start: %v %s", err, c.Status)
	}
	var te *TransitionError
	if err := c.StartExecution(t0); !errors.As(err, &te) || te.From != StatusInProgress || te.To != StatusInProgress {
		t.Fatalf("second start: %v", err)
	}
}

// TestHandOverToOwnMunicipalityIsRefused: "another municipality" is not the case's own
// (probe-B F3); another one is taken and recorded.
func TestHandOverToOwnMunicipalityIsRefused(t *testing.T) {
	c := Case{Status: StatusInProgress, Municipality: "GM0363"}
	var fe *FieldError
	if err := c.HandOver(Handover{Recipient: HandoverOtherMunicipality, Municipality: "GM0363"}, t0); !errors.As(err, &fe) ||
		fe.Field != "municipality_code" || c.Status != StatusInProgress || c.Handover != nil {
		t.Fatalf("handover to the own municipality: want a violation of municipality_code and nothing changed, got %v %+v", err, c)
	}
	if err := c.HandOver(Handover{Recipient: HandoverOtherMunicipality, Municipality: "GM0344"}, t0); err != nil ||
		c.Status != StatusHandedOver || c.Handover.Municipality != "GM0344" || !c.Handover.At.Equal(t0) {
		t.Fatalf("handover to another municipality: %v %+v", err, c)
	}
}
