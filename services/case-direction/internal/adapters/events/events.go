// Package events turns case-direction's domain changes into information-poor protobuf events
// in the outbox: ids, codes and statuses, never a BSN, a name or free text.
package events

import (
	"context"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/protoconv"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Service is the producing service's subject token.
const Service = "casedirection"

// Publisher writes case-direction events to the outbox.
type Publisher struct{ w *outbox.Writer }

// NewPublisher returns a publisher.
func NewPublisher(w *outbox.Writer) *Publisher { return &Publisher{w: w} }

// CaseOpened announces a new case.
func (p *Publisher) CaseOpened(ctx context.Context, c domain.Case) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseOpened{
		CaseId: c.ID, HouseholdId: c.HouseholdID, IntakeId: c.IntakeID, MunicipalityCode: c.Municipality,
		DistrictCode: c.District, TeamOin: c.TeamOIN, Status: status(c.Status), OpenedAt: timestamppb.New(c.OpenedAt),
	})
}

// CaseDirectorAssigned announces a (new) director.
func (p *Publisher) CaseDirectorAssigned(ctx context.Context, c domain.Case) error {
	ev := &casedirectionv1.CaseDirectorAssigned{CaseId: c.ID, Status: status(c.Status), MunicipalityCode: c.Municipality}
	if c.Director != nil {
		ev.ProfessionalId, ev.TeamOin = c.Director.ProfessionalID, c.Director.TeamOIN
	}
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, ev)
}

// CaseAllocationRequested announces an allocation made for the case.
func (p *Publisher) CaseAllocationRequested(ctx context.Context, c domain.Case, a domain.AllocationAction) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseAllocationRequested{
		CaseId: c.ID, AllocationNumber: a.Number, ProviderAgb: a.ProviderAGB, MunicipalityCode: c.Municipality,
	})
}

// CaseStatusChanged announces a transition (every one).
func (p *Publisher) CaseStatusChanged(ctx context.Context, c domain.Case, from domain.Status, at time.Time) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseStatusChanged{
		CaseId: c.ID, IntakeId: c.IntakeID, From: status(from), To: status(c.Status), MunicipalityCode: c.Municipality,
		At: timestamppb.New(at), Confidentiality: confidentiality(c),
	})
}

// CaseClosed announces a closed or handed-over case with its result and outcomes.
func (p *Publisher) CaseClosed(ctx context.Context, c domain.Case, at time.Time) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseClosed{
		CaseId: c.ID, IntakeId: c.IntakeID, Status: status(c.Status), Result: protoenum.FromCode[commonv1.CaseResult](c.Result), MunicipalityCode: c.Municipality,
		At: timestamppb.New(at), DomainOutcomes: protoconv.Outcomes(c.Details.Outcomes),
	})
}

// CasePlanAdopted announces a plan version.
func (p *Publisher) CasePlanAdopted(ctx context.Context, c domain.Case) error {
	ev := &casedirectionv1.CasePlanAdopted{CaseId: c.ID, MunicipalityCode: c.Municipality}
	if pl := c.Plan; pl != nil {
		ev.Version, ev.ResidentAgreed, ev.EvaluationDate, ev.At = int32(pl.Version), pl.ResidentAgreed, pl.EvaluationDate, timestamppb.New(pl.AdoptedAt)
		for _, g := range pl.Goals {
			ev.GoalIds = append(ev.GoalIds, g.ID)
			ev.LifeDomains = append(ev.LifeDomains, protoenum.FromCode[commonv1.LifeDomain](g.LifeDomain))
		}
	}
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, ev)
}

// CaseGoalStatusChanged announces a goal's new status.
func (p *Publisher) CaseGoalStatusChanged(ctx context.Context, c domain.Case, g domain.Goal, from domain.GoalStatus, at time.Time) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseGoalStatusChanged{
		CaseId: c.ID, GoalId: g.ID, LifeDomain: protoenum.FromCode[commonv1.LifeDomain](g.LifeDomain),
		From: protoconv.GoalStatus(from), To: protoconv.GoalStatus(g.Status), MunicipalityCode: c.Municipality, At: timestamppb.New(at),
	})
}

// CaseGoalActionAdded announces a referral or allocation linked to a goal.
func (p *Publisher) CaseGoalActionAdded(ctx context.Context, c domain.Case, goalID string, a domain.GoalAction) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseGoalActionAdded{
		CaseId: c.ID, GoalId: goalID, ReferralId: a.ReferralID, AllocationNumber: a.AllocationNumber, MunicipalityCode: c.Municipality,
	})
}

// CaseEvaluated announces an evaluation.
func (p *Publisher) CaseEvaluated(ctx context.Context, c domain.Case, e domain.Evaluation) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseEvaluated{
		CaseId: c.ID, EvaluationId: e.ID, AssessmentId: e.AssessmentID,
		Decision: protoenum.FromCode[casedirectionv1.EvaluationDecision](e.Decision), MunicipalityCode: c.Municipality, At: timestamppb.New(e.At),
	})
}

// CaseEvaluationDue announces an evaluation to-do.
func (p *Publisher) CaseEvaluationDue(ctx context.Context, c domain.Case, t domain.EvaluationTodo) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseEvaluationDue{
		CaseId: c.ID, TodoId: t.ID, Reason: protoenum.FromCode[casedirectionv1.EvaluationTodoReason](t.Reason), AllocationNumber: t.AllocationNumber, MunicipalityCode: c.Municipality,
	})
}

// CaseConferenceHeld announces a case conference (no attendees, no decisions).
func (p *Publisher) CaseConferenceHeld(ctx context.Context, c domain.Case, conf domain.Conference) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseConferenceHeld{
		CaseId: c.ID, ConferenceId: conf.ID, HeldOn: conf.HeldOn, AttendeeCount: int32(len(conf.Attendees)), MunicipalityCode: c.Municipality,
	})
}

// CaseWatchCheckedIn announces a pilot-light check-in.
func (p *Publisher) CaseWatchCheckedIn(ctx context.Context, c domain.Case, reopened bool, at time.Time) error {
	ev := &casedirectionv1.CaseWatchCheckedIn{CaseId: c.ID, Reopened: reopened, MunicipalityCode: c.Municipality, At: timestamppb.New(at)}
	if c.Watch != nil && c.Watch.NextCheckAt != nil {
		ev.NextCheckAt = timestamppb.New(*c.Watch.NextCheckAt)
	}
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, ev)
}

// CaseWatchCheckOverdue announces a missed pilot-light check-in.
func (p *Publisher) CaseWatchCheckOverdue(ctx context.Context, c domain.Case, dueAt time.Time) error {
	ev := &casedirectionv1.CaseWatchCheckOverdue{CaseId: c.ID, TeamOin: c.TeamOIN, DueAt: timestamppb.New(dueAt), MunicipalityCode: c.Municipality}
	if c.Director != nil {
		ev.DirectorProfessionalId = c.Director.ProfessionalID
	}
	if c.Watch != nil {
		ev.MissedCheckIns = int32(c.Watch.Missed)
	}
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, ev)
}

// CaseSafetyConcernRecorded announces a safety concern (kind and step only).
func (p *Publisher) CaseSafetyConcernRecorded(ctx context.Context, c domain.Case, s domain.SafetyConcern) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseSafetyConcernRecorded{
		CaseId: c.ID, Kind: protoenum.FromCode[casedirectionv1.SafetyConcernKind](s.Kind),
		MeldcodeStep: casedirectionv1.MeldcodeStep(s.MeldcodeStep), MunicipalityCode: c.Municipality,
		Confidentiality: commonv1.Confidentiality_CONFIDENTIALITY_SAFETY, At: timestamppb.New(s.UpdatedAt),
	})
}

// CaseHandedOver announces a handover.
func (p *Publisher) CaseHandedOver(ctx context.Context, c domain.Case) error {
	ev := &casedirectionv1.CaseHandedOver{CaseId: c.ID, MunicipalityCode: c.Municipality}
	if h := c.Handover; h != nil {
		ev.Recipient = protoenum.FromCode[casedirectionv1.HandoverRecipient](h.Recipient)
		ev.RecipientOin, ev.RecipientMunicipalityCode, ev.At = h.RecipientOIN, h.Municipality, timestamppb.New(h.At)
	}
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, ev)
}

// CaseInvolvementAdded announces a new involvement (ids, codes and dates only).
func (p *Publisher) CaseInvolvementAdded(ctx context.Context, c domain.Case, i domain.Involvement, at time.Time) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseInvolvementAdded{
		CaseId: c.ID, InvolvementId: i.ID, OrganisationType: protoenum.FromCode[commonv1.OrganisationType](i.OrgType), OrganisationOin: i.OrgOIN, ProfessionalId: i.ProfessionalID,
		Role: protoconv.InvolvementRole(i.Role), ValidFrom: i.ValidFrom.Format(time.DateOnly), ValidTo: protoconv.Date(i.ValidTo),
		MunicipalityCode: c.Municipality, Confidentiality: confidentiality(c), At: timestamppb.New(at),
	})
}

// CaseInvolvementEnded announces that an involvement ended or will end.
func (p *Publisher) CaseInvolvementEnded(ctx context.Context, c domain.Case, i domain.Involvement, at time.Time) error {
	ev := &casedirectionv1.CaseInvolvementEnded{
		CaseId: c.ID, InvolvementId: i.ID, OrganisationType: protoenum.FromCode[commonv1.OrganisationType](i.OrgType), OrganisationOin: i.OrgOIN,
		Role: protoconv.InvolvementRole(i.Role), ValidTo: protoconv.Date(i.ValidTo),
		MunicipalityCode: c.Municipality, Confidentiality: confidentiality(c), At: timestamppb.New(at),
	}
	if i.EndedAt != nil {
		ev.EndedAt = timestamppb.New(*i.EndedAt)
	}
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, ev)
}

// confidentiality is SAFETY for a case with a safety concern; case direction of a household
// otherwise concerns health and debts, so SPECIAL.
func confidentiality(c domain.Case) commonv1.Confidentiality {
	if c.SafetyConcern {
		return commonv1.Confidentiality_CONFIDENTIALITY_SAFETY
	}
	return commonv1.Confidentiality_CONFIDENTIALITY_SPECIAL
}

func status(s domain.Status) casedirectionv1.CaseStatus {
	return protoenum.FromCode[casedirectionv1.CaseStatus](string(s))
}

// CaseResidentsChanged announces that the residents the case concerns changed (ids only).
func (p *Publisher) CaseResidentsChanged(ctx context.Context, c domain.Case, at time.Time) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &casedirectionv1.CaseResidentsChanged{
		CaseId: c.ID, MunicipalityCode: c.Municipality, At: timestamppb.New(at),
	})
}
