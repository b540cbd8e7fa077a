package domain

import (
	"errors"
	"testing"
	"time"
)

func TestClarify(t *testing.T) {
	now := time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC) // already 11 March in the Netherlands
	received := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	day := func(s string) time.Time { d, _ := time.Parse(DateLayout, s); return d }
	for _, tc := range []struct {
		status Status
		heldOn string
		field  string // "" = allowed; "-" = refused as a transition
	}{
		{StatusReceived, "2026-03-02", ""},
		{StatusInTriage, "2026-03-11", ""}, // the Dutch today
		{StatusInTriage, "2026-03-12", "held_on"},
		{StatusInTriage, "2026-03-01", "held_on"},
		{StatusAdvised, "2026-03-05", "-"},
		{StatusWithdrawn, "2026-03-05", "-"},
	} {
		in := Intake{Status: tc.status, ReceivedAt: received}
		err := in.Clarify(Clarification{HeldOn: day(tc.heldOn)}, now)
		var ce *ClarificationError
		switch tc.field {
		case "":
			if err != nil {
				t.Errorf("%s on %s: %v", tc.status, tc.heldOn, err)
			}
		case "-":
			if !errors.Is(err, ErrTransition) {
				t.Errorf("%s: want a refused transition, got %v", tc.status, err)
			}
		default:
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Errorf("%s on %s: want a violation of %s, got %v", tc.status, tc.heldOn, tc.field, err)
			}
		}
	}
}
