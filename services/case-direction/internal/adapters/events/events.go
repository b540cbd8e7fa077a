// Package events turns case-direction's domain changes into information-poor protobuf events
// in the outbox: ids, codes and statuses, never a BSN, a name or free text.
package events

import (
	"context"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
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
	return p.w.Add(ctx, natsx.Subject(Service, c.Municipality, "case", "opened"), c.ID, &casedirectionv1.CaseOpened{
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
	return p.w.Add(ctx, natsx.Subject(Service, c.Municipality, "case", "director_assigned"), c.ID, ev)
}

// CaseAllocationRequested announces an allocation made for the case.
func (p *Publisher) CaseAllocationRequested(ctx context.Context, c domain.Case, a domain.AllocationAction) error {
	return p.w.Add(ctx, natsx.Subject(Service, c.Municipality, "case", "allocation_requested"), c.ID, &casedirectionv1.CaseAllocationRequested{
		CaseId: c.ID, AllocationNumber: a.Number, ProviderAgb: a.ProviderAGB, MunicipalityCode: c.Municipality,
	})
}

func status(s domain.Status) casedirectionv1.CaseStatus {
	return protoenum.FromCode[casedirectionv1.CaseStatus](string(s))
}
