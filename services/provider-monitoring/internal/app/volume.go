package app

import (
	"context"

	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// ReportDeliveredVolume records the volume of care the provider delivered in a period (after
// the iJw/iWmo declaration, 303) and returns it with the allocation's volume use after it. Only
// the allocation's own provider reports (anyone else: NOT_FOUND, logged DENIED); the
// allocation's row lock makes the overlap check safe against a concurrent report.
func (a *App) ReportDeliveredVolume(ctx context.Context, number string, v domain.DeliveredVolume) (domain.DeliveredVolume, domain.VolumeUse, error) {
	now := a.Now().UTC()
	var (
		out domain.DeliveredVolume
		use domain.VolumeUse
	)
	_, err := a.asProvider(ctx, number, "providermonitoring.allocation.report_volume", func(ctx context.Context, al *domain.Allocation) error {
		earlier, err := a.allocations.DeliveredVolumes(ctx, number)
		if err != nil {
			return err
		}
		v.ID, v.ReportedAt = a.NewID(), now
		r, err := al.ReportVolume(v, earlier, a.today())
		if err != nil {
			return err
		}
		if err := a.allocations.InsertDeliveredVolume(ctx, r); err != nil {
			return err
		}
		use = al.VolumeUseOn(a.today(), deliveredIn(al.Volume.Unit, append(earlier, r)))
		out = r
		return a.events.AllocationVolumeDelivered(ctx, *al, r, use.OverDelivered)
	})
	if err != nil {
		return domain.DeliveredVolume{}, domain.VolumeUse{}, err
	}
	return out, use, nil
}

// AllocationVolumeUse compares an allocation's allocated volume for its elapsed part with the
// volume delivered, and lists the reports, to those who may read the allocation.
func (a *App) AllocationVolumeUse(ctx context.Context, number string) (domain.VolumeUse, []domain.DeliveredVolume, error) {
	var (
		use     domain.VolumeUse
		reports []domain.DeliveredVolume
	)
	err := a.readAllocation(ctx, number, "providermonitoring.allocation.read_volume", func(ctx context.Context, al domain.Allocation) error {
		var err error
		if reports, err = a.allocations.DeliveredVolumes(ctx, number); err != nil {
			return err
		}
		use = al.VolumeUseOn(a.today(), deliveredIn(al.Volume.Unit, reports))
		return nil
	})
	return use, reports, err
}

// deliveredIn sums the reported amounts in unit; reports in an earlier unit of the allocation
// do not add up with it.
func deliveredIn(unit string, reports []domain.DeliveredVolume) int64 {
	var sum int64
	for _, r := range reports {
		if r.Unit == unit {
			sum += int64(r.Amount)
		}
	}
	return sum
}
