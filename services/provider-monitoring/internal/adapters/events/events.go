// Package events turns provider-monitoring's domain changes into information-poor protobuf
// events in the outbox: numbers, ids, codes and dates, never a name or free text.
package events

import (
	"context"
	"time"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Service is the producing service's subject token.
const Service = "providermonitoring"

// Publisher writes provider-monitoring events to the outbox.
type Publisher struct{ w *outbox.Writer }

// NewPublisher returns a publisher.
func NewPublisher(w *outbox.Writer) *Publisher { return &Publisher{w: w} }

// AllocationIssued announces a new allocation (301).
func (p *Publisher) AllocationIssued(ctx context.Context, a domain.Allocation) error {
	return eventsubject.Add(ctx, p.w, a.Municipality, a.Number, &providermonitoringv1.AllocationIssued{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderOin: a.ProviderOIN, ProviderAgb: a.ProviderAGB,
		ProductCategory: a.Product.Category, ProductCode: a.Product.Code, MunicipalityCode: a.Municipality,
		IssuedAt: timestamppb.New(a.IssuedAt), RequestId: a.RequestID, StartDate: a.Start.Format(domain.DateLayout),
		DecisionNumber: a.DecisionNumber,
	})
}

// AllocationDeliveryStarted announces the provider's start of care (305) and whether it was
// reported on time, which is what the municipality monitors.
func (p *Publisher) AllocationDeliveryStarted(ctx context.Context, a domain.Allocation, d domain.Delivery) error {
	// The first start of care ends the waiting time; outcome reporting counts whether it came
	// by the allocation's start date.
	first := a.FirstStartedOn != nil && a.FirstStartedOn.Equal(d.StartedOn)
	return eventsubject.Add(ctx, p.w, a.Municipality, a.Number, &providermonitoringv1.AllocationDeliveryStarted{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderOin: a.ProviderOIN, ProviderAgb: a.ProviderAGB,
		StartedOn: d.StartedOn.Format(domain.DateLayout), ReportedOnTime: d.OnTime, MunicipalityCode: a.Municipality,
		ReportedAt: timestamppb.New(d.ReportedAt), StartDate: a.Start.Format(domain.DateLayout),
		FirstStart: first, StartedOnTime: first && !d.StartedOn.After(a.Start),
	})
}

// AllocationDeliveryStopped announces the provider's stop of care (307): PAUSED for reason 20,
// ENDED otherwise.
func (p *Publisher) AllocationDeliveryStopped(ctx context.Context, a domain.Allocation, s domain.Stop) error {
	return eventsubject.Add(ctx, p.w, a.Municipality, a.Number, &providermonitoringv1.AllocationDeliveryStopped{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderOin: a.ProviderOIN, ProviderAgb: a.ProviderAGB,
		StoppedOn: s.StoppedOn.Format(domain.DateLayout), ReasonCode: s.Reason, ReportedOnTime: s.OnTime,
		Status:           protoenum.FromCode[commonv1.AllocationStatus](string(a.Status)),
		MunicipalityCode: a.Municipality, ReportedAt: timestamppb.New(s.ReportedAt),
	})
}

// AllocationChanged announces a new version of an allocation.
func (p *Publisher) AllocationChanged(ctx context.Context, a domain.Allocation, v domain.Version) error {
	ev := &providermonitoringv1.AllocationChanged{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderOin: a.ProviderOIN, ProviderAgb: a.ProviderAGB, Version: v.Version,
		ChangeReason: protoenum.FromCode[providermonitoringv1.AllocationChangeReason](string(v.ChangeReason)),
		StartDate:    a.Start.Format(domain.DateLayout), MunicipalityCode: a.Municipality, ChangedAt: timestamppb.New(v.ValidFrom),
	}
	if a.End != nil {
		ev.EndDate = a.End.Format(domain.DateLayout)
	}
	return eventsubject.Add(ctx, p.w, a.Municipality, a.Number, ev)
}

// AllocationWithdrawn announces a withdrawal; the reason is a code, never text.
func (p *Publisher) AllocationWithdrawn(ctx context.Context, a domain.Allocation) error {
	return eventsubject.Add(ctx, p.w, a.Municipality, a.Number, &providermonitoringv1.AllocationWithdrawn{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderOin: a.ProviderOIN, MunicipalityCode: a.Municipality, Reason: protoenum.FromCode[providermonitoringv1.WithdrawalReason](a.WithdrawalReason),
	})
}

// AllocationNotStarted raises the alert that care has not started days after the start date.
func (p *Publisher) AllocationNotStarted(ctx context.Context, a domain.Allocation, days int, at time.Time) error {
	return eventsubject.Add(ctx, p.w, a.Municipality, a.Number, &providermonitoringv1.AllocationNotStarted{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderOin: a.ProviderOIN, ProviderAgb: a.ProviderAGB, StartDate: a.Start.Format(domain.DateLayout),
		DaysAfterStart: int32(days), MunicipalityCode: a.Municipality, AlertedAt: timestamppb.New(at),
	})
}

// AllocationProgressReported announces a progress report, and the scale-down advice with it
// when goals are reached.
func (p *Publisher) AllocationProgressReported(ctx context.Context, a domain.Allocation, r domain.ProgressReport) error {
	err := eventsubject.Add(ctx, p.w, a.Municipality, a.Number, &providermonitoringv1.AllocationProgressReported{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderOin: a.ProviderOIN, GoalIds: r.GoalIDs,
		Judgement:        protoenum.FromCode[providermonitoringv1.ProgressJudgement](string(r.Judgement)),
		MunicipalityCode: a.Municipality, ReportedAt: timestamppb.New(r.ReportedAt),
	})
	if err != nil || !r.ScaleDownAdvised {
		return err
	}
	return eventsubject.Add(ctx, p.w, a.Municipality, a.Number, &providermonitoringv1.AllocationScaleDownAdvised{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderOin: a.ProviderOIN, GoalIds: r.GoalIDs, MunicipalityCode: a.Municipality,
		AdvisedAt: timestamppb.New(r.ReportedAt),
	})
}

// AllocationRequestReceived announces a provider's request.
func (p *Publisher) AllocationRequestReceived(ctx context.Context, q domain.Request) error {
	return eventsubject.Add(ctx, p.w, q.Municipality, q.ID, &providermonitoringv1.AllocationRequestReceived{
		RequestId: q.ID, Kind: protoenum.FromCode[providermonitoringv1.AllocationRequestKind](string(q.Kind)),
		ProviderAgb: q.ProviderAGB, AllocationNumber: q.AllocationNumber,
		ProductCategory: q.Product.Category, ProductCode: q.Product.Code, ReferrerType: q.ReferrerType,
		AnswerDue: q.AnswerDue.Format(domain.DateLayout), MunicipalityCode: q.Municipality, ReceivedAt: timestamppb.New(q.ReceivedAt),
	})
}

// AllocationRequestAnswered announces an answer to a request; a refusal's reason stays out.
func (p *Publisher) AllocationRequestAnswered(ctx context.Context, q domain.Request, at time.Time) error {
	ev := &providermonitoringv1.AllocationRequestAnswered{
		RequestId: q.ID, Status: protoenum.FromCode[providermonitoringv1.AllocationRequestStatus](string(q.Status)),
		AllocationNumber: q.ResultingAllocation, ProviderAgb: q.ProviderAGB, MunicipalityCode: q.Municipality,
		AnsweredAt: timestamppb.New(at),
	}
	switch {
	case q.Status == domain.RequestUnderInvestigation:
		ev.OnTime = q.AnsweredOnTime != nil && *q.AnsweredOnTime
		ev.DecisionDue = q.DecisionDue.Format(domain.DateLayout)
	default:
		ev.OnTime = q.DecidedOnTime != nil && *q.DecidedOnTime
	}
	return eventsubject.Add(ctx, p.w, q.Municipality, q.ID, ev)
}

// AllocationVolumeDelivered announces a delivered-volume report (after 303): period, amount
// and unit, and whether the allocation is now over-delivered.
func (p *Publisher) AllocationVolumeDelivered(ctx context.Context, a domain.Allocation, v domain.DeliveredVolume, overDelivered bool) error {
	return eventsubject.Add(ctx, p.w, a.Municipality, a.Number, &providermonitoringv1.AllocationVolumeDelivered{
		AllocationNumber: a.Number, CaseId: a.CaseID, ProviderOin: a.ProviderOIN, ProviderAgb: a.ProviderAGB, ReportId: v.ID,
		PeriodStart: v.PeriodStart.Format(domain.DateLayout), PeriodEnd: v.PeriodEnd.Format(domain.DateLayout),
		Amount: v.Amount, Unit: protoenum.FromCode[commonv1.VolumeUnit](domain.UnitName(v.Unit)), OverDelivered: overDelivered,
		MunicipalityCode: a.Municipality, ReportedAt: timestamppb.New(v.ReportedAt),
	})
}
