// Package peers calls the services intake depends on: case-direction to open cases and
// referral to read the signals its events only announce. A failed call is returned as
// grpcx.PeerError says (the one policy for peer errors).
package peers

import (
	"context"
	"errors"
	"fmt"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/app"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
	"google.golang.org/grpc"
)

// CaseDirection is the case-direction client.
type CaseDirection struct {
	client casedirectionv1.CaseDirectionServiceClient
}

// NewCaseDirection returns the client on an open connection.
func NewCaseDirection(cc grpc.ClientConnInterface) *CaseDirection {
	return &CaseDirection{client: casedirectionv1.NewCaseDirectionServiceClient(cc)}
}

// OpenCase opens the household's case.
func (c *CaseDirection) OpenCase(ctx context.Context, r app.CaseRequest) (string, error) {
	resp, err := c.client.OpenCase(ctx, &casedirectionv1.OpenCaseRequest{
		IdempotencyKey: r.IdempotencyKey, HouseholdId: r.HouseholdID, IntakeId: r.IntakeID,
		MunicipalityCode: r.Municipality, DistrictCode: r.District, TeamOin: r.TeamOIN,
		LifeDomains: protoenum.LifeDomains(r.LifeDomains), BaselineAssessmentId: r.BaselineAssessmentID,
		Residents: residentRefs(r.Residents),
	})
	if err != nil {
		return "", grpcx.PeerError("case-direction", "case", err)
	}
	if resp.GetCase().GetId() == "" {
		return "", errors.New("case-direction: OpenCase answered without a case id")
	}
	return resp.GetCase().GetId(), nil
}

// Referral is the referral client.
type Referral struct {
	client referralv1.ReferralServiceClient
}

// NewReferral returns the client on an open connection.
func NewReferral(cc grpc.ClientConnInterface) *Referral {
	return &Referral{client: referralv1.NewReferralServiceClient(cc)}
}

// GetSignal reads a signal with its personal data (referral logs the read).
func (r *Referral) GetSignal(ctx context.Context, id string) (app.Signal, error) {
	resp, err := r.client.GetSignal(ctx, &referralv1.GetSignalRequest{SignalId: id})
	if err != nil {
		return app.Signal{}, grpcx.PeerError("referral", "signal", err)
	}
	s := resp.GetSignal()
	if s.GetId() == "" {
		return app.Signal{}, errors.New("referral: GetSignal answered without a signal")
	}
	return signalOf(s), nil
}

// GetSignals reads several signals in one call (referral logs each read).
func (r *Referral) GetSignals(ctx context.Context, ids []string) ([]app.Signal, error) {
	resp, err := r.client.BatchGetSignals(ctx, &referralv1.BatchGetSignalsRequest{SignalIds: ids})
	if err != nil {
		return nil, grpcx.PeerError("referral", "signal", err)
	}
	if len(resp.GetSignals()) != len(ids) {
		return nil, fmt.Errorf("referral: BatchGetSignals answered %d signals for %d ids", len(resp.GetSignals()), len(ids))
	}
	out := make([]app.Signal, len(ids))
	for i, s := range resp.GetSignals() {
		if s.GetId() != ids[i] {
			return nil, fmt.Errorf("referral: BatchGetSignals answered signal %q for %q", s.GetId(), ids[i])
		}
		out[i] = signalOf(s)
	}
	return out, nil
}

func signalOf(s *referralv1.Signal) app.Signal {
	domains := make([]string, 0, len(s.GetLifeDomains()))
	for _, d := range s.GetLifeDomains() {
		if c := protoenum.Code(d); c != "" {
			domains = append(domains, c)
		}
	}
	return app.Signal{
		ID: s.GetId(), SourceType: protoenum.Code(s.GetSourceType()), ResidentBSN: s.GetResidentBsn(),
		Description: s.GetDescription(), LifeDomains: domains, Crisis: s.GetCrisis(),
		Meldcode:     s.GetLegalBasis() == referralv1.LegalBasis_LEGAL_BASIS_MELDCODE,
		Municipality: s.GetMunicipalityCode(), District: s.GetDistrictCode(),
	}
}

func residentRefs(refs []domain.ResidentRef) []*commonv1.ResidentPseudonym {
	out := make([]*commonv1.ResidentPseudonym, 0, len(refs))
	for _, r := range refs {
		out = append(out, &commonv1.ResidentPseudonym{ResidentId: r.ResidentID, Pseudonym: r.Pseudonym})
	}
	return out
}
