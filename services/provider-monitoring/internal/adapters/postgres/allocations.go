package postgres

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Allocations is the allocation repository.
type Allocations struct{ db *pgxdb.DB }

// NewAllocations returns the repository.
func NewAllocations(db *pgxdb.DB) *Allocations { return &Allocations{db: db} }

// NextNumber draws the next allocation number: "TW" and ten digits.
func (r *Allocations) NextNumber(ctx context.Context) (string, error) {
	var n string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT 'TW' || lpad(nextval('allocation_number_seq')::text, 10, '0')`).Scan(&n)
	return n, err
}

// Insert stores a new allocation.
func (r *Allocations) Insert(ctx context.Context, a domain.Allocation) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO allocations (number, provider_agb, case_id, municipality_code, district_code, product_category, product_code,
		                         start_date, end_date, volume_amount, volume_unit, volume_frequency, status, issued_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		a.Number, a.ProviderAGB, a.CaseID, a.Municipality, a.District, a.Product.Category, a.Product.Code,
		a.Start, a.End, a.Volume.Amount, a.Volume.Unit, a.Volume.Frequency, string(a.Status), a.IssuedAt)
	return err
}

// Get reads an allocation.
func (r *Allocations) Get(ctx context.Context, number string) (domain.Allocation, error) {
	return r.get(ctx, number, "")
}

// GetForUpdate reads and locks an allocation.
func (r *Allocations) GetForUpdate(ctx context.Context, number string) (domain.Allocation, error) {
	return r.get(ctx, number, " FOR UPDATE")
}

func (r *Allocations) get(ctx context.Context, number, lock string) (domain.Allocation, error) {
	var (
		a      domain.Allocation
		status string
	)
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT number, provider_agb, case_id::text, municipality_code, district_code, product_category, product_code,
		       start_date, end_date, volume_amount, volume_unit, volume_frequency, status, issued_at,
		       started_on, start_reported_at, start_reported_on_time
		FROM allocations WHERE number = $1`+lock, number).Scan(
		&a.Number, &a.ProviderAGB, &a.CaseID, &a.Municipality, &a.District, &a.Product.Category, &a.Product.Code,
		&a.Start, &a.End, &a.Volume.Amount, &a.Volume.Unit, &a.Volume.Frequency, &status, &a.IssuedAt,
		&a.StartedOn, &a.StartReportedAt, &a.StartReportedOnTime)
	if pgxdb.IsNoRows(err) {
		return a, apperr.NotFound("allocation", number)
	}
	a.Status = domain.Status(status)
	return a, err
}

// Update stores the mutable part of an allocation: its status and the latest start of care.
func (r *Allocations) Update(ctx context.Context, a domain.Allocation) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		UPDATE allocations SET status = $2, started_on = $3, start_reported_at = $4, start_reported_on_time = $5
		WHERE number = $1`, a.Number, string(a.Status), a.StartedOn, a.StartReportedAt, a.StartReportedOnTime)
	return err
}

// InsertDelivery stores a period of delivery.
func (r *Allocations) InsertDelivery(ctx context.Context, d domain.Delivery) error {
	var reason *string
	if d.StopReason != "" {
		reason = &d.StopReason
	}
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO deliveries (allocation_number, started_on, stopped_on, stop_reason, reported_at, on_time)
		VALUES ($1, $2, $3, $4, $5, $6)`, d.AllocationNumber, d.StartedOn, d.StoppedOn, reason, d.ReportedAt, d.OnTime)
	return err
}
