package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Monitoring answers the monitoring views from indexed queries: allocations by (provider,
// municipality, status) or (contract, status), reports by allocation, requests by (provider,
// municipality).
type Monitoring struct{ db *pgxdb.DB }

// NewMonitoring returns the repository.
func NewMonitoring(db *pgxdb.DB) *Monitoring { return &Monitoring{db: db} }

const (
	// @day is the not-started cutoff date for allocation figures and today for request figures.
	allocationFigures = `count(*) FILTER (WHERE a.status = 'ISSUED'), count(*) FILTER (WHERE a.status = 'STARTED'),
		count(*) FILTER (WHERE a.status = 'PAUSED'), count(*) FILTER (WHERE a.status = 'ENDED'),
		count(*) FILTER (WHERE a.status = 'WITHDRAWN'),
		count(*) FILTER (WHERE a.status = 'ISSUED' AND a.start_date <= @day::date),
		COALESCE(avg(GREATEST(0, a.first_started_on - (a.issued_at AT TIME ZONE 'Europe/Amsterdam')::date)) FILTER (WHERE a.first_started_on IS NOT NULL), 0)::float8,
		COALESCE(max(GREATEST(0, a.first_started_on - (a.issued_at AT TIME ZONE 'Europe/Amsterdam')::date)), 0)::int,
		count(*) FILTER (WHERE a.status IN ('ISSUED', 'STARTED', 'PAUSED'))`
	reportFigures = `count(*) FILTER (WHERE r.kind = 'START'), count(*) FILTER (WHERE r.kind = 'START' AND r.on_time),
		count(*) FILTER (WHERE r.kind = 'STOP'), count(*) FILTER (WHERE r.kind = 'STOP' AND r.on_time)`
	requestFigures = `count(*), count(*) FILTER (WHERE q.answered_on_time = false),
		count(*) FILTER (WHERE (q.status = 'RECEIVED' AND q.answer_due < @day::date) OR (q.status = 'UNDER_INVESTIGATION' AND q.decision_due < @day::date))`
)

// The queries, exported for the EXPLAIN test: a provider's figures take ($1 provider AGB,
// $2 municipality, $3 day), a contract's ($1 contract id, $2 day).
var (
	ProviderAllocations = day(`SELECT `+allocationFigures+` FROM allocations a WHERE a.provider_agb = $1 AND a.municipality_code = $2`, "$3")
	ContractAllocations = day(`SELECT `+allocationFigures+` FROM allocations a WHERE a.contract_id = $1::uuid`, "$2")
	ProviderReports     = `SELECT ` + reportFigures + ` FROM delivery_reports r WHERE r.provider_agb = $1 AND r.municipality_code = $2`
	ContractReports     = `SELECT ` + reportFigures + ` FROM delivery_reports r WHERE r.contract_id = $1::uuid`
	ProviderRequests    = day(`SELECT `+requestFigures+` FROM allocation_requests q WHERE q.provider_agb = $1 AND q.municipality_code = $2`, "$3")
	ContractRequests    = day(`SELECT `+requestFigures+` FROM contracts c
		JOIN allocation_requests q ON q.provider_agb = c.provider_agb AND q.municipality_code = c.municipality_code
		WHERE c.id = $1::uuid AND EXISTS (SELECT 1 FROM contract_products p WHERE p.contract_id = c.id
			AND p.product_category = q.product_category AND p.product_code = q.product_code)`, "$2")
)

// volumeUse selects, per allocation that is not withdrawn, what domain.VolumeUseOn needs and
// the delivered volume in the allocation's current unit (an index-only scan of
// delivered_volumes_allocation per allocation).
const volumeUse = `SELECT a.number, a.status, a.start_date, a.end_date, a.stopped_on, a.volume_amount, a.volume_unit, a.volume_frequency,
		COALESCE((SELECT sum(v.amount) FROM delivered_volumes v WHERE v.allocation_number = a.number AND v.unit = a.volume_unit), 0)::bigint
	FROM allocations a WHERE `

// The volume queries, exported for the EXPLAIN test: a provider's take ($1 provider AGB,
// $2 municipality), a contract's ($1 contract id).
var (
	ProviderVolume = volumeUse + `a.provider_agb = $1 AND a.municipality_code = $2 AND a.status <> 'WITHDRAWN'`
	ContractVolume = volumeUse + `a.contract_id = $1::uuid AND a.status <> 'WITHDRAWN'`
)

func day(q, param string) string { return strings.ReplaceAll(q, "@day", param) }

// Figures computes the monitoring figures of a scope on the day today, with the not-started
// cutoff date (domain.NotStartedCutoff).
func (r *Monitoring) Figures(ctx context.Context, s domain.Scope, today, notStartedCutoff time.Time) (domain.Figures, error) {
	var f domain.Figures
	allocQ, repQ, reqQ, args := ProviderAllocations, ProviderReports, ProviderRequests, []any{s.ProviderAGB, s.Municipality}
	if s.ContractID != "" {
		allocQ, repQ, reqQ, args = ContractAllocations, ContractReports, ContractRequests, []any{s.ContractID}
	}
	q := r.db.Q(ctx)
	if err := q.QueryRow(ctx, allocQ, append(args[:len(args):len(args)], notStartedCutoff)...).Scan(
		&f.Issued, &f.Started, &f.Paused, &f.Ended, &f.Withdrawn,
		&f.NotStarted, &f.AverageWaitingDays, &f.MaxWaitingDays, &f.ActiveAllocations); err != nil {
		return f, err
	}
	if err := q.QueryRow(ctx, repQ, args...).Scan(&f.StartReports.Reported, &f.StartReports.OnTime,
		&f.StopReports.Reported, &f.StopReports.OnTime); err != nil {
		return f, err
	}
	if err := q.QueryRow(ctx, reqQ, append(args[:len(args):len(args)], today)...).Scan(
		&f.RequestsReceived, &f.RequestsAnsweredLate, &f.RequestsOverdue); err != nil {
		return f, err
	}
	volQ := ProviderVolume
	if s.ContractID != "" {
		volQ = ContractVolume
	}
	rows, err := q.Query(ctx, volQ, args...)
	if err != nil {
		return f, err
	}
	defer rows.Close()
	var uses []domain.VolumeUse
	for rows.Next() {
		var (
			a         domain.Allocation
			status    string
			delivered int64
		)
		if err := rows.Scan(&a.Number, &status, &a.Start, &a.End, &a.StoppedOn, &a.Volume.Amount, &a.Volume.Unit, &a.Volume.Frequency, &delivered); err != nil {
			return f, err
		}
		a.Status = domain.Status(status)
		uses = append(uses, a.VolumeUseOn(today, delivered))
	}
	if err := rows.Err(); err != nil {
		return f, err
	}
	f.Volume = domain.SumVolumeUse(uses)
	return f, nil
}
