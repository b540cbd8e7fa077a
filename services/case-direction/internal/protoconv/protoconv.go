// Package protoconv maps case-direction domain values to their protobuf form, for the gRPC port and the
// event adapter alike (a port may not import an adapter, so neither owns them).
package protoconv

import (
	"time"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
)

// InvolvementRole maps an involvement role.
func InvolvementRole(r domain.InvolvementRole) casedirectionv1.InvolvementRole {
	return protoenum.FromCode[casedirectionv1.InvolvementRole](string(r))
}

// Date formats an optional date as YYYY-MM-DD, "" when absent.
func Date(d *time.Time) string {
	if d == nil {
		return ""
	}
	return d.Format(time.DateOnly)
}

// Outcomes maps closing outcomes to their protobuf form.
func Outcomes(os []domain.DomainOutcome) []*casedirectionv1.DomainOutcome {
	var out []*casedirectionv1.DomainOutcome
	for _, o := range os {
		out = append(out, &casedirectionv1.DomainOutcome{
			LifeDomain: protoenum.FromCode[commonv1.LifeDomain](o.LifeDomain), BaselineScore: int32(o.Baseline),
			TargetScore: int32(o.Target), ClosingScore: int32(o.Closing),
			Outcome: protoenum.FromCode[casedirectionv1.DomainOutcomeKind](o.Outcome),
		})
	}
	return out
}

// GoalStatus maps a goal status.
func GoalStatus(s domain.GoalStatus) casedirectionv1.GoalStatus {
	return protoenum.FromCode[casedirectionv1.GoalStatus](string(s))
}
