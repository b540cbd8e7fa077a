package app

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

func householdEntry(action, householdID string, r domain.Resident, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "household", ObjectID: householdID, ResidentPseudonym: r.Pseudonym,
		Route: route, Outcome: outcome}
}

// workedWithHousehold returns (locked, when forUpdate) a household the calling team works
// with: it works with a current member. Anyone else's household is NOT_FOUND and the
// refusal is logged (accesslog.Guard; callers log the granted access per member).
// A refusal is logged under the household's current members and the residents in also that
// are or were its members (guardHousehold).
func (a *App) workedWithHousehold(ctx context.Context, caller identity.Caller, id, action string, forUpdate bool, also ...string) (domain.Household, string, error) {
	h, err := a.d.Households.GetHousehold(ctx, id, forUpdate)
	if err != nil {
		return h, "", err
	}
	ok, err := a.d.Residents.TeamWorksWithHousehold(ctx, caller.Org.OIN, id)
	if err != nil {
		return h, "", err
	}
	route := ""
	if ok {
		route = accesslog.RouteTeam
	}
	var named []string
	for _, rid := range also {
		if slices.ContainsFunc(h.Members, func(m domain.Member) bool { return m.ResidentID == rid }) {
			named = append(named, rid)
		}
	}
	if route, err = a.guardHousehold(ctx, id, action, route, forUpdate, named...); err != nil {
		return domain.Household{}, "", err
	}
	return h, route, nil
}

// guardHousehold is accesslog.Guard for a household (Quiet: the caller logs a granted access
// per member). A refusal is logged once per current member, and per resident in also, under
// their pseudonyms, as a granted access is: a resident's access history must show who tried
// to reach their household, not only who succeeded. A household without current members is
// logged once, without a pseudonym.
func (a *App) guardHousehold(ctx context.Context, id, action, route string, change bool, also ...string) (string, error) {
	acc := accesslog.Access{Entry: accesslog.Entry{Action: action, ObjectType: "household", ObjectID: id},
		Route: route, Change: change, Quiet: true}
	if route != "" {
		return accesslog.Guard(ctx, a.d.Access, acc)
	}
	pseudonyms, err := a.householdPseudonyms(ctx, id, also)
	if err != nil {
		return "", err
	}
	if len(pseudonyms) > 0 {
		acc.Entry.ResidentPseudonym = pseudonyms[0]
	}
	got, err := accesslog.Guard(ctx, a.d.Access, acc)
	if !apperr.IsKind(err, apperr.KindNotFound) || len(pseudonyms) < 2 {
		return got, err // allowed (an emergency grant), failed, or logged in full
	}
	// Guard logged the refusal under the first member; the others too, the same way
	// (detached from a change that rolls back).
	for _, e := range accesslog.PerResident(accesslog.Entry{Action: action, ObjectType: "household", ObjectID: id,
		Route: accesslog.RouteNotAllowed, Outcome: accesslog.OutcomeDenied}, pseudonyms[1:]) {
		record := a.d.Access.Record
		if change {
			record = a.d.Access.RecordDetached
		}
		if rerr := record(ctx, e); rerr != nil {
			return "", rerr
		}
	}
	return "", err
}

// householdPseudonyms are the pseudonyms of a household's current members and of the
// residents in also (each once, members first).
func (a *App) householdPseudonyms(ctx context.Context, id string, also []string) ([]string, error) {
	refs, err := a.d.Residents.CurrentResidents(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range refs {
		if !seen[r.ResidentID] {
			seen[r.ResidentID] = true
			out = append(out, r.Pseudonym)
		}
	}
	for _, rid := range also {
		if seen[rid] {
			continue
		}
		seen[rid] = true
		r, err := a.d.Residents.Get(ctx, rid)
		if err != nil {
			return nil, err
		}
		out = append(out, r.Pseudonym)
	}
	return out, nil
}

// leaveForMove ends the resident's current membership so they can join another household on
// startedOn. Only a household with the resident as its only current member is left
// implicitly; from a household with others the resident must be removed first. It returns
// the household left ("" when there was none).
func (a *App) leaveForMove(ctx context.Context, residentID, targetID, startedOn string) (string, error) {
	currentID, err := a.d.Households.OfResident(ctx, residentID)
	if apperr.IsKind(err, apperr.KindNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if currentID == targetID {
		return "", apperr.FailedPrecondition("resident " + residentID + " is already a current member of household " + targetID)
	}
	current, err := a.d.Households.GetHousehold(ctx, currentID, true)
	if err != nil {
		return "", err
	}
	if !current.Movable(residentID) {
		return "", apperr.FailedPrecondition("resident " + residentID + " is a member of household " + currentID +
			" with other members: remove them there first")
	}
	m, _ := current.CurrentMember(residentID)
	endedOn := max(m.StartedOn, startedOn)
	if err := a.d.Households.EndMember(ctx, currentID, residentID, endedOn); err != nil {
		return "", err
	}
	return currentID, a.d.Events.HouseholdMemberRemoved(ctx, current, residentID, endedOn)
}

// CreateHousehold registers a household at an address with its members, all residents the
// calling team works with. A household with current members at the same dwelling is not
// registered twice: the answer is ALREADY_EXISTS, naming it when the team works with it.
func (a *App) CreateHousehold(ctx context.Context, h domain.Household, startedOn string) (domain.Household, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return h, err
	}
	if startedOn == "" {
		startedOn = a.today()
	}
	const action = "intake.household.create"
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		// Lock residents in id order, so two registrations with the same members cannot
		// deadlock.
		ids := make([]string, 0, len(h.Members))
		for _, m := range h.Members {
			ids = append(ids, m.ResidentID)
		}
		slices.Sort(ids)
		residents := map[string]domain.Resident{}
		for _, id := range ids {
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
			residents[id] = r
		}
		if err := a.d.Households.LockAddress(ctx, h.Address); err != nil {
			return err
		}
		existing, found, err := a.d.Households.FindByAddress(ctx, h.Address)
		if err != nil {
			return err
		}
		if found {
			ok, err := a.d.Residents.TeamWorksWithHousehold(ctx, caller.Org.OIN, existing)
			if err != nil {
				return err
			}
			if ok {
				return apperr.AlreadyExists("household", existing, "a household is registered at this address: add the members to it")
			}
			return apperr.AlreadyExists("household", "", "a household is registered at this address by another team")
		}
		h.ID = uuid.NewString()
		for i := range h.Members {
			h.Members[i].StartedOn = startedOn
			if _, err := a.leaveForMove(ctx, h.Members[i].ResidentID, h.ID, startedOn); err != nil {
				return err
			}
		}
		if err := a.d.Households.Insert(ctx, h); err != nil {
			return err
		}
		if err := a.d.Events.HouseholdCreated(ctx, h); err != nil {
			return err
		}
		for _, m := range h.Members {
			if err := a.d.Access.Record(ctx, householdEntry(action, h.ID, residents[m.ResidentID], accesslog.RouteTeam, accesslog.OutcomeGranted)); err != nil {
				return err
			}
		}
		return nil
	})
	h.Address = domain.Address{}
	return h, err
}

// AddHouseholdMember adds a resident the calling team works with to a household it works
// with, under the moving rule of leaveForMove. A household has at most one current
// applicant.
func (a *App) AddHouseholdMember(ctx context.Context, householdID string, m domain.Member) (domain.Household, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return domain.Household{}, err
	}
	if m.StartedOn == "" {
		m.StartedOn = a.today()
	}
	const action = "intake.household.add_member"
	var out domain.Household
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		h, _, err := a.workedWithHousehold(ctx, caller, householdID, action, true)
		if err != nil {
			return err
		}
		if err := a.d.Residents.LockResident(ctx, m.ResidentID); err != nil {
			return err
		}
		r, _, err := a.workedWith(ctx, caller, m.ResidentID, action, true)
		if err != nil {
			return err
		}
		if r.MergedInto != "" {
			return apperr.FailedPrecondition("resident " + r.ID + " was merged into " + r.MergedInto)
		}
		if m.Role == domain.RoleApplicant && h.HasCurrentApplicant() {
			return apperr.FailedPrecondition("the household already has a current APPLICANT")
		}
		previous, err := a.leaveForMove(ctx, m.ResidentID, householdID, m.StartedOn)
		if err != nil {
			return err
		}
		if err := a.d.Households.AddMember(ctx, householdID, m); err != nil {
			return err
		}
		if err := a.d.Events.HouseholdMemberAdded(ctx, h, m, previous); err != nil {
			return err
		}
		if out, err = a.d.Households.GetHousehold(ctx, householdID, false); err != nil {
			return err
		}
		return a.d.Access.Record(ctx, householdEntry(action, householdID, r, accesslog.RouteTeam, accesslog.OutcomeGranted))
	})
	out.Address = domain.Address{}
	return out, err
}

// RemoveHouseholdMember ends a current membership on endedOn (not before it started); the
// membership stays in the household's history.
func (a *App) RemoveHouseholdMember(ctx context.Context, householdID, residentID, endedOn string) (domain.Household, error) {
	caller, err := teamCaller(ctx)
	if err != nil {
		return domain.Household{}, err
	}
	const action = "intake.household.remove_member"
	var out domain.Household
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		h, _, err := a.workedWithHousehold(ctx, caller, householdID, action, true, residentID)
		if err != nil {
			return err
		}
		m, ok := h.CurrentMember(residentID)
		if !ok {
			return apperr.FailedPrecondition("resident " + residentID + " is not a current member of household " + householdID)
		}
		if endedOn < m.StartedOn {
			return apperr.Invalid("ended_on", "must not be before the membership started ("+m.StartedOn+")")
		}
		r, err := a.d.Residents.Get(ctx, residentID)
		if err != nil {
			return err
		}
		if err := a.d.Households.EndMember(ctx, householdID, residentID, endedOn); err != nil {
			return err
		}
		if err := a.d.Events.HouseholdMemberRemoved(ctx, h, residentID, endedOn); err != nil {
			return err
		}
		if out, err = a.d.Households.GetHousehold(ctx, householdID, false); err != nil {
			return err
		}
		return a.d.Access.Record(ctx, householdEntry(action, householdID, r, accesslog.RouteTeam, accesslog.OutcomeGranted))
	})
	out.Address = domain.Address{}
	return out, err
}

// GetHousehold returns a household the calling team works with: its address and every
// membership, current and ended. Names and dates of birth are filled in only for members the
// team works with; each member whose data is shown is in the access log. A Wijkbrug service
// forwarding a team's request reads as that team (logged with route SERVICE).
func (a *App) GetHousehold(ctx context.Context, id string) (domain.Household, error) {
	caller, err := teamOrForwardingService(ctx)
	if err != nil {
		return domain.Household{}, err
	}
	const action = "intake.household.read"
	var out domain.Household
	err = accesslog.ReadTx(ctx, a.d.Tx, func(ctx context.Context) error {
		h, route, err := a.workedWithHousehold(ctx, caller, id, action, false)
		if err != nil {
			return err
		}
		logged := map[string]bool{}
		for i, m := range h.Members {
			r, err := a.d.Residents.Get(ctx, m.ResidentID)
			if err != nil {
				return err
			}
			works, err := a.d.Residents.TeamWorksWith(ctx, caller.Org.OIN, m.ResidentID)
			if err != nil {
				return err
			}
			if works {
				if err := a.d.Residents.LoadDetails(ctx, &r); err != nil {
					return err
				}
				h.Members[i].Name, h.Members[i].BirthDate = r.Name, r.BirthDate
			}
			// The address and membership are the member's personal data, also when the
			// team does not work with them personally.
			if !logged[m.ResidentID] {
				logged[m.ResidentID] = true
				if err := a.d.Access.Record(ctx, householdEntry(action, id, r, forwardedRoute(ctx, route), accesslog.OutcomeGranted)); err != nil {
					return err
				}
			}
		}
		out = h
		return nil
	})
	return out, err
}

// ListHouseholdResidents gives a Wijkbrug service (case-direction) a household's current
// members as id and pseudonym; the read is logged under each of them.
func (a *App) ListHouseholdResidents(ctx context.Context, householdID, after string, size int) (out []domain.ResidentRef, more bool, err error) {
	err = a.d.Tx.Tx(ctx, func(ctx context.Context) error {
		if _, err := a.d.Residents.HouseholdMunicipality(ctx, householdID); err != nil {
			return err
		}
		rows, err := a.d.Residents.CurrentResidentsAfter(ctx, householdID, after, size+1)
		if err != nil {
			return err
		}
		refs, next := paging.Cut(rows, size)
		for _, r := range refs {
			if err := a.d.Access.Record(ctx, householdMemberShown(householdID, r.Pseudonym)); err != nil {
				return err
			}
		}
		out, more = refs, next
		return nil
	})
	return out, more, err
}

// householdMemberShown is the entry of a household member shown to a Wijkbrug service
// (ListHouseholdResidents, CheckIntakeOwnership with the facts).
func householdMemberShown(householdID, pseudonym string) accesslog.Entry {
	return accesslog.Entry{Action: "intake.household.residents", ObjectType: "household",
		ObjectID: householdID, ResidentPseudonym: pseudonym, Route: accesslog.RouteService}
}
