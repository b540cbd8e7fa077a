// Package events turns intake's domain changes into information-poor protobuf events in the
// outbox: ids, codes and statuses, never a BSN, a name or the question.
package events

import (
	"context"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
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
	return p.w.Add(ctx, natsx.Subject(Service, i.Municipality, "intake", "received"), i.ID, &intakev1.IntakeReceived{
		IntakeId: i.ID, Channel: protoenum.FromCode[intakev1.Channel](string(i.Channel)), SignalIds: i.SignalIDs,
		HouseholdId: i.HouseholdID, MunicipalityCode: i.Municipality, DistrictCode: i.District,
		Urgency: protoenum.FromCode[intakev1.Urgency](string(i.Urgency)), LifeDomains: protoenum.LifeDomains(i.LifeDomains),
		TeamOin: i.TeamOIN, Confidentiality: protoenum.FromCode[commonv1.Confidentiality](i.Confidentiality()),
		ReceivedAt: timestamppb.New(i.ReceivedAt),
	})
}

// IntakeTriaged announces a triage decision and the rule that made it.
func (p *Publisher) IntakeTriaged(ctx context.Context, i domain.Intake) error {
	return p.w.Add(ctx, natsx.Subject(Service, i.Municipality, "intake", "triaged"), i.ID, &intakev1.IntakeTriaged{
		IntakeId: i.ID, Outcome: protoenum.FromCode[intakev1.TriageOutcome](string(i.TriageOutcome)), Rule: i.TriageRule,
		Status: protoenum.FromCode[intakev1.IntakeStatus](string(i.Status)), SignalIds: i.SignalIDs, MunicipalityCode: i.Municipality,
	})
}

// IntakeCaseOpened announces that the intake led to a case; referral uses the signal ids to
// tell the sources.
func (p *Publisher) IntakeCaseOpened(ctx context.Context, i domain.Intake) error {
	return p.w.Add(ctx, natsx.Subject(Service, i.Municipality, "intake", "case_opened"), i.ID, &intakev1.IntakeCaseOpened{
		IntakeId: i.ID, CaseId: i.CaseID, SignalIds: i.SignalIDs, MunicipalityCode: i.Municipality,
	})
}
