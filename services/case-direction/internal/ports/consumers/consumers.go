// Package consumers reacts to other services' events: provider-monitoring reports what
// became of the allocations a case made, referral what became of its referrals, and the case
// keeps its goal actions current.
package consumers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"

	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
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
	// The events applyAllocationEvent applies.
	subjects := eventsubject.Filters(&providermonitoringv1.AllocationIssued{}, &providermonitoringv1.AllocationDeliveryStarted{},
		&providermonitoringv1.AllocationDeliveryStopped{}, &providermonitoringv1.AllocationWithdrawn{},
		&providermonitoringv1.AllocationProgressReported{}, &providermonitoringv1.AllocationScaleDownAdvised{},
		&providermonitoringv1.AllocationChanged{})
	return consumer.Spec{
		Durable:  "casedirection-allocations",
		Stream:   natsx.StreamName("providermonitoring"),
		Subjects: subjects,
		Caller:   caller,
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			number, found, err := applyAllocationEvent(ctx, a, ev, msg)
			if err != nil || found || number == "" {
				return err
			}
			if c, ok := msg.(interface{ GetCaseId() string }); ok && c.GetCaseId() != "" {
				// An allocation of a case that the case does not know yet (issued before this
				// consumer ran, or its issue event was missed): read it from
				// provider-monitoring, record it for its case, and apply the event after all.
				linked, err := a.LinkAllocation(ctx, number)
				if err != nil {
					return err
				}
				if linked {
					_, found, err = applyAllocationEvent(ctx, a, ev, msg)
					if err != nil || found {
						return err
					}
				}
			}
			// Allocations made outside case direction for no case, or for a case whose
			// recording rolled back: retrying cannot make them ours.
			log.InfoContext(ctx, "allocation event without a case action; ignored",
				"type", ev.Type, "allocation_number", number, "event_id", ev.ID)
			return nil
		},
	}
}

// applyAllocationEvent applies one provider-monitoring event to the case of its allocation. It
// returns the allocation number ("" for events it does not follow) and whether the case knew
// the allocation.
func applyAllocationEvent(ctx context.Context, a *app.App, ev cloudevents.Envelope, msg proto.Message) (string, bool, error) {
	switch m := msg.(type) {
	case *providermonitoringv1.AllocationIssued:
		// Issued for a case some other way than RequestAllocation (a provider's granted 315, a
		// decided decision in kind): it is the case's all the same (and, attached before,
		// confirmed).
		if m.GetCaseId() == "" {
			return "", false, nil
		}
		found, err := a.AllocationIssued(ctx, m.GetCaseId(), issuedAction(m, ev))
		return m.GetAllocationNumber(), found, err
	case *providermonitoringv1.AllocationDeliveryStarted:
		found, err := a.AllocationStatusReported(ctx, m.GetAllocationNumber(), domain.AllocationStarted, when(m.GetReportedAt(), ev))
		return m.GetAllocationNumber(), found, err
	case *providermonitoringv1.AllocationDeliveryStopped:
		status := protoenum.Code(m.GetStatus())
		if status != domain.AllocationPaused {
			// Any stop other than a pause (reason 20) ends the allocation.
			status = domain.AllocationEnded
		}
		found, err := a.AllocationStatusReported(ctx, m.GetAllocationNumber(), status, when(m.GetReportedAt(), ev))
		return m.GetAllocationNumber(), found, err
	case *providermonitoringv1.AllocationWithdrawn:
		found, err := a.AllocationStatusReported(ctx, m.GetAllocationNumber(), domain.AllocationWithdrawn, when(nil, ev))
		return m.GetAllocationNumber(), found, err
	case *providermonitoringv1.AllocationProgressReported:
		found, err := a.AllocationProgressReported(ctx, m.GetAllocationNumber(), protoenum.Code(m.GetJudgement()), when(m.GetReportedAt(), ev))
		return m.GetAllocationNumber(), found, err
	case *providermonitoringv1.AllocationScaleDownAdvised:
		found, err := a.ScaleDownAdvised(ctx, m.GetAllocationNumber(), m.GetGoalIds(), when(m.GetAdvisedAt(), ev))
		return m.GetAllocationNumber(), found, err
	case *providermonitoringv1.AllocationChanged:
		// A change (e.g. a granted 317) of an allocation the case may not know yet.
		found, err := a.AllocationKnown(ctx, m.GetAllocationNumber())
		return m.GetAllocationNumber(), found, err
	}
	return "", false, nil
}

// ReferralEvents follows the referral service's referral status changes.
func ReferralEvents(a *app.App, caller identity.Caller, log *slog.Logger) consumer.Spec {
	return consumer.Spec{
		Durable:  "casedirection-referrals",
		Stream:   natsx.StreamName("referral"),
		Subjects: eventsubject.Filters(&referralv1.ReferralStatusChanged{}),
		Caller:   caller,
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			m, ok := msg.(*referralv1.ReferralStatusChanged)
			if !ok {
				return nil
			}
			if m.GetCaseId() == "" {
				// A referral made for an intake, outside case direction: it is the case's when
				// the intake opened the case or is about the household of an open case.
				if uuid.Validate(m.GetIntakeId()) != nil || uuid.Validate(m.GetReferralId()) != nil || protoenum.Code(m.GetStatus()) == "" {
					return nil
				}
				found, err := a.ReferralForIntake(ctx, m.GetIntakeId(), m.GetReferralId(), m.GetReferrerOin(), protoenum.Code(m.GetStatus()), m.GetGoalIds(), when(m.GetAt(), ev))
				if err == nil && !found {
					log.DebugContext(ctx, "referral for an intake without a case of the referrer; not attached", "referral_id", m.GetReferralId(), "event_id", ev.ID)
				}
				return err
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

// issuedAction is an AllocationIssued event as an action of its case.
func issuedAction(m *providermonitoringv1.AllocationIssued, ev cloudevents.Envelope) domain.AllocationAction {
	a := domain.AllocationAction{Number: m.GetAllocationNumber(), ProviderAGB: m.GetProviderAgb(), ProductCategory: m.GetProductCategory(),
		ProductCode: m.GetProductCode(), Status: domain.AllocationIssued, UpdatedAt: when(m.GetIssuedAt(), ev), Origin: domain.OriginOther,
		DecisionNumber: m.GetDecisionNumber()}
	if m.GetRequestId() != "" {
		a.Origin = domain.OriginProviderRequest
	}
	return a
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

// HouseholdEvents follows intake: which household an intake is about, and changes of a
// household's members, which change the residents of its open case.
func HouseholdEvents(a *app.App, caller identity.Caller, log *slog.Logger) consumer.Spec {
	return consumer.Spec{
		Durable:  "casedirection-households",
		Stream:   natsx.StreamName("intake"),
		Subjects: eventsubject.Filters(&intakev1.IntakeReceived{}, &intakev1.HouseholdCreated{}, &intakev1.HouseholdMemberAdded{}, &intakev1.HouseholdMemberRemoved{}),
		Caller:   caller,
		Handle: func(ctx context.Context, ev cloudevents.Envelope, msg proto.Message) error {
			var households []string
			switch m := msg.(type) {
			case *intakev1.IntakeReceived:
				if uuid.Validate(m.GetIntakeId()) != nil || uuid.Validate(m.GetHouseholdId()) != nil {
					return consumer.Permanent(fmt.Errorf("intake.received without valid intake and household ids (event %s)", ev.ID))
				}
				return a.IntakeReceived(ctx, m.GetIntakeId(), m.GetHouseholdId())
			case *intakev1.HouseholdCreated:
				households = []string{m.GetHouseholdId()}
			case *intakev1.HouseholdMemberAdded:
				households = []string{m.GetHouseholdId(), m.GetPreviousHouseholdId()}
			case *intakev1.HouseholdMemberRemoved:
				households = []string{m.GetHouseholdId()}
			default:
				return nil
			}
			for _, h := range households {
				if uuid.Validate(h) != nil {
					continue
				}
				if err := a.HouseholdChanged(ctx, h); err != nil {
					return err
				}
			}
			log.DebugContext(ctx, "household change applied to its open case", "event_id", ev.ID)
			return nil
		},
	}
}
