package postgres

import (
	"context"

	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// InsertDeliveredVolume stores a delivered-volume report.
func (r *Allocations) InsertDeliveredVolume(ctx context.Context, v domain.DeliveredVolume) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO delivered_volumes (id, allocation_number, period_start, period_end, amount, unit, reported_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		v.ID, v.AllocationNumber, v.PeriodStart, v.PeriodEnd, v.Amount, v.Unit, v.ReportedAt)
	return err
}

// DeliveredVolumes lists an allocation's delivered-volume reports, oldest period first.
func (r *Allocations) DeliveredVolumes(ctx context.Context, number string) ([]domain.DeliveredVolume, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT id::text, allocation_number, period_start, period_end, amount, unit, reported_at
		FROM delivered_volumes WHERE allocation_number = $1 ORDER BY period_start, id`, number)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.DeliveredVolume
	for rows.Next() {
		var v domain.DeliveredVolume
		if err := rows.Scan(&v.ID, &v.AllocationNumber, &v.PeriodStart, &v.PeriodEnd, &v.Amount, &v.Unit, &v.ReportedAt); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
