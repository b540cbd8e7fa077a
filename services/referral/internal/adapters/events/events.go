// Package events turns referral's domain changes into information-poor protobuf events in
// the outbox: ids, codes and statuses, never a BSN, a name or free text.
package events

import (
	"context"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/protoconv"

	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Service is the producing service's subject token.
const Service = "referral"

// Publisher writes referral events to the outbox.
type Publisher struct{ w *outbox.Writer }

// NewPublisher returns a publisher.
func NewPublisher(w *outbox.Writer) *Publisher { return &Publisher{w: w} }

// SignalReceived announces a new signal.
func (p *Publisher) SignalReceived(ctx context.Context, s domain.Signal) error {
	return eventsubject.Add(ctx, p.w, s.Municipality, s.ID, &referralv1.SignalReceived{
		SignalId: s.ID, SourceType: protoenum.FromCode[referralv1.SourceType](string(s.SourceType)), SourceOin: s.SourceOIN,
		LegalBasis: protoenum.FromCode[referralv1.LegalBasis](string(s.LegalBasis)), MunicipalityCode: s.Municipality, DistrictCode: s.District,
		LifeDomains: protoenum.LifeDomains(s.LifeDomains), Crisis: s.Crisis,
		Confidentiality: protoenum.FromCode[commonv1.Confidentiality](s.Confidentiality()),
		ReceivedAt:      timestamppb.New(s.ReceivedAt),
	})
}

// SignalStatusChanged announces a status change to all consumers.
func (p *Publisher) SignalStatusChanged(ctx context.Context, s domain.Signal) error {
	return eventsubject.Add(ctx, p.w, s.Municipality, s.ID, &referralv1.SignalStatusChanged{
		SignalId: s.ID, Status: protoenum.FromCode[referralv1.SignalStatus](string(s.Status)), IntakeId: s.IntakeID, CaseId: s.CaseID, MunicipalityCode: s.Municipality,
		SourceOin: s.SourceOIN,
	})
}

// SignalFedBack tells the source organisation, on its own subject, what became of its signal.
// It carries codes only: the source is not entitled to the case's content.
func (p *Publisher) SignalFedBack(ctx context.Context, s domain.Signal) error {
	ev := &referralv1.SignalFedBack{SignalId: s.ID, SourceOin: s.SourceOIN, Feedback: protoenum.FromCode[referralv1.Feedback](string(s.Feedback)), Status: protoenum.FromCode[referralv1.SignalStatus](string(s.Status))}
	if s.FedBackAt != nil {
		ev.FedBackAt = timestamppb.New(*s.FedBackAt)
	}
	return eventsubject.AddFeedback(ctx, p.w, s.SourceOIN, s.ID, ev)
}

// ReferralStatusChanged announces a referral's (new) status to all consumers and, on their
// own feedback subjects, to the referrer and (once it was sent) the recipient.
func (p *Publisher) ReferralStatusChanged(ctx context.Context, r domain.Referral) error {
	ev := &referralv1.ReferralStatusChanged{
		ReferralId: r.ID, CaseId: r.CaseID, IntakeId: r.IntakeID, GoalIds: r.GoalIDs,
		Status:      protoenum.FromCode[commonv1.ReferralStatus](string(r.Status)),
		ProvisionId: r.ProvisionID, MunicipalityCode: r.Municipality, At: timestamppb.New(r.UpdatedAt),
		ReferrerOin: r.ReferrerOIN,
	}
	ev.DeclineReason, ev.CancelReason, ev.FailReason = protoconv.Reasons(r.Status, r.Reason)
	if err := eventsubject.Add(ctx, p.w, r.Municipality, r.ID, ev); err != nil {
		return err
	}
	partners := []string{r.ReferrerOIN}
	if r.Sent && r.RecipientOIN != r.ReferrerOIN {
		partners = append(partners, r.RecipientOIN)
	}
	for _, oin := range partners {
		if err := eventsubject.AddFeedback(ctx, p.w, oin, r.ID, ev); err != nil {
			return err
		}
	}
	return nil
}

// ProvisionChanged announces a change on the social map.
func (p *Publisher) ProvisionChanged(ctx context.Context, pr domain.Provision) error {
	return eventsubject.Add(ctx, p.w, pr.Municipality, pr.ID, &referralv1.ProvisionChanged{
		ProvisionId: pr.ID, OrganisationOin: pr.OrganisationOIN, MunicipalityCode: pr.Municipality,
		Status:                  protoenum.FromCode[referralv1.ProvisionStatus](pr.Status),
		CapacityStatus:          protoenum.FromCode[referralv1.CapacityStatus](pr.CapacityStatus),
		WaitingDays:             pr.WaitingDays,
		AcceptsDigitalReferrals: pr.AcceptsDigitalReferrals, At: timestamppb.New(pr.UpdatedAt),
	})
}

// ConsentRecorded announces a consent, without the resident.
func (p *Publisher) ConsentRecorded(ctx context.Context, c domain.Consent) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &referralv1.ConsentRecorded{
		ConsentId: c.ID, HolderOin: c.HolderOIN, ProcessingActivity: c.Activity, RecipientOins: c.Recipients,
		DataCategories: dataCategories(c.Categories), MunicipalityCode: c.Municipality, At: timestamppb.New(c.RecordedAt),
	})
}

// ConsentWithdrawn announces a withdrawal and the referrals it cancelled.
func (p *Publisher) ConsentWithdrawn(ctx context.Context, c domain.Consent, cancelled []string) error {
	return eventsubject.Add(ctx, p.w, c.Municipality, c.ID, &referralv1.ConsentWithdrawn{
		ConsentId: c.ID, HolderOin: c.HolderOIN, CancelledReferralIds: cancelled, MunicipalityCode: c.Municipality,
		At: timestamppb.New(*c.WithdrawnAt),
	})
}

func dataCategories(codes []string) []referralv1.DataCategory {
	out := make([]referralv1.DataCategory, 0, len(codes))
	for _, c := range codes {
		out = append(out, protoenum.FromCode[referralv1.DataCategory](c))
	}
	return out
}
