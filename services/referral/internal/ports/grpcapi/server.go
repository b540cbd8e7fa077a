// Package grpc is the referral service's gRPC edge: it validates requests, maps them to the
// domain and back, and makes mutating calls idempotent. Errors are typed (apperr) and become
// gRPC statuses in the shared interceptor.
package grpcapi

import (
	"context"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/app"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Server implements ReferralService.
type Server struct {
	referralv1.UnimplementedReferralServiceServer
	app  *app.App
	idem *idempotency.Store
}

// NewServer returns the server.
func NewServer(a *app.App, idem *idempotency.Store) *Server { return &Server{app: a, idem: idem} }

// SubmitSignal registers a signal.
func (s *Server) SubmitSignal(ctx context.Context, req *referralv1.SubmitSignalRequest) (*referralv1.SubmitSignalResponse, error) {
	sig, err := signalFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *referralv1.SubmitSignalResponse { return &referralv1.SubmitSignalResponse{} },
		func(ctx context.Context) (*referralv1.SubmitSignalResponse, error) {
			out, err := s.app.SubmitSignal(ctx, sig)
			if err != nil {
				return nil, err
			}
			return &referralv1.SubmitSignalResponse{SignalId: out.ID, Status: protoenum.FromCode[referralv1.SignalStatus](string(out.Status)),
				ReceivedAt: timestamppb.New(out.ReceivedAt)}, nil
		})
}

// GetSignal returns a signal to its source.
func (s *Server) GetSignal(ctx context.Context, req *referralv1.GetSignalRequest) (*referralv1.GetSignalResponse, error) {
	sig, err := s.app.GetSignal(ctx, req.GetSignalId())
	if err != nil {
		return nil, err
	}
	return &referralv1.GetSignalResponse{Signal: signalToProto(sig)}, nil
}

// BatchGetSignals returns several signals to a Wijkbrug service.
func (s *Server) BatchGetSignals(ctx context.Context, req *referralv1.BatchGetSignalsRequest) (*referralv1.BatchGetSignalsResponse, error) {
	sigs, err := s.app.GetSignals(ctx, req.GetSignalIds())
	if err != nil {
		return nil, err
	}
	out := &referralv1.BatchGetSignalsResponse{Signals: make([]*referralv1.Signal, 0, len(sigs))}
	for _, sig := range sigs {
		out.Signals = append(out.Signals, signalToProto(sig))
	}
	return out, nil
}

// ListMySignals lists the caller's own signals.
func (s *Server) ListMySignals(ctx context.Context, req *referralv1.ListMySignalsRequest) (*referralv1.ListMySignalsResponse, error) {
	var v apperr.Validation
	status := ""
	if req.GetStatus() != referralv1.SignalStatus_SIGNAL_STATUS_UNSPECIFIED {
		status = protoenum.Required(&v, "status", req.GetStatus())
	}
	list := paging.Scoped("referral.signals.mine", status)
	page := pageOf(&v, list, req.GetPageSize(), req.GetPageToken())
	if err := v.Err(); err != nil {
		return nil, err
	}
	sigs, more, err := s.app.ListMySignals(ctx, status, page)
	if err != nil {
		return nil, err
	}
	out := &referralv1.ListMySignalsResponse{}
	for _, sig := range sigs {
		out.Signals = append(out.Signals, signalToProto(sig))
	}
	if more {
		last := sigs[len(sigs)-1]
		out.NextPageToken = paging.TokenAt(list, last.ReceivedAt, last.ID)
	}
	return out, nil
}

func signalFromRequest(req *referralv1.SubmitSignalRequest) (domain.Signal, error) {
	var v apperr.Validation
	sig := domain.Signal{
		SourceType:   domain.SourceType(protoenum.Required(&v, "source_type", req.GetSourceType())),
		LegalBasis:   domain.LegalBasis(protoenum.Required(&v, "legal_basis", req.GetLegalBasis())),
		ResidentBSN:  req.GetResidentBsn(),
		Municipality: req.GetMunicipalityCode(),
		District:     req.GetDistrictCode(),
		LifeDomains:  protoenum.LifeDomainCodes(&v, "life_domains", req.GetLifeDomains()),
		Category:     req.GetCategory(),
		Description:  req.GetDescription(),
		Crisis:       req.GetCrisis(),
	}
	valid.BSN(&v, "resident_bsn", req.GetResidentBsn())
	// municipality_code, district_code: the proto's rules; the district lies in the municipality.
	valid.DistrictOf(&v, "district_code", req.GetDistrictCode(), req.GetMunicipalityCode())
	valid.Text(&v, "category", req.GetCategory(), 0, 100)
	// A category is a kind of problem shared with the region's themes, in clear text: a number
	// (a BSN, a date, a phone number) is the resident's and belongs in the confidential
	// description.
	v.Check(!strings.ContainsAny(req.GetCategory(), "0123456789"), "category", "a kind of problem such as \"payment arrears\", without digits (details of the resident go in description)")
	valid.Text(&v, "description", req.GetDescription(), 0, 10000)
	if a := req.GetArrears(); a != nil {
		c := a.GetCreditor()
		sig.Arrears = &domain.Arrears{AmountCents: a.GetAmountCents(), Months: a.GetMonths(),
			Creditor: domain.Creditor{Name: c.GetName(), OIN: c.GetOin(), Reference: c.GetReference()}}
		valid.Text(&v, "arrears.creditor.name", c.GetName(), 0, 200)
		// arrears.creditor.oin: empty or an OIN (the proto).
		valid.Text(&v, "arrears.creditor.reference", c.GetReference(), 0, 100)
	}
	return sig, v.Err()
}

func signalToProto(s domain.Signal) *referralv1.Signal {
	out := &referralv1.Signal{
		Id: s.ID, SourceType: protoenum.FromCode[referralv1.SourceType](string(s.SourceType)), SourceOin: s.SourceOIN,
		Reporter: s.Reporter, LegalBasis: protoenum.FromCode[referralv1.LegalBasis](string(s.LegalBasis)),
		ResidentBsn: s.ResidentBSN, MunicipalityCode: s.Municipality, DistrictCode: s.District,
		LifeDomains: protoenum.LifeDomains(s.LifeDomains), Category: s.Category, Description: s.Description,
		Crisis: s.Crisis, Status: protoenum.FromCode[referralv1.SignalStatus](string(s.Status)),
		Feedback: protoenum.FromCode[referralv1.Feedback](string(s.Feedback)), ReceivedAt: timestamppb.New(s.ReceivedAt),
	}
	if s.Arrears != nil {
		c := s.Arrears.Creditor
		out.Arrears = &referralv1.Arrears{AmountCents: s.Arrears.AmountCents, Months: s.Arrears.Months,
			Creditor: &referralv1.Creditor{Name: c.Name, Oin: c.OIN, Reference: c.Reference}}
	}
	if s.FedBackAt != nil {
		out.FedBackAt = timestamppb.New(*s.FedBackAt)
	}
	return out
}
