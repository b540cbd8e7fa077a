package domain

import (
	"errors"
	"strings"
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
		// Every decision in every status that can be evaluated: the moves of the state
		// diagram, the decisions that keep the status, and refusals for the rest (a decision
		// that would do nothing it says, such as SCALE_UP on a running case, is refused, not
		// recorded as if it had).
		{StatusPlanAdopted, DecisionContinue, StatusPlanAdopted, false},
		{StatusPlanAdopted, DecisionScaleUp, StatusPlanAdopted, true}, // StartPlanExecution starts the work
		{StatusPlanAdopted, DecisionScaleDown, StatusPlanAdopted, true},
		{StatusPlanAdopted, DecisionWatch, StatusPlanAdopted, true},
		{StatusPlanAdopted, DecisionClose, StatusPlanAdopted, true}, // CloseCase cannot close it
		{StatusInProgress, DecisionContinue, StatusInProgress, false},
		{StatusInProgress, DecisionScaleUp, StatusInProgress, true},
		{StatusInProgress, DecisionScaleDown, StatusScaledDown, false},
		{StatusInProgress, DecisionWatch, StatusWatch, false},
		{StatusInProgress, DecisionClose, StatusInProgress, false},
		{StatusScaledDown, DecisionContinue, StatusScaledDown, false},
		{StatusScaledDown, DecisionScaleUp, StatusInProgress, false},
		{StatusScaledDown, DecisionScaleDown, StatusScaledDown, true},
		{StatusScaledDown, DecisionWatch, StatusWatch, false},
		{StatusScaledDown, DecisionClose, StatusScaledDown, false},
		{StatusWatch, DecisionContinue, StatusWatch, false},
		{StatusWatch, DecisionScaleUp, StatusWatch, true},
		{StatusWatch, DecisionScaleDown, StatusWatch, true},
		{StatusWatch, DecisionWatch, StatusWatch, false}, // renews the pilot light
		{StatusWatch, DecisionClose, StatusWatch, false},
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

// The refusals say what the decision does and what to do instead; a case reopened from WATCH
// (ACTIVE, with the plan of the care before) is told to adopt a new plan version, not that it
// lacks an adopted plan.
func TestEvaluationRefusalsSayWhatIsNeeded(t *testing.T) {
	until := t0.AddDate(0, 3, 0)
	for _, tc := range []struct {
		c        Case
		decision string
		want     []string
	}{
		{Case{Status: StatusInProgress}, DecisionScaleUp, []string{"IN_PROGRESS", "SCALE_UP", "SCALED_DOWN case back to IN_PROGRESS", "CONTINUE"}},
		{Case{Status: StatusScaledDown}, DecisionScaleDown, []string{"SCALED_DOWN", "SCALE_DOWN", "IN_PROGRESS case to SCALED_DOWN", "CONTINUE"}},
		{Case{Status: StatusPlanAdopted}, DecisionClose, []string{"PLAN_ADOPTED", "CLOSE", "CloseCase", "StartPlanExecution"}},
		{Case{Status: StatusWatch}, DecisionScaleDown, []string{"WATCH", "CheckIn"}},
		{Case{Status: StatusActive, Plan: &Plan{Version: 1}}, DecisionContinue, []string{"reopened", "version 1", "AdoptPlan", "StartPlanExecution"}},
		{Case{Status: StatusActive}, DecisionContinue, []string{"no plan", "AdoptPlan"}},
		{Case{Status: StatusClosed}, DecisionContinue, []string{"no longer open"}},
	} {
		_, _, err := tc.c.Evaluate(tc.decision, &Watch{IntervalDays: 14, Until: until}, t0)
		if err == nil || !errors.Is(err, ErrTransition) {
			t.Errorf("%s + %s: want a refusal, got %v", tc.c.Status, tc.decision, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s + %s: %q does not say %q", tc.c.Status, tc.decision, err, w)
			}
		}
		if strings.Contains(err.Error(), "needs an adopted plan") {
			t.Errorf("%s + %s: %q", tc.c.Status, tc.decision, err)
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

// The meldcode step only moves forward: a later step (skipping is allowed) moves it, the same
// step again or an earlier one is refused as FAILED_PRECONDITION.
func TestMeldcodeOnlyMovesForward(t *testing.T) {
	for _, tc := range []struct {
		from, to int
		refused  bool
		says     string
	}{
		{0, 1, false, ""}, {1, 2, false, ""}, {2, 5, false, ""},
		{2, 2, true, "at step 2 (CONSULT) already"},
		{5, 1, true, "cannot go back from step 5 (DECIDE) to step 1 (MAP_SIGNALS)"},
	} {
		err := MoveMeldcode(SafetyDomesticViolence, tc.from, tc.to)
		if (err != nil) != tc.refused || (err != nil && !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("%d → %d: %v", tc.from, tc.to, err)
		}
	}
}
