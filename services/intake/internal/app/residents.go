package app

import (
	"context"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

func residentEntry(action string, r domain.Resident, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "resident", ObjectID: r.ID, ResidentPseudonym: r.Pseudonym, Route: route, Outcome: outcome}
}

// RegisterResident registers a resident by BSN for the calling team, or returns the one
// already registered with it (the blind index makes that one row, also concurrently). A new
// resident gets a one-person household, and the team works with the resident from then on.
// A resident already known to other teams only is NOT_FOUND, as FindResident answers, without
// the id, and the refusal is logged: knowing a BSN must not open someone's file, nor tell that
// it is known. The team starts working with the resident through a help request
// (RegisterIntake), which it then owns and which is logged (with a match naming the teams).
func (a *App) RegisterResident(ctx context.Context, r domain.Resident) (domain.Resident, bool, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return r, false, err
	}
	var (
		out     domain.Resident
		created bool
	)
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		if err := a.d.Residents.NoteTeam(ctx, caller.Org.OIN, caller.Org.Name); err != nil {
			return err
		}
		bsnValue := r.BSN
		r.ID, r.Pseudonym = uuid.NewString(), a.d.Pseudo.Pseudonym(bsnValue)
		var err error
		if out, created, err = a.d.Residents.Register(ctx, r); err != nil {
			return err
		}
		route := accesslog.RouteNewRecord
		if created {
			if out.HouseholdID, err = a.householdOf(ctx, out, true); err != nil {
				return err
			}
		} else {
			route = accesslog.RouteTeam
			works, err := a.d.Residents.TeamWorksWith(ctx, caller.Org.OIN, out.ID)
			if err != nil {
				return err
			}
			if !works {
				// Refused as FindResident refuses: NOT_FOUND without the id (a BSN must not
				// be probed), the refusal logged outside this transaction, nothing stored.
				_, err := accesslog.Guard(ctx, a.d.Access, accesslog.Access{
					Entry:  residentEntry("intake.resident.register", domain.Resident{ID: out.ID, Pseudonym: out.Pseudonym}, "", ""),
					Change: true, Anonymous: true})
				return err
			}
			if err := a.fillDetails(ctx, out, r); err != nil {
				return err
			}
			if out.HouseholdID, err = a.householdOf(ctx, out, false); err != nil {
				return err
			}
		}
		out.BSN = ""
		if err := a.d.Residents.AddTeam(ctx, caller.Org.OIN, out.ID); err != nil {
			return err
		}
		return a.d.Access.Record(ctx, residentEntry("intake.resident.register", out, route, accesslog.OutcomeGranted))
	})
	return out, created, err
}

// fillDetails stores the details of a registration that the known resident lacks; details
// already stored stay (UpdateResident changes them).
func (a *App) fillDetails(ctx context.Context, known, given domain.Resident) error {
	if given.Name.IsZero() && given.BirthDate == "" && given.Address.IsZero() {
		return nil
	}
	if err := a.d.Residents.LockResident(ctx, known.ID); err != nil {
		return err
	}
	if err := a.d.Residents.LoadDetails(ctx, &known); err != nil {
		return err
	}
	changed := false
	if known.Name.IsZero() && !given.Name.IsZero() {
		known.Name, changed = given.Name, true
	}
	if known.BirthDate == "" && given.BirthDate != "" {
		known.BirthDate, changed = given.BirthDate, true
	}
	if known.Address.IsZero() && !given.Address.IsZero() {
		known.Address, changed = given.Address, true
	}
	if !changed {
		return nil
	}
	return a.d.Residents.SaveDetails(ctx, known)
}

// FindResident looks up a resident the calling team works with by BSN. Anyone else's
// resident is NOT_FOUND (logged as refused), so a BSN cannot be probed.
func (a *App) FindResident(ctx context.Context, bsnValue string) (domain.Resident, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return domain.Resident{}, err
	}
	var out domain.Resident
	err = accesslog.ReadTx(ctx, a.d.Tx, func(ctx context.Context) error {
		r, err := a.d.Residents.FindByBSN(ctx, bsnValue)
		if err != nil {
			return err
		}
		ok, err := a.d.Residents.TeamWorksWith(ctx, caller.Org.OIN, r.ID)
		if err != nil {
			return err
		}
		route := ""
		if ok {
			route = accesslog.RouteTeam
		}
		if route, err = accesslog.Guard(ctx, a.d.Access, accesslog.Access{Entry: residentEntry("intake.resident.find", r, "", ""),
			Route: route, Quiet: true, Anonymous: true}); err != nil {
			return err
		}
		if r.HouseholdID, err = a.d.Households.OfResident(ctx, r.ID); err != nil && !apperr.IsKind(err, apperr.KindNotFound) {
			return err
		}
		if err := a.d.Residents.LoadDetails(ctx, &r); err != nil {
			return err
		}
		out = r
		return a.d.Access.Record(ctx, residentEntry("intake.resident.find", r, route, accesslog.OutcomeGranted))
	})
	return out, err
}

// MergeResidents merges a duplicate resident into the one kept: the duplicate's intakes
// move to the kept resident and household, its assessments to the kept resident, and its
// BSN finds the kept resident from then on. Both must be residents the team works with.
func (a *App) MergeResidents(ctx context.Context, keepID, duplicateID string) (domain.Resident, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return domain.Resident{}, err
	}
	if keepID == duplicateID {
		return domain.Resident{}, apperr.Invalid("duplicate_resident_id", "must differ from keep_resident_id")
	}
	const action = "intake.resident.merge"
	var keep domain.Resident
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		// Both rows locked first (in id order, so a merge the other way waits rather than
		// deadlocks): what is read below stays true until the merge is stored.
		if err := a.d.Residents.LockForMerge(ctx, keepID, duplicateID); err != nil {
			return err
		}
		var got [2]domain.Resident
		for i, id := range []string{keepID, duplicateID} {
			r, err := a.d.Residents.Get(ctx, id)
			if err != nil {
				return err
			}
			ok, err := a.d.Residents.TeamWorksWith(ctx, caller.Org.OIN, id)
			if err != nil {
				return err
			}
			route := ""
			if ok {
				route = accesslog.RouteTeam
			}
			if _, err := accesslog.Guard(ctx, a.d.Access, accesslog.Access{Entry: residentEntry(action, r, "", ""), Route: route, Change: true, Quiet: true}); err != nil {
				return err
			}
			if r.MergedInto != "" {
				return apperr.FailedPrecondition("resident " + id + " was already merged")
			}
			got[i] = r
		}
		keep = got[0]
		household, err := a.householdOf(ctx, keep, false)
		if err != nil {
			return err
		}
		keep.HouseholdID = household
		if err := a.d.Intakes.MoveResident(ctx, duplicateID, keepID, household); err != nil {
			return err
		}
		if err := a.d.Assessments.MoveResident(ctx, duplicateID, keepID); err != nil {
			return err
		}
		if err := a.d.Residents.Merge(ctx, keepID, duplicateID, a.today()); err != nil {
			return err
		}
		if err := a.d.Events.ResidentsMerged(ctx, keep, got[1]); err != nil {
			return err
		}
		for _, r := range got {
			if err := a.d.Access.Record(ctx, residentEntry(action, r, accesslog.RouteTeam, accesslog.OutcomeGranted)); err != nil {
				return err
			}
		}
		return nil
	})
	return keep, err
}

// workedWith returns a resident the calling team works with, and the route that allowed it:
// TEAM, or EMERGENCY for a read under an emergency grant (never for a change). Anyone else's
// resident is NOT_FOUND and the refusal is logged (accesslog.Guard; the caller logs the
// granted access itself, with the details it reads).
func (a *App) workedWith(ctx context.Context, caller identity.Caller, id, action string, change bool) (domain.Resident, string, error) {
	r, err := a.d.Residents.Get(ctx, id)
	if err != nil {
		return r, "", err
	}
	ok, err := a.d.Residents.TeamWorksWith(ctx, caller.Org.OIN, id)
	if err != nil {
		return r, "", err
	}
	route := ""
	if ok {
		route = accesslog.RouteTeam
	}
	route, err = accesslog.Guard(ctx, a.d.Access, accesslog.Access{Entry: residentEntry(action, r, "", ""), Route: route, Change: change, Quiet: true})
	if err != nil {
		return domain.Resident{}, "", err
	}
	return r, route, nil
}

// GetResident returns a resident the calling team works with, with name, date of birth,
// address and current household. A Wijkbrug service forwarding a team's request
// (provider-monitoring drafting a decision letter) reads as that team: the team must work
// with the resident, and the read is logged under the resident with route SERVICE.
func (a *App) GetResident(ctx context.Context, id string) (domain.Resident, error) {
	caller, err := teamOrForwardingService(ctx)
	if err != nil {
		return domain.Resident{}, err
	}
	const action = "intake.resident.read"
	var out domain.Resident
	err = accesslog.ReadTx(ctx, a.d.Tx, func(ctx context.Context) error {
		r, route, err := a.workedWith(ctx, caller, id, action, false)
		if err != nil {
			return err
		}
		if r.HouseholdID, err = a.d.Households.OfResident(ctx, r.ID); err != nil && !apperr.IsKind(err, apperr.KindNotFound) {
			return err
		}
		if err := a.d.Residents.LoadDetails(ctx, &r); err != nil {
			return err
		}
		out = r
		return a.d.Access.Record(ctx, residentEntry(action, r, forwardedRoute(ctx, route), accesslog.OutcomeGranted))
	})
	return out, err
}

// forwardedRoute is the route to log for a read a Wijkbrug service forwards for a team
// (SERVICE; the access log records the team it acted for), else route.
func forwardedRoute(ctx context.Context, route string) string {
	if c, ok := identity.From(ctx); ok && c.Org.Type == identity.OrgService && route == accesslog.RouteTeam {
		return accesslog.RouteService
	}
	return route
}

// ResidentChanges are the parts of a resident UpdateResident replaces (nil: unchanged).
type ResidentChanges struct {
	Name      *domain.Name
	BirthDate *string
	Address   *domain.Address
	District  *string
}

// UpdateResident changes the given parts of a resident the calling team works with. A
// merged duplicate cannot change (FAILED_PRECONDITION): change the kept resident.
func (a *App) UpdateResident(ctx context.Context, id string, c ResidentChanges) (domain.Resident, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return domain.Resident{}, err
	}
	const action = "intake.resident.update"
	var out domain.Resident
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		if err := a.d.Residents.LockResident(ctx, id); err != nil {
			return err
		}
		r, _, err := a.workedWith(ctx, caller, id, action, true)
		if err != nil {
			return err
		}
		if r.MergedInto != "" {
			return apperr.FailedPrecondition("resident " + id + " was merged into " + r.MergedInto)
		}
		if err := a.d.Residents.LoadDetails(ctx, &r); err != nil {
			return err
		}
		if c.Name != nil {
			r.Name = *c.Name
		}
		if c.BirthDate != nil {
			r.BirthDate = *c.BirthDate
		}
		if c.Address != nil {
			r.Address = *c.Address
		}
		if c.District != nil {
			// The district must lie in the resident's municipality (checked here: the request
			// names no municipality).
			var v apperr.Validation
			valid.DistrictOf(&v, "district_code", *c.District, r.Municipality)
			if err := v.Err(); err != nil {
				return err
			}
			r.District = *c.District
		}
		if err := a.d.Residents.SaveDetails(ctx, r); err != nil {
			return err
		}
		if r.HouseholdID, err = a.d.Households.OfResident(ctx, r.ID); err != nil && !apperr.IsKind(err, apperr.KindNotFound) {
			return err
		}
		out = r
		return a.d.Access.Record(ctx, residentEntry(action, r, accesslog.RouteTeam, accesslog.OutcomeGranted))
	})
	return out, err
}
