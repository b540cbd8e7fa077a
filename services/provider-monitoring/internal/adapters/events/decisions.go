package events

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	providermonitoringv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Decision events carry ids, codes, statuses, the municipality and dates: never the
// applicant's name, the motivation or the rejection grounds. The aggregate is the decision id.

func basis(b domain.LegalBasis) providermonitoringv1.LegalBasis {
	return protoenum.FromCode[providermonitoringv1.LegalBasis](string(b))
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(domain.DateLayout)
}

// DecisionDrafted announces a draft (or an amendment's draft).
func (p *Publisher) DecisionDrafted(ctx context.Context, d domain.Decision) error {
	return eventsubject.Add(ctx, p.w, d.Municipality, d.ID, &providermonitoringv1.DecisionDrafted{
		DecisionId: d.ID, MunicipalityCode: d.Municipality, IntakeId: d.IntakeID, CaseId: d.CaseID,
		LegalBasis: basis(d.LegalBasis), Granted: d.Granted, ProductCategory: d.Product.Category, ProductCode: d.Product.Code,
		ApplicationDate: day(d.ApplicationDate), DueDate: day(d.DueDate), ReplacesDecisionId: d.Replaces,
		DraftedAt: timestamppb.New(d.CreatedAt),
	})
}

// DecisionProposed announces a proposal.
func (p *Publisher) DecisionProposed(ctx context.Context, d domain.Decision) error {
	return eventsubject.Add(ctx, p.w, d.Municipality, d.ID, &providermonitoringv1.DecisionProposed{
		DecisionId: d.ID, MunicipalityCode: d.Municipality, DueDate: day(d.DueDate), ProposedAt: timestamppb.New(d.UpdatedAt),
	})
}

// DecisionDecided announces a decision signed under mandate, with whether it came within the
// statutory term (the outcome read model counts it).
func (p *Publisher) DecisionDecided(ctx context.Context, d domain.Decision) error {
	ev := &providermonitoringv1.DecisionDecided{
		DecisionId: d.ID, DecisionNumber: d.Number, MunicipalityCode: d.Municipality, DistrictCode: d.District, CaseId: d.CaseID, IntakeId: d.IntakeID,
		LegalBasis: basis(d.LegalBasis), Granted: d.Granted, ProductCategory: d.Product.Category, ProductCode: d.Product.Code,
		Form:                protoenum.FromCode[providermonitoringv1.AllocationForm](string(d.Form)),
		WithinStatutoryTerm: d.WithinStatutoryTerm, ApplicationDate: day(d.ApplicationDate), DueDate: day(d.DueDate),
		Mandate: d.Mandate, FourEyes: d.SecondOfficial != "", AllocationNumbers: d.AllocationNumbers,
		ReplacesDecisionId: d.Replaces,
	}
	if d.DecidedAt != nil {
		ev.DecidedAt, ev.DecidedDate = timestamppb.New(*d.DecidedAt), day(domain.DayIn(*d.DecidedAt, domain.Amsterdam))
	}
	return eventsubject.Add(ctx, p.w, d.Municipality, d.ID, ev)
}

// DecisionSent announces that the decision was sent, with the objection deadline.
func (p *Publisher) DecisionSent(ctx context.Context, d domain.Decision) error {
	ev := &providermonitoringv1.DecisionSent{DecisionId: d.ID, DecisionNumber: d.Number, MunicipalityCode: d.Municipality}
	if d.ObjectionDeadline != nil {
		ev.ObjectionDeadline = day(*d.ObjectionDeadline)
	}
	if d.SentAt != nil {
		ev.SentAt = timestamppb.New(*d.SentAt)
	}
	return eventsubject.Add(ctx, p.w, d.Municipality, d.ID, ev)
}

// DecisionAmended announces that old was replaced by the decided amendment by.
func (p *Publisher) DecisionAmended(ctx context.Context, old, by domain.Decision) error {
	return eventsubject.Add(ctx, p.w, old.Municipality, old.ID, &providermonitoringv1.DecisionAmended{
		DecisionId: old.ID, DecisionNumber: old.Number, MunicipalityCode: old.Municipality,
		ReplacedByDecisionId: by.ID, ReplacedByDecisionNumber: by.Number, AmendedAt: timestamppb.New(old.UpdatedAt),
	})
}

// DecisionWithdrawn announces a withdrawal; the reason is a code.
func (p *Publisher) DecisionWithdrawn(ctx context.Context, d domain.Decision) error {
	ev := &providermonitoringv1.DecisionWithdrawn{DecisionId: d.ID, DecisionNumber: d.Number, MunicipalityCode: d.Municipality,
		Reason: protoenum.FromCode[providermonitoringv1.DecisionWithdrawalReason](d.WithdrawalReason)}
	if d.WithdrawnAt != nil {
		ev.WithdrawnAt = timestamppb.New(*d.WithdrawnAt)
	}
	return eventsubject.Add(ctx, p.w, d.Municipality, d.ID, ev)
}

// DecisionObjectionRegistered announces an objection and whether it was on time.
func (p *Publisher) DecisionObjectionRegistered(ctx context.Context, d domain.Decision) error {
	ev := &providermonitoringv1.DecisionObjectionRegistered{DecisionId: d.ID, DecisionNumber: d.Number, MunicipalityCode: d.Municipality}
	if d.Objection != nil {
		ev.ReceivedOn, ev.OnTime = day(d.Objection.ReceivedOn), d.Objection.OnTime
		if d.Objection.PostedOn != nil {
			ev.PostedOn = day(*d.Objection.PostedOn)
		}
	}
	if d.ObjectionDeadline != nil {
		ev.ObjectionDeadline = day(*d.ObjectionDeadline)
	}
	return eventsubject.Add(ctx, p.w, d.Municipality, d.ID, ev)
}

// DecisionOverdue raises the alert that a decision was not decided by its due date.
func (p *Publisher) DecisionOverdue(ctx context.Context, d domain.Decision, at time.Time) error {
	return eventsubject.Add(ctx, p.w, d.Municipality, d.ID, &providermonitoringv1.DecisionOverdue{
		DecisionId: d.ID, MunicipalityCode: d.Municipality, LegalBasis: basis(d.LegalBasis),
		Status:          protoenum.FromCode[providermonitoringv1.DecisionStatus](string(d.Status)),
		ApplicationDate: day(d.ApplicationDate), DueDate: day(d.DueDate), DetectedAt: timestamppb.New(at),
		DistrictCode: d.District, CaseId: d.CaseID, IntakeId: d.IntakeID,
	})
}
