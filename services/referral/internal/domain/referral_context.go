package domain

import (
	"fmt"
	"slices"
)

// A referral belongs to a case or an intake, which other services own. What the referral says
// about its resident, municipality and goals must agree with what they know; these rules check
// it against the facts case-direction or intake gave.

// CaseFacts is what case-direction tells about the case a referral is made for.
type CaseFacts struct {
	ID           string
	Municipality string
	// Status is the case's status code (ACTIVE, CLOSED, HANDED_OVER, …).
	Status string
	// HasPlan is false before the first plan is adopted.
	HasPlan bool
	// Goals are the goals of the current plan by id, with their status code (OPEN,
	// IN_PROGRESS, REACHED, PARTLY, NOT_REACHED, DROPPED).
	Goals map[string]string
	// Residents are the access-log pseudonyms of the household's current members.
	Residents []string
}

// IntakeFacts is what intake tells about the intake a referral is made for.
type IntakeFacts struct {
	ID           string
	Municipality string
	// Status is the intake's status code (RECEIVED, IN_TRIAGE, MERGED, …).
	Status string
	// MergedInto names the intake a MERGED intake was merged into.
	MergedInto string
	// Residents are the access-log pseudonyms of the current members of the intake's household.
	Residents []string
}

// ContextError is a referral refused because of the state of its case or intake (closed,
// merged, a goal already settled). It is a failed precondition in apperr's vocabulary.
type ContextError struct{ Reason string }

func (e ContextError) Error() string { return e.Reason }

// ForbiddenTransition makes it FAILED_PRECONDITION with this message.
func (ContextError) ForbiddenTransition() {}

// finalGoalStatuses are the goal states no new work is done towards.
var finalGoalStatuses = []string{"REACHED", "PARTLY", "NOT_REACHED", "DROPPED"}

// CheckAgainstCase checks the referral against its case: the case still runs, the resident
// (residentPseudonym, the access-log pseudonym of r.ResidentBSN) is a current member of the
// case's household, the municipality is the case's, and every goal id is a distinct goal of the
// case's current plan that is still open. The district's place in the municipality is a format
// rule, checked at the edge.
func (r Referral) CheckAgainstCase(c CaseFacts, residentPseudonym string) error {
	switch c.Status {
	case "CLOSED", "HANDED_OVER":
		return ContextError{fmt.Sprintf("case %s is %s: a referral is made for a running case", c.ID, c.Status)}
	}
	if !slices.Contains(c.Residents, residentPseudonym) {
		return RuleViolation{"resident_bsn", "not a current member of the household of case " + c.ID}
	}
	if r.Municipality != c.Municipality {
		return RuleViolation{"municipality_code", fmt.Sprintf("case %s is of municipality %s", c.ID, c.Municipality)}
	}
	if err := uniqueGoals(r.GoalIDs); err != nil {
		return err
	}
	if len(r.GoalIDs) > 0 && !c.HasPlan {
		return ContextError{fmt.Sprintf("case %s has no plan yet: adopt one before referring for its goals", c.ID)}
	}
	for i, g := range r.GoalIDs {
		if _, ok := c.Goals[g]; !ok {
			return RuleViolation{fmt.Sprintf("goal_ids[%d]", i), "not a goal of the current plan of case " + c.ID}
		}
	}
	for _, g := range r.GoalIDs {
		if st := c.Goals[g]; slices.Contains(finalGoalStatuses, st) {
			return ContextError{fmt.Sprintf("goal %s of case %s is %s: a referral works on an open goal", g, c.ID, st)}
		}
	}
	return nil
}

// CheckAgainstIntake checks the referral against its intake: the intake did not end without
// the resident (withdrawn, not reached) or in another intake (merged), the resident is a current
// member of the intake's household, the municipality is the intake's, and no goals are named
// (an intake has no plan).
func (r Referral) CheckAgainstIntake(in IntakeFacts, residentPseudonym string) error {
	switch in.Status {
	case "MERGED":
		return ContextError{fmt.Sprintf("intake %s was merged into intake %s: refer from that one", in.ID, in.MergedInto)}
	case "WITHDRAWN", "NOT_REACHED":
		return ContextError{fmt.Sprintf("intake %s ended %s: there is no one to refer", in.ID, in.Status)}
	}
	if len(r.GoalIDs) > 0 {
		return RuleViolation{"goal_ids", "an intake has no plan and so no goals: leave goal_ids empty"}
	}
	if !slices.Contains(in.Residents, residentPseudonym) {
		return RuleViolation{"resident_bsn", "not a current member of the household of intake " + in.ID}
	}
	if r.Municipality != in.Municipality {
		return RuleViolation{"municipality_code", fmt.Sprintf("intake %s is of municipality %s", in.ID, in.Municipality)}
	}
	return nil
}

// uniqueGoals refuses a goal named twice.
func uniqueGoals(ids []string) error {
	for i, g := range ids {
		if first := slices.Index(ids[:i], g); first >= 0 {
			return RuleViolation{fmt.Sprintf("goal_ids[%d]", i), fmt.Sprintf("names the same goal a second time (as goal_ids[%d] does)", first)}
		}
	}
	return nil
}
