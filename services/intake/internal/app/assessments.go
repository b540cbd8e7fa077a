package app

import (
	"context"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// subject is the resident or household an assessment is about, once the team's access to it
// is established.
type subject struct {
	residentID, householdID, municipality, pseudonym string
	// route is how the caller was allowed (accesslog.Guard).
	route string
}

// subjectOf checks that the calling team works with the resident (or a member of the
// household), or holds an emergency grant for a read (accesslog.Guard; the route is in the
// subject). Otherwise the subject is NOT_FOUND and the refusal is logged; detached, when
// the surrounding transaction will roll back.
func (a *App) subjectOf(ctx context.Context, caller identity.Caller, residentID, householdID, action string, detached bool) (subject, error) {
	var (
		s   = subject{residentID: residentID, householdID: householdID}
		ok  bool
		err error
	)
	if residentID != "" {
		r, err := a.d.Residents.Get(ctx, residentID)
		if err != nil {
			return s, err
		}
		s.municipality, s.pseudonym = r.Municipality, r.Pseudonym
		ok, err = a.d.Residents.TeamWorksWith(ctx, caller.Org.OIN, residentID)
		if err != nil {
			return s, err
		}
	} else {
		if s.municipality, err = a.d.Residents.HouseholdMunicipality(ctx, householdID); err != nil {
			return s, err
		}
		if ok, err = a.d.Residents.TeamWorksWithHousehold(ctx, caller.Org.OIN, householdID); err != nil {
			return s, err
		}
	}
	route := ""
	if ok {
		route = accesslog.RouteTeam
	}
	if residentID == "" {
		// A household's refusal is logged under its members (guardHousehold).
		s.route, err = a.guardHousehold(ctx, householdID, action, route, detached)
	} else {
		s.route, err = accesslog.Guard(ctx, a.d.Access, accesslog.Access{Entry: s.entry(action, "", ""), Route: route, Change: detached, Quiet: true})
	}
	if err != nil {
		return s, err
	}
	return s, nil
}

func (s subject) entry(action, route, outcome string) accesslog.Entry {
	e := accesslog.Entry{Action: action, ObjectType: "resident", ObjectID: s.residentID, ResidentPseudonym: s.pseudonym, Route: route, Outcome: outcome}
	if s.residentID == "" {
		e.ObjectType, e.ObjectID = "household", s.householdID
	}
	return e
}

// RecordAssessment records a ZRM assessment by the calling team of a resident or household it
// works with. The scores are valid for the instrument (checked at the edge).
func (a *App) RecordAssessment(ctx context.Context, as domain.Assessment) (domain.Assessment, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return as, err
	}
	const action = "intake.assessment.create"
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		s, err := a.subjectOf(ctx, caller, as.ResidentID, as.HouseholdID, action, true)
		if err != nil {
			return err
		}
		if as.IntakeID != "" {
			in, err := a.d.Intakes.Get(ctx, as.IntakeID)
			if apperr.IsKind(err, apperr.KindNotFound) || (err == nil && in.TeamOIN != caller.Org.OIN) {
				return apperr.Invalid("intake_id", "no intake of the team with this id")
			}
			if err != nil {
				return err
			}
			if in.ResidentID != as.ResidentID && in.HouseholdID != as.HouseholdID {
				return apperr.Invalid("intake_id", "the intake is not about this resident or household")
			}
		}
		as.ID, as.AssessedBy, as.TeamOIN, as.Municipality, as.AssessedAt = uuid.NewString(), caller.User, caller.Org.OIN, s.municipality, a.now()
		if err := a.d.Assessments.Insert(ctx, as); err != nil {
			return err
		}
		if err := a.d.Events.AssessmentRecorded(ctx, as); err != nil {
			return err
		}
		e := s.entry(action, s.route, accesslog.OutcomeGranted)
		e.ObjectType, e.ObjectID = "assessment", as.ID
		return a.d.Access.Record(ctx, e)
	})
	return as, err
}

// ListAssessments returns the history of a resident or household the team works with.
func (a *App) ListAssessments(ctx context.Context, residentID, householdID string, after *paging.At, size int) (out []domain.Assessment, more bool, err error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return nil, false, err
	}
	err = accesslog.ReadTx(ctx, a.d.Tx, func(ctx context.Context) error {
		s, err := a.subjectOf(ctx, caller, residentID, householdID, "intake.assessment.list", false)
		if err != nil {
			return err
		}
		rows, err := a.d.Assessments.Page(ctx, residentID, householdID, after, size+1)
		if err != nil {
			return err
		}
		out, more = paging.Cut(rows, size)
		return a.d.Access.Record(ctx, s.entry("intake.assessment.list", s.route, accesslog.OutcomeGranted))
	})
	return out, more, err
}

// CompareAssessments returns two assessments of one resident or household and the change per
// domain from the first to the second.
//
// householdID, when set, scopes the comparison to a case's household: both assessments must
// concern it or a resident who is or was one of its members, else NOT_FOUND. Case-direction
// asks so, as a Wijkbrug service acting for the case's team: the team's access to the
// assessments is checked as if the team asked.
func (a *App) CompareAssessments(ctx context.Context, fromID, toID, householdID string) (from, to domain.Assessment, changes []domain.DomainChange, err error) {
	caller, err := teamOrForwardingService(ctx)
	if err != nil {
		return from, to, nil, err
	}
	err = accesslog.ReadTx(ctx, a.d.Tx, func(ctx context.Context) error {
		if from, err = a.d.Assessments.Get(ctx, fromID); err != nil {
			return err
		}
		if to, err = a.d.Assessments.Get(ctx, toID); err != nil {
			return err
		}
		s, err := a.subjectOf(ctx, caller, from.ResidentID, from.HouseholdID, "intake.assessment.compare", false)
		if apperr.IsKind(err, apperr.KindNotFound) {
			return apperr.NotFound("assessment", fromID)
		}
		if err != nil {
			return err
		}
		if from.ResidentID != to.ResidentID || from.HouseholdID != to.HouseholdID {
			// Do not tell whether the other id exists: check the team's access to it first.
			_, err := a.subjectOf(ctx, caller, to.ResidentID, to.HouseholdID, "intake.assessment.compare", false)
			if apperr.IsKind(err, apperr.KindNotFound) {
				return apperr.NotFound("assessment", toID)
			}
			if err != nil {
				return err
			}
			return apperr.FailedPrecondition("the assessments are not of the same resident or household")
		}
		if householdID != "" {
			ok := from.HouseholdID == householdID
			if !ok && from.ResidentID != "" {
				if ok, err = a.d.Residents.WasMember(ctx, householdID, from.ResidentID); err != nil {
					return err
				}
			}
			if !ok {
				return apperr.NotFound("assessment", toID)
			}
		}
		changes = domain.Compare(from, to)
		return a.d.Access.Record(ctx, s.entry("intake.assessment.compare", s.route, accesslog.OutcomeGranted))
	})
	return from, to, changes, err
}
