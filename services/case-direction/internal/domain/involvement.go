package domain

import (
	"fmt"
	"time"
	_ "time/tzdata" // validity dates are Dutch calendar days, also on hosts without zoneinfo
)

// Amsterdam is the time zone whose calendar days the validity dates of involvements refer to.
var Amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}()

// Day is the Dutch calendar day of t, as midnight UTC of that date (the form valid.Date and
// PostgreSQL dates take).
func Day(t time.Time) time.Time {
	y, m, d := t.In(Amsterdam).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// InvolvementRole is the part an organisation or professional plays in a case.
type InvolvementRole string

// Involvement roles.
const (
	RoleDirector InvolvementRole = "DIRECTOR"
	RoleExecutor InvolvementRole = "EXECUTOR"
	RoleAdvisor  InvolvementRole = "ADVISOR"
)

// Involvement is an organisation (and optionally one of its professionals) involved in a case.
// It is active on the days ValidFrom through ValidTo (inclusive; nil = open-ended), until
// EndedAt when it was ended with immediate effect.
type Involvement struct {
	ID             string
	OrgType        string
	OrgOIN         string
	ProfessionalID string
	Role           InvolvementRole
	ValidFrom      time.Time
	ValidTo        *time.Time
	EndedAt        *time.Time
	CreatedAt      time.Time
}

// ActiveAt reports whether the involvement is in force at t.
func (i Involvement) ActiveAt(t time.Time) bool {
	day := Day(t)
	switch {
	case day.Before(i.ValidFrom):
		return false
	case i.ValidTo != nil && day.After(*i.ValidTo):
		return false
	case i.EndedAt != nil && !t.Before(*i.EndedAt):
		return false
	}
	return true
}

// OpenAt reports whether the involvement has not ended at t: it is active or still to come.
func (i Involvement) OpenAt(t time.Time) bool {
	if i.EndedAt != nil && !t.Before(*i.EndedAt) {
		return false
	}
	return i.ValidTo == nil || !Day(t).After(*i.ValidTo)
}

// InvolvementError is a broken rule about one involvement; Field is set when the request's
// field is at fault.
type InvolvementError struct {
	ID    string
	Field string
	Msg   string
}

func (e *InvolvementError) Error() string {
	if e.ID == "" {
		return e.Msg
	}
	return fmt.Sprintf("involvement %s %s", e.ID, e.Msg)
}

// RuleViolation makes it a rule violation in apperr's vocabulary: INVALID_ARGUMENT on Field,
// or FAILED_PRECONDITION with the message when no request field is at fault.
func (e *InvolvementError) RuleViolation() (field, reason string) { return e.Field, e.Msg }

// NewInvolvement checks a new EXECUTOR or ADVISOR involvement starting at from (zero = today)
// against the day of at: neither its first nor its last day may lie in the past, so the
// record of who was involved when is never rewritten.
func NewInvolvement(i Involvement, at time.Time) (Involvement, error) {
	today := Day(at)
	if i.Role == RoleDirector {
		return i, &InvolvementError{Field: "role", Msg: "the director is assigned with AssignDirector"}
	}
	if i.ValidFrom.IsZero() {
		i.ValidFrom = today
	}
	if i.ValidFrom.Before(today) {
		return i, &InvolvementError{Field: "valid_from", Msg: "must not be in the past"}
	}
	if i.ValidTo != nil && i.ValidTo.Before(i.ValidFrom) {
		return i, &InvolvementError{Field: "valid_to", Msg: "must not be before valid_from"}
	}
	i.CreatedAt = at
	return i, nil
}

// End ends the involvement: at once (lastDay nil) or after lastDay, which may be neither in
// the past nor before the first day, and may only shorten the involvement. The director's
// involvement ends only through a handover.
func (i *Involvement) End(lastDay *time.Time, at time.Time) error {
	if i.Role == RoleDirector {
		return &InvolvementError{ID: i.ID, Msg: "is the director's: it ends when the case is handed over to another director (AssignDirector)"}
	}
	if !i.OpenAt(at) {
		return &InvolvementError{ID: i.ID, Msg: "has already ended"}
	}
	if lastDay == nil {
		i.EndedAt = &at
		// Its last day is today, unless it had not started yet.
		if today := Day(at); !i.ValidFrom.After(today) && (i.ValidTo == nil || i.ValidTo.After(today)) {
			i.ValidTo = &today
		}
		return nil
	}
	switch {
	case lastDay.Before(Day(at)):
		return &InvolvementError{Field: "valid_to", Msg: "must not be in the past"}
	case lastDay.Before(i.ValidFrom):
		return &InvolvementError{Field: "valid_to", Msg: "must not be before valid_from " + i.ValidFrom.Format(time.DateOnly) + " (leave it empty to end the involvement now)"}
	case i.ValidTo != nil && lastDay.After(*i.ValidTo):
		return &InvolvementError{ID: i.ID, Msg: "ends on " + i.ValidTo.Format(time.DateOnly) + " and cannot be extended; add a new involvement"}
	}
	d := *lastDay
	i.ValidTo = &d
	return nil
}

// DirectorInvolvement is the involvement of a director: the team, the professional, from the
// day of since.
func DirectorInvolvement(id string, d Director) Involvement {
	return Involvement{ID: id, OrgType: "TEAM", OrgOIN: d.TeamOIN, ProfessionalID: d.ProfessionalID, Role: RoleDirector,
		ValidFrom: Day(d.Since), CreatedAt: d.Since}
}

// InvolvedAt reports whether the organisation (by OIN and type) has an active involvement in
// the case at t.
func (c *Case) InvolvedAt(orgOIN, orgType string, t time.Time) bool {
	for _, i := range c.Involvements {
		if i.OrgOIN == orgOIN && i.OrgType == orgType && i.ActiveAt(t) {
			return true
		}
	}
	return false
}

// PartyAt reports whether the organisation owns the case (its team) or has an active
// involvement in it, of any type, at t.
func (c *Case) PartyAt(orgOIN string, t time.Time) bool {
	if orgOIN == "" {
		return false
	}
	if c.TeamOIN == orgOIN {
		return true
	}
	for _, i := range c.Involvements {
		if i.OrgOIN == orgOIN && i.ActiveAt(t) {
			return true
		}
	}
	return false
}

// Involvement returns the case's involvement with this id.
func (c *Case) Involvement(id string) (*Involvement, bool) {
	for k := range c.Involvements {
		if c.Involvements[k].ID == id {
			return &c.Involvements[k], true
		}
	}
	return nil, false
}

// DuplicateInvolvement returns an open involvement of the same organisation, professional
// and role, if there is one.
func (c *Case) DuplicateInvolvement(i Involvement, at time.Time) (Involvement, bool) {
	for _, o := range c.Involvements {
		if o.OrgOIN == i.OrgOIN && o.OrgType == i.OrgType && o.ProfessionalID == i.ProfessionalID && o.Role == i.Role && o.OpenAt(at) {
			return o, true
		}
	}
	return Involvement{}, false
}
