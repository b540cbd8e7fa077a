package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// decisionsAAD binds sealed conference decisions to their column.
const decisionsAAD = "case_conferences.decisions"

// SavePlan stores an adopted plan version: new goals are inserted, carried-over goals get the
// new scores, and the version row lists the goals of this version.
func (r *Cases) SavePlan(ctx context.Context, caseID string, p domain.Plan) error {
	q := r.db.Q(ctx)
	ids := make([]string, 0, len(p.Goals))
	for _, g := range p.Goals {
		_, err := q.Exec(ctx, `
			INSERT INTO goals (id, case_id, life_domain, baseline_score, target_score, status, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET life_domain = EXCLUDED.life_domain, baseline_score = EXCLUDED.baseline_score,
			    target_score = EXCLUDED.target_score, updated_at = EXCLUDED.updated_at
			WHERE goals.case_id = EXCLUDED.case_id`,
			g.ID, caseID, g.LifeDomain, g.Baseline, g.Target, string(g.Status), p.AdoptedAt)
		if err != nil {
			return err
		}
		ids = append(ids, g.ID)
	}
	_, err := q.Exec(ctx, `
		INSERT INTO plans (case_id, version, adopted_at, adopted_by, resident_agreed, resident_agreed_on, evaluation_date, goal_ids)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::date, $7::date, $8::uuid[])`,
		caseID, p.Version, p.AdoptedAt, p.AdoptedBy, p.ResidentAgreed, p.ResidentAgreedOn, p.EvaluationDate, ids)
	return err
}

// SetGoalStatus stores a goal's status.
func (r *Cases) SetGoalStatus(ctx context.Context, goalID string, status domain.GoalStatus, at time.Time) error {
	_, err := r.db.Q(ctx).Exec(ctx, `UPDATE goals SET status = $2, updated_at = $3 WHERE id = $1`, goalID, string(status), at)
	return err
}

// ReferralCase returns the case the referral service reported the referral for, "" when it
// reported none.
func (r *Cases) ReferralCase(ctx context.Context, referralID string) (string, error) {
	var caseID string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT case_id::text FROM case_referrals WHERE referral_id = $1`, referralID).Scan(&caseID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return caseID, err
}

// AddGoalAction links a referral or an allocation to a goal; false when already linked.
func (r *Cases) AddGoalAction(ctx context.Context, goalID string, a domain.GoalAction, at time.Time) (bool, error) {
	tag, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO goal_actions (goal_id, referral_id, allocation_number, added_at)
		VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, ''), $4) ON CONFLICT DO NOTHING`,
		goalID, a.ReferralID, a.AllocationNumber, at)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// SetReferralStatus records the referral service's report on a referral of the case,
// unless a later report was recorded already (events may arrive out of order). It reports
// whether anything changed and the case the referral belongs to ("" when it is not the
// given case's: a referral never moves between cases).
func (r *Cases) SetReferralStatus(ctx context.Context, caseID, referralID, status string, at time.Time) (bool, error) {
	tag, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO case_referrals (referral_id, case_id, status, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (referral_id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
		WHERE case_referrals.case_id = EXCLUDED.case_id AND case_referrals.updated_at <= EXCLUDED.updated_at`,
		referralID, caseID, status, at)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// AddTodo stores an evaluation to-do unless one for the same allocation and reason is open.
func (r *Cases) AddTodo(ctx context.Context, caseID string, t domain.EvaluationTodo) (bool, error) {
	tag, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO evaluation_todos (id, case_id, reason, allocation_number, goal_ids, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id, reason, allocation_number) WHERE done_at IS NULL DO NOTHING`,
		t.ID, caseID, t.Reason, t.AllocationNumber, nonNil(t.GoalIDs), t.CreatedAt)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// AddEvaluation stores an evaluation and settles the case's open to-dos with it.
func (r *Cases) AddEvaluation(ctx context.Context, caseID string, e domain.Evaluation) error {
	changes := e.Changes
	if changes == nil {
		changes = []domain.DomainChange{}
	}
	changesJSON, err := json.Marshal(changes)
	if err != nil {
		return err
	}
	q := r.db.Q(ctx)
	// scores (the re-typed scores before issue 10) stays empty: intake holds the assessment.
	if _, err := q.Exec(ctx, `
		INSERT INTO evaluations (id, case_id, evaluated_at, evaluated_by, assessment_id, baseline_assessment_id, decision, scores, changes)
		VALUES ($1, $2, $3, $4, NULLIF($5, '')::uuid, NULLIF($6, '')::uuid, $7, '[]', $8)`,
		e.ID, caseID, e.At, e.By, e.AssessmentID, e.BaselineAssessmentID, e.Decision, changesJSON); err != nil {
		return err
	}
	_, err = q.Exec(ctx, `UPDATE evaluation_todos SET done_at = $2, evaluation_id = $3 WHERE case_id = $1 AND done_at IS NULL`,
		caseID, e.At, e.ID)
	return err
}

// AddConference stores a case conference with its decisions encrypted.
func (r *Cases) AddConference(ctx context.Context, caseID string, c domain.Conference) error {
	attendees, err := json.Marshal(c.Attendees)
	if err != nil {
		return err
	}
	sealed := make([][]byte, 0, len(c.Decisions))
	for _, d := range c.Decisions {
		sealed = append(sealed, r.seal.Seal(d, decisionsAAD))
	}
	_, err = r.db.Q(ctx).Exec(ctx, `
		INSERT INTO case_conferences (id, case_id, held_on, attendees, decisions, recorded_at, recorded_by)
		VALUES ($1, $2, $3::date, $4, $5, $6, $7)`, c.ID, caseID, c.HeldOn, attendees, sealed, c.RecordedAt, c.RecordedBy)
	return err
}

// AddCheckIn stores a pilot-light check-in.
func (r *Cases) AddCheckIn(ctx context.Context, caseID, by string, reopened bool, at time.Time) error {
	_, err := r.db.Q(ctx).Exec(ctx, `INSERT INTO check_ins (case_id, at, by_user, reopened) VALUES ($1, $2, $3, $4)`, caseID, at, by, reopened)
	return err
}

// SaveSafetyConcern inserts or updates the concern of that kind.
func (r *Cases) SaveSafetyConcern(ctx context.Context, caseID string, s domain.SafetyConcern) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO safety_concerns (case_id, kind, meldcode_step, recorded_at, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (case_id, kind) DO UPDATE SET meldcode_step = EXCLUDED.meldcode_step, updated_at = EXCLUDED.updated_at`,
		caseID, s.Kind, s.MeldcodeStep, s.RecordedAt, s.UpdatedAt)
	return err
}

// SaveOutcomes stores the closing outcome per life domain.
func (r *Cases) SaveOutcomes(ctx context.Context, caseID string, outcomes []domain.DomainOutcome) error {
	for _, o := range outcomes {
		if _, err := r.db.Q(ctx).Exec(ctx, `
			INSERT INTO domain_outcomes (case_id, life_domain, baseline_score, target_score, closing_score, outcome)
			VALUES ($1, $2, $3, $4, $5, $6)`, caseID, o.LifeDomain, o.Baseline, o.Target, o.Closing, o.Outcome); err != nil {
			return err
		}
	}
	return nil
}

// FoldCounts folds the +1/-1 rows of up to limit groups (team, director, status) of
// caseload_counts into one row each, dropping groups that sum to zero, and reports how many
// groups it folded. One replica folds at a time (a transaction advisory lock; the others
// return 0), so two folds never lock the same rows in different orders; case writes only
// insert rows and never wait for a fold. Call it in a transaction.
func (r *Cases) FoldCounts(ctx context.Context, limit int) (int, error) {
	q := r.db.Q(ctx)
	var got bool
	if err := q.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('casedirection.caseload_counts'))`).Scan(&got); err != nil || !got {
		return 0, err
	}
	var n int
	err := q.QueryRow(ctx, `
		WITH groups AS MATERIALIZED (
			SELECT team_oin, director, status FROM caseload_counts GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT $1
		), gone AS (
			DELETE FROM caseload_counts c USING groups g
			WHERE c.team_oin = g.team_oin AND c.director = g.director AND c.status = g.status
			RETURNING c.team_oin, c.director, c.status, c.n
		), folded AS (
			INSERT INTO caseload_counts (team_oin, director, status, n)
			SELECT team_oin, director, status, sum(n) FROM gone GROUP BY 1, 2, 3 HAVING sum(n) <> 0
		)
		SELECT count(*) FROM groups`, limit).Scan(&n)
	return n, err
}

// List returns one page of a team's cases, newest first, and the counts per status. The counts
// and the page go to PostgreSQL together (one round trip, a pipelined batch), and every case
// of the page comes with its current residents, for the access log. A page of the team, of
// one status or of one director runs on its generic plan, planned once per connection
// (pgxdb.SendGeneric): an index range in the list's order whatever the values.
func (r *Cases) List(ctx context.Context, f domain.ListFilter) ([]domain.Summary, map[domain.Status]int, error) {
	countSQL, countArgs, pageSQL, pageArgs := listQueries(f)
	b := &pgx.Batch{}
	b.Queue(countSQL, countArgs...)
	b.Queue(pageSQL, pageArgs...)
	var res pgx.BatchResults
	if indexRange(f) {
		res = r.db.SendGeneric(ctx, b)
	} else {
		res = r.db.Q(ctx).SendBatch(ctx, b)
	}
	defer res.Close()
	counts := map[domain.Status]int{}
	rows, err := res.Query()
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return nil, nil, err
		}
		counts[domain.Status(s)] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = res.Query()
	if err != nil {
		return nil, nil, err
	}
	var out []domain.Summary
	for rows.Next() {
		var s domain.Summary
		var st string
		if err := rows.Scan(&s.ID, &s.HouseholdID, &st, &s.Director, &s.Municipality, &s.District, &s.OpenedAt, &s.NextCheckAt, &s.OpenTodos, &s.Residents); err != nil {
			rows.Close()
			return nil, nil, err
		}
		s.Status = domain.Status(st)
		out = append(out, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return out, counts, res.Close()
}

// indexRange reports whether f's page is a range of one index in the list's order whatever
// its values (TestCaseloadPagesAreIndexRanges checks their generic plans): the team, one
// status, one director. A household's or a resident's cases, and several statuses, are
// planned for their values.
func indexRange(f domain.ListFilter) bool {
	return f.HouseholdID == "" && f.ResidentID == "" && len(f.Statuses) <= 1
}

// listQueries builds the two queries of a caseload page: the counts per status of the team (or
// director) — summed from caseload_counts, a few rows per director and status (migration
// 00008) — and the page itself, a keyset range of the index in the list's order (migration
// 00005), with the open to-dos counted for the page's rows only.
func listQueries(f domain.ListFilter) (countSQL string, countArgs []any, pageSQL string, pageArgs []any) {
	where := []string{"team_oin = $1"}
	args := []any{f.TeamOIN}
	if f.Director != "" {
		args = append(args, f.Director)
		where = append(where, fmt.Sprintf("director_professional_id = $%d", len(args)))
	}
	if f.HouseholdID != "" {
		args = append(args, f.HouseholdID)
		where = append(where, fmt.Sprintf("household_id = $%d::uuid", len(args)))
	}
	if f.ResidentID != "" {
		args = append(args, f.ResidentID)
		where = append(where, fmt.Sprintf("id IN (SELECT case_id FROM case_residents WHERE resident_id = $%d::uuid)", len(args)))
	}
	countArgs = append([]any(nil), args...)
	switch {
	case f.HouseholdID != "" || f.ResidentID != "":
		// A household's or a resident's cases are a handful: counted as they are.
		countSQL = `SELECT status, count(*) FROM cases WHERE ` + strings.Join(where, " AND ") + ` GROUP BY status`
	case f.Director != "":
		countSQL = `SELECT status, sum(n)::bigint FROM caseload_counts WHERE team_oin = $1 AND director = $2 GROUP BY status HAVING sum(n) <> 0`
	default:
		countSQL = `SELECT status, sum(n)::bigint FROM caseload_counts WHERE team_oin = $1 GROUP BY status HAVING sum(n) <> 0`
	}
	switch len(f.Statuses) {
	case 0:
	case 1: // an equality keeps the page an ordered range of cases_team_status_opened
		args = append(args, string(f.Statuses[0]))
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	default:
		st := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			st[i] = string(s)
		}
		args = append(args, st)
		where = append(where, fmt.Sprintf("status = ANY($%d)", len(args)))
	}
	if f.After != nil {
		args = append(args, f.After.OpenedAt, f.After.ID)
		where = append(where, fmt.Sprintf("(opened_at, id) < ($%d, $%d::uuid)", len(args)-1, len(args)))
	}
	args = append(args, f.Limit)
	pageSQL = `
		SELECT c.id::text, c.household_id::text, c.status, COALESCE(c.director_professional_id, ''), c.municipality_code,
		       c.district_code, c.opened_at, c.next_check_at,
		       (SELECT count(*) FROM evaluation_todos t WHERE t.case_id = c.id AND t.done_at IS NULL),
		       ARRAY(SELECT cr.pseudonym FROM case_residents cr WHERE cr.case_id = c.id AND cr.until IS NULL ORDER BY cr.resident_id)
		FROM (SELECT * FROM cases WHERE ` + strings.Join(where, " AND ") + fmt.Sprintf(` ORDER BY opened_at DESC, id DESC LIMIT $%d) c
		ORDER BY c.opened_at DESC, c.id DESC`, len(args))
	return countSQL, countArgs, pageSQL, args
}
