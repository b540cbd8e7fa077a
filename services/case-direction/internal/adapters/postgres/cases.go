// Package postgres stores case-direction's aggregates in its own PostgreSQL database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// openPredicate must match the predicate of the cases_one_open_per_household index word for
// word, or PostgreSQL cannot use the index as the ON CONFLICT arbiter.
const openPredicate = `status NOT IN ('CLOSED', 'HANDED_OVER')`

// Sealer encrypts confidential text (bsn.Protector implements it).
type Sealer interface {
	Seal(plaintext, aad string) []byte
	Open(ciphertext []byte, aad string) (string, error)
}

// Cases is the case repository.
type Cases struct {
	db   *pgxdb.DB
	seal Sealer
}

// NewCases returns the repository; seal encrypts case-conference decisions.
func NewCases(db *pgxdb.DB, seal Sealer) *Cases { return &Cases{db: db, seal: seal} }

// Insert stores a new case unless the household already has an open one, whose id it then
// returns. The unique index decides, so two concurrent inserts for one household cannot both
// succeed: the second waits for the first to commit and then does nothing.
func (r *Cases) Insert(ctx context.Context, c domain.Case) (string, error) {
	// The open case found by the conflict may be closed before we read it; then the insert
	// can simply be tried again.
	for range 3 {
		tag, err := r.db.Q(ctx).Exec(ctx, `
			INSERT INTO cases (id, household_id, intake_id, municipality_code, district_code, team_oin, status,
			                   life_domains, opened_at, baseline_assessment_id)
			VALUES ($1, $2, NULLIF($3, '')::uuid, $4, $5, $6, $7, $8, $9, NULLIF($10, '')::uuid)
			ON CONFLICT (household_id) WHERE `+openPredicate+` DO NOTHING`,
			c.ID, c.HouseholdID, c.IntakeID, c.Municipality, c.District, c.TeamOIN, string(c.Status),
			nonNil(c.LifeDomains), c.OpenedAt, c.BaselineAssessmentID)
		if err != nil {
			return "", err
		}
		if tag.RowsAffected() == 1 {
			return "", r.addResidents(ctx, c.ID, c.Residents, c.OpenedAt)
		}
		var existing string
		err = r.db.Q(ctx).QueryRow(ctx, `SELECT id::text FROM cases WHERE household_id = $1 AND `+openPredicate, c.HouseholdID).Scan(&existing)
		if pgxdb.IsNoRows(err) {
			continue
		}
		return existing, err
	}
	return "", errors.New("cases: the household's open case changed during every attempt to open a new one")
}

// Get reads a case with its allocations.
func (r *Cases) Get(ctx context.Context, id string) (domain.Case, error) { return r.get(ctx, id, "") }

// GetForUpdate reads and locks a case.
func (r *Cases) GetForUpdate(ctx context.Context, id string) (domain.Case, error) {
	return r.get(ctx, id, " FOR UPDATE")
}

// GetForShare reads a case and share-locks it.
func (r *Cases) GetForShare(ctx context.Context, id string) (domain.Case, error) {
	return r.get(ctx, id, " FOR SHARE")
}

// Update stores the mutable columns of a case: status, director, closing time and result,
// plan version, safety flag, pilot light and handover.
func (r *Cases) Update(ctx context.Context, c domain.Case) error {
	var professional *string
	var since *time.Time
	if c.Director != nil {
		professional, since = &c.Director.ProfessionalID, &c.Director.Since
	}
	var (
		watchDays                *int
		watchUntil, next, last   *time.Time
		missed                   int
		hoRecipient, hoOIN, hoGM *string
		planVersion              int
		result                   *string
	)
	if w := c.Watch; w != nil {
		watchDays, watchUntil, next, last, missed = &w.IntervalDays, &w.Until, w.NextCheckAt, w.LastCheckInAt, w.Missed
	}
	if h := c.Handover; h != nil {
		hoRecipient, hoOIN, hoGM = &h.Recipient, &h.RecipientOIN, &h.Municipality
	}
	if c.Plan != nil {
		planVersion = c.Plan.Version
	}
	if c.Result != "" {
		result = &c.Result
	}
	tag, err := r.db.Q(ctx).Exec(ctx, `
		UPDATE cases SET status = $2, director_professional_id = $3, director_since = $4, closed_at = $5,
		       plan_version = $6, result = $7, safety_concern = $8, watch_interval_days = $9, watch_until = $10,
		       next_check_at = $11, last_check_in_at = $12, missed_check_ins = $13, handover_recipient = $14,
		       handover_recipient_oin = $15, handover_municipality = $16
		WHERE id = $1`, c.ID, string(c.Status), professional, since, c.ClosedAt,
		planVersion, result, c.SafetyConcern, watchDays, watchUntil, next, last, missed, hoRecipient, hoOIN, hoGM)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("cases: update of %s changed %d rows", c.ID, tag.RowsAffected())
	}
	return nil
}

// RecordDirector closes the current director's period and opens d's. Both writes are
// deferred (pgxdb.DB.Defer): nothing needs their answer, and they go out with the
// transaction's next statement.
func (r *Cases) RecordDirector(ctx context.Context, caseID string, d domain.Director) error {
	if err := r.db.Defer(ctx, `UPDATE director_history SET valid_to = $2 WHERE case_id = $1 AND valid_to IS NULL`, caseID, d.Since); err != nil {
		return err
	}
	return r.db.Defer(ctx, `INSERT INTO director_history (case_id, professional_id, team_oin, valid_from) VALUES ($1, $2, $3, $4)`,
		caseID, d.ProfessionalID, d.TeamOIN, d.Since)
}

// AddAllocation stores an allocation action once per allocation number.
func (r *Cases) AddAllocation(ctx context.Context, caseID string, a domain.AllocationAction) (bool, error) {
	tag, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO case_allocations (case_id, allocation_number, provider_agb, product_category, product_code, status, updated_at, origin,
		    decision_number, pending_since)
		VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE(NULLIF($8, ''), 'CASE_REQUEST'), $9, $10)
		ON CONFLICT (allocation_number) DO UPDATE SET origin = excluded.origin,
		    decision_number = COALESCE(NULLIF(case_allocations.decision_number, ''), excluded.decision_number), pending_since = NULL
		WHERE excluded.origin = 'CASE_REQUEST' AND case_allocations.origin <> 'CASE_REQUEST'
		  AND case_allocations.case_id = excluded.case_id`,
		caseID, a.Number, a.ProviderAGB, a.ProductCategory, a.ProductCode, a.Status, a.UpdatedAt, a.Origin, a.DecisionNumber, a.PendingSince)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// SetAllocationStatus moves an allocation to status `to` when its current status is one of
// `from`: a late or repeated report must not overwrite a status provider-monitoring reported
// after it. It returns the case of the allocation ("" when the number is unknown), whether
// anything changed and, when it did, the case's current residents.
func (r *Cases) SetAllocationStatus(ctx context.Context, number string, from []string, to string, at time.Time) (domain.AllocationWrite, error) {
	return r.writeAllocation(ctx, number, `
		UPDATE case_allocations SET status = $2, updated_at = $3, pending_since = NULL
		WHERE allocation_number = $1 AND status = ANY($4)
		RETURNING `+allocationWriteReturns, number, to, at, from)
}

// allocationWriteReturns is what a write to a case's allocation returns: its case and the
// case's current residents (in resident-id order, as a case's read gives them), so that the
// change is logged under each without a lookup of its own (issue 12).
const allocationWriteReturns = `case_id::text,
	ARRAY(SELECT cr.pseudonym FROM case_residents cr WHERE cr.case_id = case_allocations.case_id AND cr.until IS NULL ORDER BY cr.resident_id)`

// writeAllocation runs an UPDATE of one allocation returning allocationWriteReturns; when it
// changed nothing, the allocation's case is looked up by itself.
func (r *Cases) writeAllocation(ctx context.Context, number, sql string, args ...any) (domain.AllocationWrite, error) {
	var w domain.AllocationWrite
	err := r.db.Q(ctx).QueryRow(ctx, sql, args...).Scan(&w.CaseID, &w.Residents)
	if err == nil {
		w.Changed = true
		return w, nil
	}
	if !pgxdb.IsNoRows(err) {
		return domain.AllocationWrite{}, err
	}
	w.CaseID, err = r.AllocationCase(ctx, number)
	return w, err
}

// AllocationCase returns the case of an allocation, "" when the number is unknown.
func (r *Cases) AllocationCase(ctx context.Context, number string) (string, error) {
	var caseID string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT case_id::text FROM case_allocations WHERE allocation_number = $1`, number).Scan(&caseID)
	if pgxdb.IsNoRows(err) {
		return "", nil
	}
	return caseID, err
}

// AllocationState returns the case of an allocation ("" when the number is unknown) and
// whether it is still pending (attached, not yet confirmed).
func (r *Cases) AllocationState(ctx context.Context, number string) (string, bool, error) {
	var (
		caseID  string
		pending bool
	)
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT case_id::text, pending_since IS NOT NULL FROM case_allocations WHERE allocation_number = $1`,
		number).Scan(&caseID, &pending)
	if pgxdb.IsNoRows(err) {
		return "", false, nil
	}
	return caseID, pending, err
}

// ConfirmAllocation marks an attached allocation as committed by provider-monitoring.
func (r *Cases) ConfirmAllocation(ctx context.Context, number string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `UPDATE case_allocations SET pending_since = NULL WHERE allocation_number = $1 AND pending_since IS NOT NULL`, number)
	return err
}

// DropPendingAllocation removes an attached allocation provider-monitoring never committed.
func (r *Cases) DropPendingAllocation(ctx context.Context, number string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `DELETE FROM case_allocations WHERE allocation_number = $1 AND pending_since IS NOT NULL`, number)
	return err
}

// LockPendingAllocations locks up to limit allocations pending since before (partial index
// case_allocations_pending, migration 00013), oldest first. SKIP LOCKED leaves one a closing,
// an event or another replica holds to them; a row another replica just settled no longer
// matches pending_since < before once its lock is released.
func (r *Cases) LockPendingAllocations(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT allocation_number FROM case_allocations WHERE pending_since IS NOT NULL AND pending_since < $1
		ORDER BY pending_since LIMIT $2 FOR UPDATE SKIP LOCKED`, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SetAllocationProgress records the provider's latest progress judgement on an allocation.
func (r *Cases) SetAllocationProgress(ctx context.Context, number, judgement string, at time.Time) (domain.AllocationWrite, error) {
	return r.writeAllocation(ctx, number, `
		UPDATE case_allocations SET last_progress = $2, last_progress_at = $3
		WHERE allocation_number = $1 AND (last_progress_at IS NULL OR last_progress_at <= $3)
		RETURNING `+allocationWriteReturns, number, judgement, at)
}

// nonNil keeps an empty list an empty array rather than NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// LockDueWatches locks up to limit cases in WATCH whose next check-in was due at or before
// now. SKIP LOCKED lets another replica take the rest; a case another replica just handled is
// re-checked against its committed next_check_at, so it is not taken twice.
func (r *Cases) LockDueWatches(ctx context.Context, now time.Time, limit int) ([]domain.Case, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT id::text FROM cases WHERE status = 'WATCH' AND next_check_at <= $1
		ORDER BY next_check_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]domain.Case, 0, len(ids))
	for _, id := range ids {
		c, err := r.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// RecordOverdue notes a missed check-in; false when it was noted before.
func (r *Cases) RecordOverdue(ctx context.Context, caseID string, dueAt, at time.Time) (bool, error) {
	tag, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO watch_check_overdue (case_id, due_at, emitted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, caseID, dueAt, at)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// SetResidents makes refs the case's current residents from at on: members no longer in refs
// end, new ones start. It reports whether anything changed.
func (r *Cases) SetResidents(ctx context.Context, caseID string, refs []domain.ResidentRef, at time.Time) (bool, error) {
	ids, pseudonyms := residentArrays(refs)
	q := r.db.Q(ctx)
	ended, err := q.Exec(ctx, `
		UPDATE case_residents SET until = $3
		WHERE case_id = $1 AND until IS NULL AND NOT (resident_id = ANY($2::uuid[]))`, caseID, ids, at)
	if err != nil {
		return false, err
	}
	added, err := q.Exec(ctx, addResidentsSQL, caseID, ids, pseudonyms, at)
	if err != nil {
		return false, err
	}
	return ended.RowsAffected()+added.RowsAffected() > 0, nil
}

// addResidentsSQL adds the residents a case does not have yet ($2 ids, $3 pseudonyms).
const addResidentsSQL = `
	INSERT INTO case_residents (case_id, resident_id, pseudonym, since)
	SELECT $1, u.id, u.pseudonym, $4 FROM unnest($2::uuid[], $3::text[]) AS u(id, pseudonym)
	ON CONFLICT (case_id, resident_id) WHERE until IS NULL DO NOTHING`

func residentArrays(refs []domain.ResidentRef) (ids, pseudonyms []string) {
	ids, pseudonyms = make([]string, 0, len(refs)), make([]string, 0, len(refs))
	for _, ref := range refs {
		ids, pseudonyms = append(ids, ref.ResidentID), append(pseudonyms, ref.Pseudonym)
	}
	return ids, pseudonyms
}

// addResidents records the residents of a case opened in this transaction. A new case has
// none yet, so nothing ends, and the rows go out with the COMMIT (pgxdb.DB.Defer): OpenCase
// reads none of them back (it logs the residents it was given).
func (r *Cases) addResidents(ctx context.Context, caseID string, refs []domain.ResidentRef, at time.Time) error {
	if len(refs) == 0 {
		return nil
	}
	ids, pseudonyms := residentArrays(refs)
	return r.db.Defer(ctx, addResidentsSQL, caseID, ids, pseudonyms, at)
}

// CurrentResidents returns the residents the case concerns now, in the order of their ids:
// the case's row and its residents are read in one pipeline, and a case that does not exist
// is NOT_FOUND. It reads no other part of the case (Get reads them all).
func (r *Cases) CurrentResidents(ctx context.Context, caseID string) ([]domain.ResidentRef, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT true FROM cases WHERE id = $1`, caseID)
	b.Queue(residentsSQL, caseID)
	br := r.db.Q(ctx).SendBatch(ctx, b)
	var exists bool
	err := br.QueryRow().Scan(&exists)
	var out []domain.ResidentRef
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			out, err = pgx.CollectRows(rows, scanResidentRef)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if pgxdb.IsNoRows(err) {
		return nil, apperr.NotFound("case", caseID)
	}
	return out, err
}

// OpenCaseOf returns the household's open case, "" when it has none.
func (r *Cases) OpenCaseOf(ctx context.Context, householdID string) (string, error) {
	var id string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT id::text FROM cases WHERE household_id = $1 AND `+openPredicate, householdID).Scan(&id)
	if pgxdb.IsNoRows(err) {
		return "", nil
	}
	return id, err
}

// RecordIntakeHousehold remembers which household an intake is about. The row goes out with
// the COMMIT (pgxdb.DB.Defer): it is all its event's transaction writes, and it is read only
// by later transactions (CaseOfIntake).
func (r *Cases) RecordIntakeHousehold(ctx context.Context, intakeID, householdID string) error {
	return r.db.Defer(ctx, `INSERT INTO intake_households (intake_id, household_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		intakeID, householdID)
}

// CaseOfIntake returns the case a referral made for an intake belongs to: the case the
// referral is already recorded on, else the case opened from the intake, else the open case of
// the intake's household; "" when there is none. own is false for the last: the household's
// case is another one than the intake's, and may belong to another team.
func (r *Cases) CaseOfIntake(ctx context.Context, intakeID, referralID string) (id string, own bool, err error) {
	var rank int
	err = r.db.Q(ctx).QueryRow(ctx, `
		SELECT id::text, rank FROM (
			SELECT case_id AS id, 0 AS rank FROM case_referrals WHERE referral_id = $2
			UNION ALL
			SELECT id, 1 FROM cases WHERE intake_id = $1
			UNION ALL
			SELECT c.id, 2 FROM intake_households ih JOIN cases c ON c.household_id = ih.household_id AND c.`+openPredicate+`
			WHERE ih.intake_id = $1) x
		ORDER BY rank LIMIT 1`, intakeID, referralID).Scan(&id, &rank)
	if pgxdb.IsNoRows(err) {
		return "", false, nil
	}
	return id, rank < 2, err
}

// SetReferralIntake marks a referral of a case as made for one of the household's intakes.
func (r *Cases) SetReferralIntake(ctx context.Context, referralID, intakeID string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `UPDATE case_referrals SET intake_id = $2 WHERE referral_id = $1`, referralID, intakeID)
	return err
}
