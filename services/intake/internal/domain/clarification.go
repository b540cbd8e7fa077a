package domain

import (
	"fmt"
	"time"
)

// Participant roles in a clarification conversation. Participants are recorded by role (and a
// professional by opaque id), never by name.
const (
	ParticipantResident        = "RESIDENT"
	ParticipantHouseholdMember = "HOUSEHOLD_MEMBER"
	ParticipantInformalCarer   = "INFORMAL_CARER"
	ParticipantProfessional    = "PROFESSIONAL"
	ParticipantInterpreter     = "INTERPRETER"
	ParticipantOther           = "OTHER"
)

// Participant is one participant of a clarification conversation.
type Participant struct {
	Role           string
	ProfessionalID string
}

// Clarification is one clarification conversation (vraagverheldering) on an intake: the day
// it was held, who took part, what was discussed and the next step agreed with the resident.
type Clarification struct {
	ID           string
	HeldOn       time.Time // a calendar date, midnight UTC
	Participants []Participant
	// Summary is what was discussed: confidential free text, stored encrypted.
	Summary    string
	NextStep   string
	RecordedBy string
	RecordedAt time.Time
}

// ClarificationError is a clarification whose day does not fit the intake: INVALID_ARGUMENT on
// Field in apperr's vocabulary.
type ClarificationError struct {
	Field string
	Msg   string
}

func (e *ClarificationError) Error() string { return e.Field + " " + e.Msg }

// RuleViolation makes it a field violation in apperr's vocabulary.
func (e *ClarificationError) RuleViolation() (field, reason string) { return e.Field, e.Msg }

// Clarify checks a clarification conversation recorded at now on the intake: the intake is
// still being clarified (RECEIVED or IN_TRIAGE), and the conversation was held neither in the
// future nor before the intake was received (Dutch calendar days).
func (i *Intake) Clarify(c Clarification, now time.Time) error {
	if i.Status != StatusReceived && i.Status != StatusInTriage {
		return refuse(ErrTransition, "clarification conversations are recorded in %s or %s, not %s", StatusReceived, StatusInTriage, i.Status)
	}
	if c.HeldOn.After(Today(now)) {
		return &ClarificationError{Field: "held_on", Msg: "must not be in the future"}
	}
	if received := Today(i.ReceivedAt); c.HeldOn.Before(received) {
		return &ClarificationError{Field: "held_on", Msg: fmt.Sprintf("must not be before the intake was received (%s)", received.Format(DateLayout))}
	}
	return nil
}
