// Package consumers reacts to other services' events: provider-monitoring reports what
// became of the allocations a case made, referral what became of its referrals, and the case
// keeps its goal actions current.
package consumers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// AllocationEvents follows provider-monitoring's allocation events.
func AllocationEvents(a *app.App, caller identity.Caller, log *slog.Logger) consumer.Spec {
	return consumer.Spec{
		Durable:  "casedirection-allocations",
		Stream:   natsx.StreamName("providermonitoring"),
		Subjects: []string{"wijkbrug.providermonitoring.*.allocation.>"},
		Caller:   caller,
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			var (
				number string
				found  bool
				err    error
			)
			switch m := msg.(type) {
			case *providermonitoringv1.AllocationDeliveryStarted:
				number = m.GetAllocationNumber()
				found, err = a.AllocationStatusReported(ctx, number, domain.AllocationStarted, when(m.GetReportedAt(), ev))
			case *providermonitoringv1.AllocationDeliveryStopped:
				number = m.GetAllocationNumber()
				status := protoenum.Code(m.GetStatus())
				if status != domain.AllocationPaused {
					// Any stop other than a pause (reason 20) ends the allocation.
					status = domain.AllocationEnded
				}
				found, err = a.AllocationStatusReported(ctx, number, status, when(m.GetReportedAt(), ev))
			case *providermonitoringv1.AllocationWithdrawn:
				number = m.GetAllocationNumber()
				found, err = a.AllocationStatusReported(ctx, number, domain.AllocationWithdrawn, when(nil, ev))
			case *providermonitoringv1.AllocationProgressReported:
				number = m.GetAllocationNumber()
				found, err = a.AllocationProgressReported(ctx, number, protoenum.Code(m.GetJudgement()), when(m.GetReportedAt(), ev))
			case *providermonitoringv1.AllocationScaleDownAdvised:
				number = m.GetAllocationNumber()
				found, err = a.ScaleDownAdvised(ctx, number, m.GetGoalIds(), when(m.GetAdvisedAt(), ev))
			default:
				// AllocationIssued: the action was recorded when RequestAllocation got its answer.
				return nil
			}
			if err != nil {
				return err
			}
			if !found {
				// Allocations made outside case direction, or for a case whose recording
				// rolled back: retrying cannot make them ours.
				log.InfoContext(ctx, "allocation event without a case action; ignored",
					"type", ev.Type, "allocation_number", number, "event_id", ev.ID)
			}
			return nil
		},
	}
}

// ReferralEvents follows the referral service's referral status changes.
func ReferralEvents(a *app.App, caller identity.Caller, log *slog.Logger) consumer.Spec {
	return consumer.Spec{
		Durable:  "casedirection-referrals",
		Stream:   natsx.StreamName("referral"),
		Subjects: []string{"wijkbrug.referral.*.referral.>"},
		Caller:   caller,
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			m, ok := msg.(*referralv1.ReferralStatusChanged)
			if !ok || m.GetCaseId() == "" {
				// Referrals of intakes rather than cases are not ours.
				return nil
			}
			if uuid.Validate(m.GetCaseId()) != nil || uuid.Validate(m.GetReferralId()) != nil || protoenum.Code(m.GetStatus()) == "" {
				return consumer.Permanent(fmt.Errorf("referral status change without valid case id, referral id and status (event %s)", ev.ID))
			}
			found, err := a.ReferralStatusReported(ctx, m.GetCaseId(), m.GetReferralId(), protoenum.Code(m.GetStatus()), m.GetGoalIds(), when(m.GetAt(), ev))
			if err == nil && !found {
				log.InfoContext(ctx, "referral of an unknown case; ignored", "referral_id", m.GetReferralId(), "event_id", ev.ID)
			}
			return err
		},
	}
}

// when is the time the event reports, else the time it was published.
func when(ts *timestamppb.Timestamp, ev cloudevents.Envelope) time.Time {
	if ts != nil {
		return ts.AsTime()
	}
	if !ev.Time.IsZero() {
		return ev.Time
	}
	return time.Now()
}
