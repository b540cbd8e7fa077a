package grpcapi

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
)

// GetRecurringThemes counts themes per district over a period, small groups suppressed.
func (s *Server) GetRecurringThemes(ctx context.Context, req *referralv1.GetRecurringThemesRequest) (*referralv1.GetRecurringThemesResponse, error) {
	start, end, err := themesPeriod(req)
	if err != nil {
		return nil, err
	}
	counts, minGroup, err := s.app.RecurringThemes(ctx, req.GetMunicipalityCode(), req.GetDistrictCode(), start, end)
	if err != nil {
		return nil, err
	}
	out := &referralv1.GetRecurringThemesResponse{MinGroupSize: int32(minGroup)}
	for _, c := range counts {
		out.Counts = append(out.Counts, &referralv1.ThemeCount{Kind: protoenum.FromCode[referralv1.ThemeKind](c.Kind),
			DistrictCode: c.District, Key: c.Key, Count: int32(c.Count), Suppressed: c.Suppressed})
	}
	return out, nil
}

// themesPeriod validates a themes request and returns its period: whole Dutch calendar days,
// from the start of from_date to the end of to_date.
func themesPeriod(req *referralv1.GetRecurringThemesRequest) (start, end time.Time, err error) {
	var v apperr.Validation
	// municipality_code, district_code: the proto's rules.
	from := valid.Date(&v, "from_date", req.GetFromDate())
	to := valid.Date(&v, "to_date", req.GetToDate())
	if !from.IsZero() && !to.IsZero() {
		v.Check(!to.Before(from), "to_date", "must not be before from_date")
		v.Check(to.Sub(from).Hours() <= 366*24, "to_date", "a period is at most 366 days")
	}
	if err := v.Err(); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return dayStart(from), dayStart(to.AddDate(0, 0, 1)), nil
}
