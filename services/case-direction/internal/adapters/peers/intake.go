package peers

import (
	"context"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/app"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain"
	"google.golang.org/grpc"
)

// Intake compares ZRM assessments through the intake service, for the team the acting user
// belongs to (the connection carries the caller onward).
type Intake struct {
	client intakev1.IntakeServiceClient
}

// NewIntake returns the client.
func NewIntake(cc grpc.ClientConnInterface) *Intake {
	return &Intake{client: intakev1.NewIntakeServiceClient(cc)}
}

// Compare asks intake for the change between two assessments of the household (or of one of
// its members). Intake's refusals (NOT_FOUND for an assessment of another household) reach
// the caller as grpcx.PeerError says.
func (i *Intake) Compare(ctx context.Context, householdID, fromID, toID string) (app.Comparison, error) {
	resp, err := i.client.CompareAssessments(ctx, &intakev1.CompareAssessmentsRequest{
		FromAssessmentId: fromID, ToAssessmentId: toID, HouseholdId: householdID,
	})
	if err != nil {
		return app.Comparison{}, grpcx.PeerError("intake", "assessment", err)
	}
	var out app.Comparison
	for _, s := range resp.GetTo().GetScores() {
		out.Scores = append(out.Scores, domain.Score{LifeDomain: protoenum.Code(s.GetLifeDomain()), Score: int(s.GetScore())})
	}
	for _, c := range resp.GetChanges() {
		out.Changes = append(out.Changes, DomainChangeFromProto(c))
	}
	return out, nil
}

// DomainChangeFromProto maps a compared life domain.
func DomainChangeFromProto(c *commonv1.DomainChange) domain.DomainChange {
	return domain.DomainChange{LifeDomain: protoenum.Code(c.GetLifeDomain()), From: int(c.GetFromScore()), To: int(c.GetToScore()),
		Delta: int(c.GetDelta()), Change: protoenum.Code(c.GetChange())}
}

// Residents returns a household's current members (ids and pseudonyms) from intake.
func (i *Intake) Residents(ctx context.Context, householdID string) ([]domain.ResidentRef, error) {
	var all []*commonv1.ResidentPseudonym
	req := &intakev1.ListHouseholdResidentsRequest{HouseholdId: householdID, PageSize: 500}
	for {
		resp, err := i.client.ListHouseholdResidents(ctx, req)
		if err != nil {
			return nil, grpcx.PeerError("intake", "household", err)
		}
		all = append(all, resp.GetResidents()...)
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return ResidentRefs(all), nil
		}
	}
}

// ResidentRefs maps residents named by id and pseudonym.
func ResidentRefs(rs []*commonv1.ResidentPseudonym) []domain.ResidentRef {
	out := make([]domain.ResidentRef, 0, len(rs))
	for _, r := range rs {
		out = append(out, domain.ResidentRef{ResidentID: r.GetResidentId(), Pseudonym: r.GetPseudonym()})
	}
	return out
}
