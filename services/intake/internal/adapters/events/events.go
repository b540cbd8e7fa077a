// Package events turns intake's domain changes into information-poor protobuf events in the
// outbox: ids, codes and statuses, never a BSN, a name or the question.
package events

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Service is the producing service's subject token.
const Service = "intake"

// Publisher writes intake events to the outbox.
type Publisher struct{ w *outbox.Writer }

// NewPublisher returns a publisher.
func NewPublisher(w *outbox.Writer) *Publisher { return &Publisher{w: w} }

// IntakeReceived announces a new intake.
func (p *Publisher) IntakeReceived(ctx context.Context, i domain.Intake) error {
	return eventsubject.Add(ctx, p.w, i.Municipality, i.ID, &intakev1.IntakeReceived{
		IntakeId: i.ID, Channel: protoenum.FromCode[intakev1.Channel](string(i.Channel)), SignalIds: i.SignalIDs,
		HouseholdId: i.HouseholdID, MunicipalityCode: i.Municipality, DistrictCode: i.District,
		Urgency: protoenum.FromCode[intakev1.Urgency](string(i.Urgency)), LifeDomains: protoenum.LifeDomains(i.LifeDomains),
		TeamOin: i.TeamOIN, Confidentiality: protoenum.FromCode[commonv1.Confidentiality](i.Confidentiality()),
		ReceivedAt: timestamppb.New(i.ReceivedAt), SourceType: protoenum.FromCode[referralv1.SourceType](i.SourceType),
	})
}

// IntakeTriaged announces a triage decision (made at at) and the rule that made it.
func (p *Publisher) IntakeTriaged(ctx context.Context, i domain.Intake, at time.Time) error {
	return eventsubject.Add(ctx, p.w, i.Municipality, i.ID, &intakev1.IntakeTriaged{
		IntakeId: i.ID, Outcome: protoenum.FromCode[intakev1.TriageOutcome](string(i.TriageOutcome)), Rule: i.TriageRule,
		Status: protoenum.FromCode[intakev1.IntakeStatus](string(i.Status)), SignalIds: i.SignalIDs, MunicipalityCode: i.Municipality,
		PolicyVersion: int32(i.PolicyVersion), At: timestamppb.New(at),
	})
}

// IntakeContactAttempted announces an attempt to reach the resident (whether it did, and
// when; nothing about how or who).
func (p *Publisher) IntakeContactAttempted(ctx context.Context, i domain.Intake, reached bool, at time.Time) error {
	return eventsubject.Add(ctx, p.w, i.Municipality, i.ID, &intakev1.IntakeContactAttempted{
		IntakeId: i.ID, Reached: reached, MunicipalityCode: i.Municipality, At: timestamppb.New(at),
	})
}

// IntakeCaseOpened announces that the intake led to a case; referral uses the signal ids to
// tell the sources.
func (p *Publisher) IntakeCaseOpened(ctx context.Context, i domain.Intake) error {
	return eventsubject.Add(ctx, p.w, i.Municipality, i.ID, &intakev1.IntakeCaseOpened{
		IntakeId: i.ID, CaseId: i.CaseID, SignalIds: i.SignalIDs, MunicipalityCode: i.Municipality,
	})
}

// IntakeClosed announces that an intake ended without case direction (advised, referred,
// not reached, withdrawn, merged).
func (p *Publisher) IntakeClosed(ctx context.Context, i domain.Intake, at time.Time) error {
	return eventsubject.Add(ctx, p.w, i.Municipality, i.ID, &intakev1.IntakeClosed{
		IntakeId: i.ID, Status: protoenum.FromCode[intakev1.IntakeStatus](string(i.Status)), SignalIds: i.SignalIDs,
		MunicipalityCode: i.Municipality, At: timestamppb.New(at), MergedIntoIntakeId: i.MergedInto,
		Outcome: protoenum.FromCode[intakev1.TriageOutcome](string(i.TriageOutcome)),
	})
}

// IntakeTriageStarted announces that a professional picked the intake up.
func (p *Publisher) IntakeTriageStarted(ctx context.Context, i domain.Intake) error {
	return eventsubject.Add(ctx, p.w, i.Municipality, i.ID, &intakev1.IntakeTriageStarted{
		IntakeId: i.ID, SignalIds: i.SignalIDs, MunicipalityCode: i.Municipality, TeamOin: i.TeamOIN,
	})
}

// IntakeTriageOverdue announces that an open intake passed its triage deadline.
func (p *Publisher) IntakeTriageOverdue(ctx context.Context, i domain.Intake) error {
	return eventsubject.Add(ctx, p.w, i.Municipality, i.ID, &intakev1.IntakeTriageOverdue{
		IntakeId: i.ID, TeamOin: i.TeamOIN, MunicipalityCode: i.Municipality,
		Urgency: protoenum.FromCode[intakev1.Urgency](string(i.Urgency)),
		Status:  protoenum.FromCode[intakev1.IntakeStatus](string(i.Status)), TriageDue: timestamppb.New(i.TriageDue),
	})
}

// AssessmentRecorded announces an assessment, without its scores.
func (p *Publisher) AssessmentRecorded(ctx context.Context, a domain.Assessment) error {
	return eventsubject.Add(ctx, p.w, a.Municipality, a.ID, &intakev1.AssessmentRecorded{
		AssessmentId: a.ID, ResidentId: a.ResidentID, HouseholdId: a.HouseholdID, InstrumentVersion: a.Instrument,
		Context: protoenum.FromCode[intakev1.AssessmentContext](string(a.Context)), IntakeId: a.IntakeID,
		MunicipalityCode: a.Municipality, TeamOin: a.TeamOIN, AssessedAt: timestamppb.New(a.AssessedAt),
		// Self-sufficiency scores describe health, debts and safety: a special category.
		Confidentiality: commonv1.Confidentiality_CONFIDENTIALITY_SPECIAL,
	})
}

// TriagePolicyReplaced announces a new policy version.
func (p *Publisher) TriagePolicyReplaced(ctx context.Context, pol domain.Policy) error {
	return eventsubject.Add(ctx, p.w, pol.Municipality, pol.Municipality, &intakev1.TriagePolicyReplaced{
		MunicipalityCode: pol.Municipality, Version: int32(pol.Version),
		Positioning: protoenum.FromCode[intakev1.Positioning](string(pol.Positioning)), AdoptedAt: timestamppb.New(pol.AdoptedAt),
	})
}

// ResidentsMerged announces that a duplicate resident was merged into another.
func (p *Publisher) ResidentsMerged(ctx context.Context, keep, duplicate domain.Resident) error {
	return eventsubject.Add(ctx, p.w, keep.Municipality, keep.ID, &intakev1.ResidentsMerged{
		KeptResidentId: keep.ID, DuplicateResidentId: duplicate.ID, MunicipalityCode: keep.Municipality,
	})
}

// HouseholdCreated announces a new household: ids and roles, never the address.
func (p *Publisher) HouseholdCreated(ctx context.Context, h domain.Household) error {
	e := &intakev1.HouseholdCreated{HouseholdId: h.ID, MunicipalityCode: h.Municipality, DistrictCode: h.District}
	for _, m := range h.Members {
		e.Members = append(e.Members, &intakev1.HouseholdMemberRef{ResidentId: m.ResidentID,
			Role: protoenum.FromCode[intakev1.HouseholdRole](m.Role)})
	}
	return eventsubject.Add(ctx, p.w, h.Municipality, h.ID, e)
}

// HouseholdMemberAdded announces that a resident joined a household.
func (p *Publisher) HouseholdMemberAdded(ctx context.Context, h domain.Household, m domain.Member, previousHouseholdID string) error {
	return eventsubject.Add(ctx, p.w, h.Municipality, h.ID, &intakev1.HouseholdMemberAdded{
		HouseholdId: h.ID, ResidentId: m.ResidentID, Role: protoenum.FromCode[intakev1.HouseholdRole](m.Role),
		MunicipalityCode: h.Municipality, PreviousHouseholdId: previousHouseholdID,
	})
}

// HouseholdMemberRemoved announces that a membership ended.
func (p *Publisher) HouseholdMemberRemoved(ctx context.Context, h domain.Household, residentID, endedOn string) error {
	return eventsubject.Add(ctx, p.w, h.Municipality, h.ID, &intakev1.HouseholdMemberRemoved{
		HouseholdId: h.ID, ResidentId: residentID, MunicipalityCode: h.Municipality, EndedOn: endedOn,
	})
}

// ResidentMatched tells the requesting team and each involved team, on their own subjects,
// that they share a resident or household: ids and OINs only.
func (p *Publisher) ResidentMatched(ctx context.Context, m domain.Match) error {
	ev := &intakev1.ResidentMatched{
		MatchId: m.ID, IntakeId: m.IntakeID, RequestingTeamOin: m.RequestingTeamOIN, InvolvedTeamOins: m.TeamOINs(),
		ResidentId: m.ResidentID, HouseholdId: m.HouseholdID, Basis: protoenum.FromCode[intakev1.MatchBasis](string(m.Basis)),
		MunicipalityCode: m.Municipality, At: timestamppb.New(m.At),
	}
	for _, oin := range append([]string{m.RequestingTeamOIN}, m.TeamOINs()...) {
		if err := eventsubject.AddFeedback(ctx, p.w, oin, m.ID, ev); err != nil {
			return err
		}
	}
	return nil
}
