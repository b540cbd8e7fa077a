// Package domain holds the referral service's rules: what a signal is, which partner may send
// which kind, and how a signal moves from receipt to feedback. No transport or database here.
package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// SourceType is the kind of partner a signal comes from.
type SourceType string

// Source types.
const (
	SourceGP                 SourceType = "GP"
	SourcePracticeNurse      SourceType = "PRACTICE_NURSE"
	SourceVeiligThuis        SourceType = "VEILIG_THUIS"
	SourceHousingCorporation SourceType = "HOUSING_CORPORATION"
	SourceEnergy             SourceType = "ENERGY"
	SourceWater              SourceType = "WATER"
	SourceHealthInsurer      SourceType = "HEALTH_INSURER"
	SourcePolice             SourceType = "POLICE"
	SourceCreditBank         SourceType = "CREDIT_BANK"
	SourceVIRMatch           SourceType = "VIR_MATCH"
	SourceOther              SourceType = "OTHER"
)

// LegalBasis is the ground on which a signal is shared.
type LegalBasis string

// Legal bases.
const (
	BasisWGS      LegalBasis = "WGS"
	BasisMeldcode LegalBasis = "MELDCODE"
	BasisVIR      LegalBasis = "VIR"
	BasisWMO      LegalBasis = "WMO"
	BasisYouthAct LegalBasis = "YOUTH_ACT"
	BasisConsent  LegalBasis = "CONSENT"
)

// Status is where a signal is in its life.
type Status string

// Statuses.
const (
	StatusReceived        Status = "RECEIVED"
	StatusUnderAssessment Status = "UNDER_ASSESSMENT"
	StatusLinkedToIntake  Status = "LINKED_TO_INTAKE"
	StatusLinkedToCase    Status = "LINKED_TO_CASE"
	StatusNotTakenUp      Status = "NOT_TAKEN_UP"
	StatusFedBack         Status = "FED_BACK"
)

// Feedback is what the source is told.
type Feedback string

// Feedback codes.
const (
	FeedbackNone                   Feedback = ""
	FeedbackIntakeRegistered       Feedback = "INTAKE_REGISTERED"
	FeedbackTakenIntoCaseDirection Feedback = "TAKEN_INTO_CASE_DIRECTION"
	FeedbackNotTakenUp             Feedback = "NOT_TAKEN_UP"
	FeedbackAdvised                Feedback = "ADVISED"
	FeedbackReferred               Feedback = "REFERRED"
	FeedbackCaseClosed             Feedback = "CASE_CLOSED"
	FeedbackHandedOver             Feedback = "HANDED_OVER"
)

// transitions is the signal state machine (DESIGN §4). An intake may be opened as a case so
// quickly that the case link is the first news referral hears, hence RECEIVED → LINKED_TO_CASE.
var transitions = map[Status][]Status{
	StatusReceived:        {StatusUnderAssessment, StatusLinkedToIntake, StatusLinkedToCase, StatusNotTakenUp},
	StatusUnderAssessment: {StatusLinkedToIntake, StatusLinkedToCase, StatusNotTakenUp},
	StatusLinkedToIntake:  {StatusLinkedToCase, StatusNotTakenUp, StatusFedBack},
	StatusLinkedToCase:    {StatusFedBack},
	StatusNotTakenUp:      {StatusFedBack},
	StatusFedBack:         {},
}

// ErrTransition is what every SignalRefusalError matches with errors.Is.
var ErrTransition = errors.New("forbidden signal transition")

// SignalRefusalError is a forbidden state change of a signal, with the statuses involved. It
// is a forbidden transition in apperr's vocabulary: FAILED_PRECONDITION with this message.
type SignalRefusalError struct{ Detail string }

func (e *SignalRefusalError) Error() string { return ErrTransition.Error() + ": " + e.Detail }

// Unwrap makes errors.Is(err, ErrTransition) hold.
func (e *SignalRefusalError) Unwrap() error { return ErrTransition }

// ForbiddenTransition marks the refusal for apperr.
func (*SignalRefusalError) ForbiddenTransition() {}

func refuse(format string, args ...any) error {
	return &SignalRefusalError{Detail: fmt.Sprintf(format, args...)}
}

// CanTransition reports whether from → to is allowed.
func CanTransition(from, to Status) bool { return slices.Contains(transitions[from], to) }

// Arrears are payment arrears reported under the Wgs.
type Arrears struct {
	AmountCents int64
	Months      int32
	// Creditor is who the resident owes: the creditor that reported the arrears.
	Creditor Creditor
}

// Creditor names the party a resident is in arrears with. Reference (the creditor's own
// reference for the debt) is confidential.
type Creditor struct {
	Name, OIN, Reference string
}

// Signal is a signal about a resident from a partner.
type Signal struct {
	ID           string
	SourceType   SourceType
	SourceOIN    string
	Reporter     string
	LegalBasis   LegalBasis
	ResidentBSN  string
	Municipality string
	District     string
	LifeDomains  []string
	Category     string
	Description  string
	Crisis       bool
	Arrears      *Arrears
	Status       Status
	Feedback     Feedback
	ReceivedAt   time.Time
	FedBackAt    *time.Time
	IntakeID     string
	CaseID       string
}

// RuleViolation is a domain rule broken by the content of a new signal; Field names the
// request field so the edge can answer INVALID_ARGUMENT precisely.
type RuleViolation struct{ Field, Reason string }

func (r RuleViolation) Error() string { return r.Field + ": " + r.Reason }

// RuleViolation makes it a rule violation in apperr's vocabulary: INVALID_ARGUMENT on Field.
func (r RuleViolation) RuleViolation() (field, reason string) { return r.Field, r.Reason }

// sourcesByOrgType says which source types an organisation type may report as: a housing
// corporation cannot send a signal that claims to come from a GP.
var sourcesByOrgType = map[string][]SourceType{
	"GP":                  {SourceGP, SourcePracticeNurse},
	"PRACTICE_NURSE":      {SourcePracticeNurse},
	"VEILIG_THUIS":        {SourceVeiligThuis},
	"HOUSING_CORPORATION": {SourceHousingCorporation},
	"UTILITY":             {SourceEnergy, SourceWater},
	"HEALTH_INSURER":      {SourceHealthInsurer},
	"POLICE":              {SourcePolice},
	"CREDIT_BANK":         {SourceCreditBank},
	"TEAM":                {SourceVIRMatch, SourceOther},
	"MUNICIPALITY":        {SourceVIRMatch, SourceOther},
}

// Validate checks the rules a new signal must meet.
func (s Signal) Validate(orgType string) error {
	if !slices.Contains(sourcesByOrgType[orgType], s.SourceType) {
		return RuleViolation{"source_type", fmt.Sprintf("an organisation of type %s cannot report as %s", orgType, s.SourceType)}
	}
	switch s.LegalBasis {
	case BasisWGS:
		if s.Arrears == nil || s.Arrears.AmountCents <= 0 || s.Arrears.Months <= 0 {
			return RuleViolation{"arrears", "a Wgs signal reports payment arrears: amount and months required"}
		}
		if !slices.Contains([]SourceType{SourceHousingCorporation, SourceEnergy, SourceWater, SourceHealthInsurer, SourceCreditBank}, s.SourceType) {
			return RuleViolation{"legal_basis", "the Wgs basis is for creditors' early signals of payment arrears"}
		}
		if s.Arrears.Creditor.Name == "" || s.Arrears.Creditor.OIN == "" {
			return RuleViolation{"arrears.creditor", "a Wgs signal names the creditor that reported the arrears"}
		}
	case BasisMeldcode:
		// Any professional under the meldcode may report; no consent needed.
	case BasisVIR:
		if s.SourceType != SourceVIRMatch {
			return RuleViolation{"legal_basis", "the VIR basis is for VIR matches"}
		}
	}
	if s.Arrears != nil && (s.Arrears.AmountCents < 0 || s.Arrears.Months < 0) {
		return RuleViolation{"arrears", "amount and months cannot be negative"}
	}
	return nil
}

// Confidentiality classifies the signal for events: safety signals get the strictest
// handling, health and debt data are special categories.
func (s Signal) Confidentiality() string {
	switch {
	case s.SourceType == SourceVeiligThuis || s.LegalBasis == BasisMeldcode:
		return "SAFETY"
	case s.SourceType == SourceGP || s.SourceType == SourcePracticeNurse || s.LegalBasis == BasisWGS:
		return "SPECIAL"
	default:
		return "PERSONAL"
	}
}

// LinkToIntake records that intake registered the signal. It reports whether anything
// changed: a late or repeated link after the signal moved further is ignored.
func (s *Signal) LinkToIntake(intakeID string) (bool, error) {
	if s.Status == StatusLinkedToIntake && s.IntakeID == intakeID {
		return false, nil
	}
	if !CanTransition(s.Status, StatusLinkedToIntake) {
		if s.Status == StatusLinkedToCase || s.Status == StatusFedBack {
			return false, nil
		}
		return false, refuse("%s → %s", s.Status, StatusLinkedToIntake)
	}
	s.Status, s.IntakeID = StatusLinkedToIntake, intakeID
	return true, nil
}

// LinkToCase records that the signal's intake became case direction.
func (s *Signal) LinkToCase(intakeID, caseID string) (bool, error) {
	if s.CaseID == caseID && (s.Status == StatusLinkedToCase || s.Status == StatusFedBack) {
		return false, nil
	}
	if !CanTransition(s.Status, StatusLinkedToCase) {
		return false, refuse("%s → %s", s.Status, StatusLinkedToCase)
	}
	s.Status, s.CaseID = StatusLinkedToCase, caseID
	if s.IntakeID == "" {
		s.IntakeID = intakeID
	}
	return true, nil
}

// FeedBack records the feedback given to the source. Final outcomes (case direction, not
// taken up) close the loop with FED_BACK; interim feedback (intake registered) leaves the
// status as it is.
func (s *Signal) FeedBack(f Feedback, at time.Time) error {
	s.Feedback = f
	if f == FeedbackIntakeRegistered {
		return nil
	}
	if !CanTransition(s.Status, StatusFedBack) {
		return refuse("%s → %s", s.Status, StatusFedBack)
	}
	s.Status = StatusFedBack
	s.FedBackAt = &at
	return nil
}

// IntakeClosed records that the signal's intake ended without case direction, and feeds back
// what became of it: ADVISED or REFERRED close the loop directly; NOT_REACHED and WITHDRAWN
// mean the signal was not taken up. A merged intake carries on under another intake, so it
// gives no feedback; nor does a signal that already reached case direction. It reports
// whether anything changed.
func (s *Signal) IntakeClosed(intakeID, intakeStatus string, at time.Time) (bool, error) {
	var f Feedback
	switch intakeStatus {
	case "ADVISED":
		f = FeedbackAdvised
	case "REFERRED":
		f = FeedbackReferred
	case "NOT_REACHED", "WITHDRAWN":
		f = FeedbackNotTakenUp
	default:
		return false, nil
	}
	if s.Status == StatusLinkedToCase || s.Status == StatusFedBack || s.Status == StatusNotTakenUp {
		return false, nil
	}
	if s.Status == StatusReceived || s.Status == StatusUnderAssessment {
		if _, err := s.LinkToIntake(intakeID); err != nil {
			return false, err
		}
	}
	if s.IntakeID == "" {
		s.IntakeID = intakeID
	}
	if f == FeedbackNotTakenUp {
		if !CanTransition(s.Status, StatusNotTakenUp) {
			return false, refuse("%s → %s", s.Status, StatusNotTakenUp)
		}
		s.Status = StatusNotTakenUp
	}
	return true, s.FeedBack(f, at)
}

// CaseClosed records that the case the signal led to ended: closed, or handed over (to Veilig
// Thuis, a certified institution or another municipality), which the source is told as such
// (the loop, already FED_BACK with "taken into case direction", gets its last word). It
// reports whether anything changed; a signal of another case or one told before is left
// alone.
func (s *Signal) CaseClosed(caseID string, handedOver bool, at time.Time) (bool, error) {
	f := FeedbackCaseClosed
	if handedOver {
		f = FeedbackHandedOver
	}
	if s.CaseID != caseID || s.Feedback == FeedbackCaseClosed || s.Feedback == FeedbackHandedOver {
		return false, nil
	}
	switch s.Status {
	case StatusFedBack:
		s.Feedback, s.FedBackAt = f, &at
		return true, nil
	case StatusLinkedToCase:
		return true, s.FeedBack(f, at)
	}
	return false, refuse("case closed while the signal is %s", s.Status)
}
