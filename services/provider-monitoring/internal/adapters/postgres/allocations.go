package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Allocations is the allocation repository.
type Allocations struct{ db *pgxdb.DB }

// NewAllocations returns the repository.
func NewAllocations(db *pgxdb.DB) *Allocations { return &Allocations{db: db} }

// Insert stores a new allocation under the next allocation number ("TW" and ten digits),
// drawn by the INSERT itself, and returns that number with the pseudonyms of its case's
// residents, in the order the access log's resident lookup (CaseResidents.Lookup) gives them:
// one round trip where drawing the number first and looking the residents up after were three
// (issue 12).
func (r *Allocations) Insert(ctx context.Context, a domain.Allocation) (number string, residents []string, err error) {
	err = r.db.Q(ctx).QueryRow(ctx, `
		INSERT INTO allocations (number, provider_agb, case_id, municipality_code, district_code, product_category, product_code,
		                         start_date, end_date, volume_amount, volume_unit, volume_frequency, status, issued_at,
		                         version, budget_cents, form, contract_id, request_id, decision_number)
		VALUES ('TW' || lpad(nextval('allocation_number_seq')::text, 10, '0'), $1, NULLIF($2, '')::uuid, $3, $4, $5, $6, $7, $8, $9,
		        $10, $11, $12, $13, $14, $15, $16, NULLIF($17, '')::uuid, NULLIF($18, '')::uuid, NULLIF($19, ''))
		RETURNING number,
		          ARRAY(SELECT cr.pseudonym FROM case_residents cr WHERE cr.case_id = allocations.case_id ORDER BY cr.pseudonym)`,
		a.ProviderAGB, a.CaseID, a.Municipality, a.District, a.Product.Category, a.Product.Code,
		a.Start, a.End, a.Volume.Amount, a.Volume.Unit, a.Volume.Frequency, string(a.Status), a.IssuedAt,
		a.Version, a.BudgetCents, string(a.Form), a.ContractID, a.RequestID, a.DecisionNumber).Scan(&number, &residents)
	return number, residents, err
}

// Get reads an allocation.
func (r *Allocations) Get(ctx context.Context, number string) (domain.Allocation, error) {
	return r.get(ctx, number, "")
}

// GetForUpdate reads and locks an allocation.
func (r *Allocations) GetForUpdate(ctx context.Context, number string) (domain.Allocation, error) {
	return r.get(ctx, number, " FOR UPDATE")
}

const allocationColumns = `number, provider_agb, COALESCE((SELECT p.oin FROM providers p WHERE p.agb = allocations.provider_agb), ''),
	COALESCE(case_id::text, ''), municipality_code, district_code, product_category, product_code,
	start_date, end_date, volume_amount, volume_unit, volume_frequency, status, issued_at,
	started_on, start_reported_at, start_reported_on_time, first_started_on,
	stopped_on, COALESCE(stop_reason, ''), stop_reported_at, stop_reported_on_time,
	version, budget_cents, form, COALESCE(contract_id::text, ''), COALESCE(request_id::text, ''),
	COALESCE(withdrawal_reason, ''), not_started_alerted_at, COALESCE(decision_number, '')`

func scanAllocation(row pgx.Row, more ...any) (domain.Allocation, error) {
	var (
		a            domain.Allocation
		status, form string
	)
	err := row.Scan(append([]any{
		&a.Number, &a.ProviderAGB, &a.ProviderOIN, &a.CaseID, &a.Municipality, &a.District, &a.Product.Category, &a.Product.Code,
		&a.Start, &a.End, &a.Volume.Amount, &a.Volume.Unit, &a.Volume.Frequency, &status, &a.IssuedAt,
		&a.StartedOn, &a.StartReportedAt, &a.StartReportedOnTime, &a.FirstStartedOn,
		&a.StoppedOn, &a.StopReason, &a.StopReportedAt, &a.StopReportedOnTime,
		&a.Version, &a.BudgetCents, &form, &a.ContractID, &a.RequestID,
		&a.WithdrawalReason, &a.NotStartedAlertedAt, &a.DecisionNumber}, more...)...)
	a.Status, a.Form = domain.Status(status), domain.Form(form)
	return a, err
}

func (r *Allocations) get(ctx context.Context, number, lock string) (domain.Allocation, error) {
	a, err := scanAllocation(r.db.Q(ctx).QueryRow(ctx, `SELECT `+allocationColumns+` FROM allocations WHERE number = $1`+lock, number))
	if pgxdb.IsNoRows(err) {
		return a, apperr.NotFound("allocation", number)
	}
	return a, err
}

// GetForUpdateWithResidents reads and locks an allocation (with the OIN its provider is
// registered under, as every read of one) and returns, in the same statement, its case's
// residents in the order the access log's resident lookup (CaseResidents.Lookup) gives them:
// a provider's report checks the OIN and logs under the residents, and each was a round trip
// of its own.
func (r *Allocations) GetForUpdateWithResidents(ctx context.Context, number string) (domain.Allocation, []string, error) {
	var residents []string
	a, err := scanAllocation(r.db.Q(ctx).QueryRow(ctx, `SELECT `+allocationColumns+`,
		       ARRAY(SELECT cr.pseudonym FROM case_residents cr WHERE cr.case_id = allocations.case_id ORDER BY cr.pseudonym)
		FROM allocations WHERE number = $1 FOR UPDATE`, number), &residents)
	if pgxdb.IsNoRows(err) {
		return a, nil, apperr.NotFound("allocation", number)
	}
	return a, residents, err
}

// ByCase lists a case's allocations, oldest first.
func (r *Allocations) ByCase(ctx context.Context, caseID string) ([]domain.Allocation, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+allocationColumns+` FROM allocations WHERE case_id = $1 ORDER BY issued_at, number`, caseID)
	return collectAllocations(rows, err)
}

// OfProvider returns up to limit allocations of the providers registered under providerOIN,
// newest issued first, after the position after (issued_at, number); the index
// allocations_provider_issued serves it.
func (r *Allocations) OfProvider(ctx context.Context, providerOIN string, statuses []string, after *paging.At, limit int) ([]domain.Allocation, error) {
	var (
		at     *time.Time
		number string
	)
	if after != nil {
		at, number = &after.Time, after.ID
	}
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+allocationColumns+` FROM allocations
		WHERE provider_agb IN (SELECT agb FROM providers WHERE oin = $1)
		  AND (cardinality($2::text[]) = 0 OR status = ANY ($2::text[]))
		  AND ($3::timestamptz IS NULL OR (issued_at, number) < ($3, $4::text))
		ORDER BY issued_at DESC, number DESC LIMIT $5`, providerOIN, nonNil(statuses), at, number, limit)
	return collectAllocations(rows, err)
}

// collectAllocations reads rows of allocationColumns.
func collectAllocations(rows pgx.Rows, err error) ([]domain.Allocation, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Allocation
	for rows.Next() {
		a, err := scanAllocation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Update stores the mutable part of an allocation: status, dates, volume, budget, version,
// the latest start and stop of care and a withdrawal.
func (r *Allocations) Update(ctx context.Context, a domain.Allocation) error {
	var withdrawal *string
	if a.WithdrawalReason != "" {
		withdrawal = &a.WithdrawalReason
	}
	var stopReason *string
	if a.StopReason != "" {
		stopReason = &a.StopReason
	}
	_, err := r.db.Q(ctx).Exec(ctx, `
		UPDATE allocations SET status = $2, started_on = $3, start_reported_at = $4, start_reported_on_time = $5,
			first_started_on = $6, stopped_on = $7, stop_reason = $8, stop_reported_at = $9, stop_reported_on_time = $10,
			start_date = $11, end_date = $12, volume_amount = $13, volume_unit = $14, volume_frequency = $15,
			budget_cents = $16, version = $17, withdrawal_reason = $18
		WHERE number = $1`, a.Number, string(a.Status), a.StartedOn, a.StartReportedAt, a.StartReportedOnTime,
		a.FirstStartedOn, a.StoppedOn, stopReason, a.StopReportedAt, a.StopReportedOnTime,
		a.Start, a.End, a.Volume.Amount, a.Volume.Unit, a.Volume.Frequency,
		a.BudgetCents, a.Version, withdrawal)
	return err
}

// InsertVersion stores a version of an allocation. Nothing reads the versions back in the
// transaction that adds one, so it goes with the COMMIT (pgxdb.DB.Defer; issue 12).
func (r *Allocations) InsertVersion(ctx context.Context, v domain.Version) error {
	return r.db.Defer(ctx, `
		INSERT INTO allocation_versions (allocation_number, version, change_reason, valid_from, start_date, end_date,
		                                 volume_amount, volume_unit, volume_frequency, budget_cents, changed_by_oin)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		v.AllocationNumber, v.Version, string(v.ChangeReason), v.ValidFrom, v.Start, v.End,
		v.Volume.Amount, v.Volume.Unit, v.Volume.Frequency, v.BudgetCents, v.ChangedByOIN)
}

// Versions lists an allocation's versions, oldest first.
func (r *Allocations) Versions(ctx context.Context, number string) ([]domain.Version, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT allocation_number, version, change_reason, valid_from, start_date, end_date,
		       volume_amount, volume_unit, volume_frequency, budget_cents, changed_by_oin
		FROM allocation_versions WHERE allocation_number = $1 ORDER BY version`, number)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Version
	for rows.Next() {
		var (
			v      domain.Version
			reason string
		)
		if err := rows.Scan(&v.AllocationNumber, &v.Version, &reason, &v.ValidFrom, &v.Start, &v.End,
			&v.Volume.Amount, &v.Volume.Unit, &v.Volume.Frequency, &v.BudgetCents, &v.ChangedByOIN); err != nil {
			return nil, err
		}
		v.ChangeReason = domain.ChangeReason(reason)
		out = append(out, v)
	}
	return out, rows.Err()
}

// InsertDelivery stores a period of delivery and the start report that opened it.
func (r *Allocations) InsertDelivery(ctx context.Context, d domain.Delivery) error {
	var reason *string
	if d.StopReason != "" {
		reason = &d.StopReason
	}
	err := r.db.Defer(ctx, `
		INSERT INTO deliveries (allocation_number, started_on, stopped_on, stop_reason, reported_at, on_time)
		VALUES ($1, $2, $3, $4, $5, $6)`, d.AllocationNumber, d.StartedOn, d.StoppedOn, reason, d.ReportedAt, d.OnTime)
	if err != nil {
		return err
	}
	return r.insertReport(ctx, d.AllocationNumber, "START", d.StartedOn, nil, d.ReportedAt, d.OnTime)
}

// RecordStop stores a stop report and closes the open period of delivery when it ends one.
func (r *Allocations) RecordStop(ctx context.Context, s domain.Stop) error {
	if s.ClosesPeriod {
		err := r.db.Defer(ctx, `
			UPDATE deliveries SET stopped_on = $2, stop_reason = $3, stop_reported_at = $4, stop_on_time = $5
			WHERE id = (SELECT id FROM deliveries WHERE allocation_number = $1 AND stopped_on IS NULL ORDER BY started_on DESC, id DESC LIMIT 1)`,
			s.AllocationNumber, s.StoppedOn, s.Reason, s.ReportedAt, s.OnTime)
		if err != nil {
			return err
		}
	}
	return r.insertReport(ctx, s.AllocationNumber, "STOP", s.StoppedOn, &s.Reason, s.ReportedAt, s.OnTime)
}

// insertReport stores a start or stop report with its allocation's provider, municipality and
// contract.
//
// The periods of delivery and the reports are facts nothing reads back in the transaction
// that records them: they go with its COMMIT (pgxdb.DB.Defer), in the order written, and a
// failing one still fails the transaction (issue 12).
func (r *Allocations) insertReport(ctx context.Context, number, kind string, day time.Time, reason *string, at time.Time, onTime bool) error {
	return r.db.Defer(ctx, `
		INSERT INTO delivery_reports (allocation_number, kind, day, reason, reported_at, on_time, provider_agb, municipality_code, contract_id)
		SELECT number, $2, $3, $4, $5, $6, provider_agb, municipality_code, contract_id FROM allocations WHERE number = $1`,
		number, kind, day, reason, at, onTime)
}

// InsertProgress stores a progress report.
func (r *Allocations) InsertProgress(ctx context.Context, p domain.ProgressReport) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO progress_reports (id, allocation_number, goal_ids, judgement, reported_at, scale_down_advised)
		VALUES ($1, $2, $3, $4, $5, $6)`, p.ID, p.AllocationNumber, p.GoalIDs, string(p.Judgement), p.ReportedAt, p.ScaleDownAdvised)
	return err
}

// ClaimNotStarted locks up to limit issued allocations with a start date on or before cutoff
// that were not alerted yet, skipping rows another replica holds, and marks them alerted at
// the moment at. It must run in the transaction that also writes their events, so that a
// claim and its events commit (or roll back) together.
func (r *Allocations) ClaimNotStarted(ctx context.Context, cutoff, at time.Time, limit int) ([]domain.Allocation, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		WITH due AS (
			SELECT number AS due_number FROM allocations
			WHERE status = 'ISSUED' AND not_started_alerted_at IS NULL AND start_date <= $1
			ORDER BY start_date, number
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		)
		UPDATE allocations SET not_started_alerted_at = $2 FROM due WHERE number = due.due_number
		RETURNING `+allocationColumns, cutoff, at, limit)
	return collectAllocations(rows, err)
}
