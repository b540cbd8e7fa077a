package domain

import (
	"fmt"
	"slices"
	"time"
	_ "time/tzdata" // validity dates are Dutch calendar days, also on hosts without zoneinfo
)

// Amsterdam is the time zone whose calendar days consent validity dates refer to.
var Amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}()

// DataCategories are the categories of personal data a consent or a referral names.
var DataCategories = []string{CategoryIdentity, "CONTACT", CategoryQuestion, "HOUSEHOLD", "ASSESSMENT", "HEALTH", "FINANCES", "SAFETY"}

// The categories of a referral's own fields: the resident's BSN, and the question.
const (
	CategoryIdentity = "IDENTITY"
	CategoryQuestion = "QUESTION"
)

// ActivityReferral is the processing activity a consent must name for referrals to rest on it.
const ActivityReferral = "referral"

// ConsentStatus is derived from validity and withdrawal.
type ConsentStatus string

// Consent statuses.
const (
	ConsentValid     ConsentStatus = "VALID"
	ConsentPending   ConsentStatus = "PENDING"
	ConsentExpired   ConsentStatus = "EXPIRED"
	ConsentWithdrawn ConsentStatus = "WITHDRAWN"
)

// Consent is a resident's consent for one processing activity, naming the recipients and
// the data categories it covers.
type Consent struct {
	ID           string
	ResidentBSN  string
	HolderOIN    string
	Activity     string
	Recipients   []string
	Categories   []string
	ValidFrom    time.Time  // a calendar date (midnight UTC)
	ValidUntil   *time.Time // a calendar date, inclusive; nil = until withdrawn
	RecordedAt   time.Time
	RecordedBy   string
	WithdrawnAt  *time.Time
	Municipality string
}

// Day returns the Dutch calendar date of t as midnight UTC, the form validity dates have.
func Day(t time.Time) time.Time {
	y, m, d := t.In(Amsterdam).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// StatusAt is the consent's status at t.
func (c Consent) StatusAt(t time.Time) ConsentStatus {
	day := Day(t)
	switch {
	case c.WithdrawnAt != nil && !c.WithdrawnAt.After(t):
		return ConsentWithdrawn
	case day.Before(c.ValidFrom):
		return ConsentPending
	case c.ValidUntil != nil && day.After(*c.ValidUntil):
		return ConsentExpired
	}
	return ConsentValid
}

// Covers checks that the consent allows sharing categories with recipient for activity at
// t; the error says what is missing.
func (c Consent) Covers(activity, recipient string, categories []string, t time.Time) error {
	// A withdrawn consent covers nothing new, also when the withdrawal is stamped a moment
	// after t (a referral whose request began before the withdrawal committed).
	if c.WithdrawnAt != nil {
		return fmt.Errorf("the consent is %s", ConsentWithdrawn)
	}
	if st := c.StatusAt(t); st != ConsentValid {
		return fmt.Errorf("the consent is %s", st)
	}
	if c.Activity != activity {
		return fmt.Errorf("the consent is for processing activity %q, not %q", c.Activity, activity)
	}
	if !slices.Contains(c.Recipients, recipient) {
		return fmt.Errorf("the consent does not name the provision's organisation as a recipient")
	}
	for _, cat := range categories {
		if !slices.Contains(c.Categories, cat) {
			return fmt.Errorf("the consent does not cover data category %s", cat)
		}
	}
	return nil
}

// Withdraw records the withdrawal at t.
func (c *Consent) Withdraw(t time.Time) error {
	if c.WithdrawnAt != nil {
		return fmt.Errorf("the consent was already withdrawn")
	}
	c.WithdrawnAt = &t
	return nil
}

// Validate checks a new consent's dates.
func (c Consent) Validate() []RuleViolation {
	var out []RuleViolation
	if c.ValidUntil != nil && c.ValidUntil.Before(c.ValidFrom) {
		out = append(out, RuleViolation{"valid_until", "must not be before valid_from"})
	}
	return out
}
