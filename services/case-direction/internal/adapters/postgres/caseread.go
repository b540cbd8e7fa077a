package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// Reading a case: its row and every part of it (allocations, referrals, the current plan
// with its goals and their actions, involvements, evaluations, to-dos, conferences, safety
// concerns, outcomes, current residents) are statements by case id, sent in one pipeline: one
// round trip where they were ten, twelve with a plan, each waiting for the last, and one more
// for the residents when the access was logged (issue 12). The plan's statements follow
// cases.plan_version themselves, since the version is not known before the pipeline is sent;
// when a plan is adopted while it runs, get reads the case again.

const caseRowSQL = `
	SELECT id::text, household_id::text, intake_id::text, municipality_code, district_code, team_oin, status,
	       director_professional_id, director_since, life_domains, opened_at, closed_at,
	       plan_version, result, safety_concern, watch_interval_days, watch_until, next_check_at,
	       last_check_in_at, missed_check_ins, handover_recipient, handover_recipient_oin, handover_municipality,
	       baseline_assessment_id::text
	FROM cases WHERE id = $1`

// currentPlan joins a case ($1) with its current plan version (none while plan_version is 0).
const currentPlan = `plans p JOIN cases c ON c.id = p.case_id AND p.version = c.plan_version`

const (
	allocationsSQL = `
		SELECT allocation_number, provider_agb, product_category, product_code, status, updated_at, origin, decision_number,
		       pending_since
		FROM case_allocations WHERE case_id = $1 ORDER BY allocation_number`
	referralsSQL = `
		SELECT referral_id::text, status, updated_at, COALESCE(intake_id::text, '') FROM case_referrals WHERE case_id = $1 ORDER BY referral_id`
	involvementsSQL = `SELECT ` + involvementColumns + ` FROM involvements WHERE case_id = $1 ORDER BY created_at, id`
	evaluationsSQL  = `
		SELECT id::text, evaluated_at, evaluated_by, COALESCE(assessment_id::text, ''), COALESCE(baseline_assessment_id::text, ''),
		       decision, changes
		FROM evaluations WHERE case_id = $1 ORDER BY evaluated_at, id`
	todosSQL = `
		SELECT id::text, reason, allocation_number, goal_ids, created_at, done_at
		FROM evaluation_todos WHERE case_id = $1 ORDER BY created_at, id`
	conferencesSQL = `
		SELECT id::text, held_on, attendees, decisions, recorded_at, recorded_by
		FROM case_conferences WHERE case_id = $1 ORDER BY held_on, recorded_at`
	safetySQL = `
		SELECT kind, meldcode_step, recorded_at, updated_at FROM safety_concerns WHERE case_id = $1 ORDER BY kind`
	residentsSQL = `
		SELECT resident_id::text, pseudonym FROM case_residents WHERE case_id = $1 AND until IS NULL ORDER BY resident_id`
	outcomesSQL = `
		SELECT life_domain, baseline_score, target_score, closing_score, outcome
		FROM domain_outcomes WHERE case_id = $1 ORDER BY life_domain`

	// The current plan's row, goals and goal actions each name the version they read, so that
	// a plan adopted between these statements is noticed (planParts.consistent).
	currentPlanSQL = `
		SELECT p.version, p.adopted_at, p.adopted_by, p.resident_agreed, p.resident_agreed_on, p.evaluation_date, p.goal_ids::text[]
		FROM ` + currentPlan + ` WHERE c.id = $1`
	currentGoalsSQL = `
		SELECT p.version, g.id::text, g.life_domain, g.baseline_score, g.target_score, g.status
		FROM ` + currentPlan + ` JOIN goals g ON g.id = ANY(p.goal_ids)
		WHERE c.id = $1 ORDER BY g.life_domain`
	currentGoalActionsSQL = `
		SELECT p.version, a.goal_id::text, COALESCE(a.referral_id::text, ''), COALESCE(a.allocation_number, ''),
		       COALESCE(cr.status, ca.status, '')
		FROM ` + currentPlan + ` JOIN goal_actions a ON a.goal_id = ANY(p.goal_ids)
		LEFT JOIN case_referrals cr ON cr.referral_id = a.referral_id
		LEFT JOIN case_allocations ca ON ca.allocation_number = a.allocation_number
		WHERE c.id = $1 ORDER BY a.added_at, a.referral_id, a.allocation_number`
)

// casePart is one statement of a case's read: its SQL (with the case id as $1) and what
// reads its rows into the case.
type casePart struct {
	sql  string
	read func(rows pgx.Rows) error
}

// planAttempts bounds get's reads of a case whose plan keeps being adopted while it is read.
const planAttempts = 3

func (r *Cases) get(ctx context.Context, id, lock string) (domain.Case, error) {
	for range planAttempts {
		c, consistent, err := r.read(ctx, id, lock)
		if err != nil || consistent {
			return c, err
		}
		// A plan was adopted while the pipeline ran: its statements saw another version than
		// the case's row. Read the case again.
	}
	return domain.Case{}, fmt.Errorf("cases: a new plan of %s was adopted during each of %d reads", id, planAttempts)
}

// read is one pipeline of a case's statements; consistent is false when the plan's statements
// read another plan version than the case's row names.
func (r *Cases) read(ctx context.Context, id, lock string) (c domain.Case, consistent bool, err error) {
	var (
		row  caseRow
		plan planParts
	)
	parts := []casePart{
		partOf(allocationsSQL, &c.Allocations, scanAllocation),
		partOf(referralsSQL, &c.Referrals, scanReferral),
		{currentPlanSQL, plan.readPlan},
		{currentGoalsSQL, plan.readGoals},
		{currentGoalActionsSQL, plan.readActions},
		partOf(involvementsSQL, &c.Involvements, scanInvolvementRow),
		partOf(evaluationsSQL, &c.Details.Evaluations, scanEvaluation),
		partOf(todosSQL, &c.Details.Todos, scanTodo),
		partOf(conferencesSQL, &c.Details.Conferences, r.scanConference),
		partOf(safetySQL, &c.Details.SafetyConcerns, scanSafetyConcern),
		partOf(outcomesSQL, &c.Details.Outcomes, scanOutcome),
		partOf(residentsSQL, &c.Residents, scanResidentRef),
	}
	b := &pgx.Batch{}
	b.Queue(caseRowSQL+lock, id)
	for _, p := range parts {
		b.Queue(p.sql, id)
	}
	br := r.db.Q(ctx).SendBatch(ctx, b)
	err = row.scan(br.QueryRow(), &c)
	if err == nil {
		for _, p := range parts {
			var rows pgx.Rows
			if rows, err = br.Query(); err != nil {
				break
			}
			if err = p.read(rows); err != nil {
				break
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if pgxdb.IsNoRows(err) {
		return c, false, apperr.NotFound("case", id)
	}
	if err != nil {
		return c, false, err
	}
	row.into(&c)
	if row.planVersion == 0 {
		return c, true, nil
	}
	if !plan.consistent(row.planVersion) {
		return c, false, nil
	}
	c.Plan = plan.assemble()
	return c, true, nil
}

// partOf is a part whose rows are scanned into *dest.
func partOf[T any](sql string, dest *[]T, scan pgx.RowToFunc[T]) casePart {
	return casePart{sql, func(rows pgx.Rows) (err error) {
		*dest, err = collectAll(rows, scan)
		return err
	}}
}

// collectAll reads every row with scan (pgx.CollectRows, which closes the rows) and keeps a
// case without any of them at nil, as the case's parts were read before.
func collectAll[T any](rows pgx.Rows, scan pgx.RowToFunc[T]) ([]T, error) {
	out, err := pgx.CollectRows(rows, scan)
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// caseRow holds what a case's row gives that needs converting before it is set on the case.
type caseRow struct {
	status                              string
	intakeID, directorP, result         *string
	baseline                            *string
	directorSince, nextCheck, lastCheck *time.Time
	watchDays                           *int
	watchUntil                          *time.Time
	missed, planVersion                 int
	hoRecipient, hoOIN, hoMunicipality  *string
}

func (w *caseRow) scan(row pgx.Row, c *domain.Case) error {
	return row.Scan(
		&c.ID, &c.HouseholdID, &w.intakeID, &c.Municipality, &c.District, &c.TeamOIN, &w.status,
		&w.directorP, &w.directorSince, &c.LifeDomains, &c.OpenedAt, &c.ClosedAt,
		&w.planVersion, &w.result, &c.SafetyConcern, &w.watchDays, &w.watchUntil, &w.nextCheck,
		&w.lastCheck, &w.missed, &w.hoRecipient, &w.hoOIN, &w.hoMunicipality, &w.baseline)
}

// into sets the fields of c that the row gives converted.
func (w *caseRow) into(c *domain.Case) {
	c.Status = domain.Status(w.status)
	c.IntakeID = deref(w.intakeID)
	c.Result = deref(w.result)
	c.BaselineAssessmentID = deref(w.baseline)
	if w.directorP != nil && w.directorSince != nil {
		// The director's team is the case's team: only the owning team assigns directors.
		c.Director = &domain.Director{ProfessionalID: *w.directorP, TeamOIN: c.TeamOIN, Since: *w.directorSince}
	}
	if w.watchDays != nil && w.watchUntil != nil {
		c.Watch = &domain.Watch{IntervalDays: *w.watchDays, Until: *w.watchUntil, NextCheckAt: w.nextCheck, LastCheckInAt: w.lastCheck, Missed: w.missed}
	}
	if w.hoRecipient != nil {
		c.Handover = &domain.Handover{Recipient: *w.hoRecipient, RecipientOIN: deref(w.hoOIN), Municipality: deref(w.hoMunicipality)}
		if c.ClosedAt != nil {
			c.Handover.At = *c.ClosedAt
		}
	}
}

// planParts are the current plan's row, goals and goal actions as three statements read
// them, each with the plan version it saw.
type planParts struct {
	versions []int // the version each row was read from
	plan     *domain.Plan
	goalIDs  []string
	goals    []domain.Goal
	actions  []goalAction
}

type goalAction struct {
	goalID string
	action domain.GoalAction
}

func (p *planParts) readPlan(rows pgx.Rows) error {
	plans, err := collectAll(rows, func(row pgx.CollectableRow) (domain.Plan, error) {
		var (
			pl       domain.Plan
			agreedOn *time.Time
			evalDate time.Time
		)
		err := row.Scan(&pl.Version, &pl.AdoptedAt, &pl.AdoptedBy, &pl.ResidentAgreed, &agreedOn, &evalDate, &p.goalIDs)
		if agreedOn != nil {
			pl.ResidentAgreedOn = agreedOn.Format(time.DateOnly)
		}
		pl.EvaluationDate = evalDate.Format(time.DateOnly)
		return pl, err
	})
	for _, pl := range plans {
		p.plan = &pl
		p.versions = append(p.versions, pl.Version)
	}
	return err
}

func (p *planParts) readGoals(rows pgx.Rows) error {
	var err error
	p.goals, err = collectAll(rows, func(row pgx.CollectableRow) (domain.Goal, error) {
		var (
			g       domain.Goal
			st      string
			version int
		)
		err := row.Scan(&version, &g.ID, &g.LifeDomain, &g.Baseline, &g.Target, &st)
		g.Status = domain.GoalStatus(st)
		p.versions = append(p.versions, version)
		return g, err
	})
	return err
}

func (p *planParts) readActions(rows pgx.Rows) error {
	var err error
	p.actions, err = collectAll(rows, func(row pgx.CollectableRow) (goalAction, error) {
		var (
			a       goalAction
			version int
		)
		err := row.Scan(&version, &a.goalID, &a.action.ReferralID, &a.action.AllocationNumber, &a.action.Status)
		p.versions = append(p.versions, version)
		return a, err
	})
	return err
}

// consistent reports whether the plan's row, goals and actions were all read from version,
// the one the case's row names, and every goal the plan lists was found.
func (p *planParts) consistent(version int) bool {
	if p.plan == nil || p.plan.Version != version || len(p.goals) != len(p.goalIDs) {
		return false
	}
	for _, v := range p.versions {
		if v != version {
			return false
		}
	}
	return true
}

func (p *planParts) assemble() *domain.Plan {
	pl := p.plan
	pl.Goals = p.goals
	byID := make(map[string]int, len(pl.Goals))
	for i, g := range pl.Goals {
		byID[g.ID] = i
	}
	for _, a := range p.actions {
		if i, ok := byID[a.goalID]; ok {
			pl.Goals[i].Actions = append(pl.Goals[i].Actions, a.action)
		}
	}
	return pl
}

// involvements reads every involvement of a case, oldest first.
func (r *Cases) involvements(ctx context.Context, caseID string) ([]domain.Involvement, error) {
	rows, err := r.db.Q(ctx).Query(ctx, involvementsSQL, caseID)
	if err != nil {
		return nil, err
	}
	return collectAll(rows, scanInvolvementRow)
}

func scanInvolvementRow(row pgx.CollectableRow) (domain.Involvement, error) {
	return scanInvolvement(row)
}

func scanAllocation(row pgx.CollectableRow) (domain.AllocationAction, error) {
	var a domain.AllocationAction
	err := row.Scan(&a.Number, &a.ProviderAGB, &a.ProductCategory, &a.ProductCode, &a.Status, &a.UpdatedAt, &a.Origin, &a.DecisionNumber, &a.PendingSince)
	return a, err
}

func scanReferral(row pgx.CollectableRow) (domain.ReferralAction, error) {
	var a domain.ReferralAction
	err := row.Scan(&a.ReferralID, &a.Status, &a.UpdatedAt, &a.IntakeID)
	return a, err
}

func scanEvaluation(row pgx.CollectableRow) (domain.Evaluation, error) {
	var e domain.Evaluation
	var changes []byte
	if err := row.Scan(&e.ID, &e.At, &e.By, &e.AssessmentID, &e.BaselineAssessmentID, &e.Decision, &changes); err != nil {
		return e, err
	}
	return e, json.Unmarshal(changes, &e.Changes)
}

func scanTodo(row pgx.CollectableRow) (domain.EvaluationTodo, error) {
	var t domain.EvaluationTodo
	err := row.Scan(&t.ID, &t.Reason, &t.AllocationNumber, &t.GoalIDs, &t.CreatedAt, &t.DoneAt)
	return t, err
}

func (r *Cases) scanConference(row pgx.CollectableRow) (domain.Conference, error) {
	var c domain.Conference
	var held time.Time
	var attendees []byte
	var sealed [][]byte
	if err := row.Scan(&c.ID, &held, &attendees, &sealed, &c.RecordedAt, &c.RecordedBy); err != nil {
		return c, err
	}
	c.HeldOn = held.Format(time.DateOnly)
	if err := json.Unmarshal(attendees, &c.Attendees); err != nil {
		return c, err
	}
	for _, s := range sealed {
		text, err := r.seal.Open(s, decisionsAAD)
		if err != nil {
			return c, fmt.Errorf("conference %s: open decision: %w", c.ID, err)
		}
		c.Decisions = append(c.Decisions, text)
	}
	return c, nil
}

func scanSafetyConcern(row pgx.CollectableRow) (domain.SafetyConcern, error) {
	var s domain.SafetyConcern
	err := row.Scan(&s.Kind, &s.MeldcodeStep, &s.RecordedAt, &s.UpdatedAt)
	return s, err
}

func scanResidentRef(row pgx.CollectableRow) (domain.ResidentRef, error) {
	var r domain.ResidentRef
	err := row.Scan(&r.ResidentID, &r.Pseudonym)
	return r, err
}

func scanOutcome(row pgx.CollectableRow) (domain.DomainOutcome, error) {
	var o domain.DomainOutcome
	err := row.Scan(&o.LifeDomain, &o.Baseline, &o.Target, &o.Closing, &o.Outcome)
	return o, err
}
