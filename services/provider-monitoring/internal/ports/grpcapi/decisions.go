package grpcapi

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	pm "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/providermonitoring/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/app"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DecisionServer implements DecisionService.
type DecisionServer struct {
	pm.UnimplementedDecisionServiceServer
	app  *app.App
	idem *idempotency.Store
}

// NewDecisionServer returns the server.
func NewDecisionServer(a *app.App, idem *idempotency.Store) *DecisionServer {
	return &DecisionServer{app: a, idem: idem}
}

// DraftDecision drafts a decision from what Wijkbrug knows.
func (s *DecisionServer) DraftDecision(ctx context.Context, req *pm.DraftDecisionRequest) (*pm.DraftDecisionResponse, error) {
	in, err := draftFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *pm.DraftDecisionResponse { return &pm.DraftDecisionResponse{} },
		func(ctx context.Context) (*pm.DraftDecisionResponse, error) {
			d, err := s.app.DraftDecision(ctx, in)
			if err != nil {
				return nil, err
			}
			return &pm.DraftDecisionResponse{Decision: decisionToProto(d)}, nil
		})
}

func draftFromRequest(req *pm.DraftDecisionRequest) (app.DraftInput, error) {
	var v apperr.Validation
	// Formats of ids, dates, enums and the AGB code: the proto's rules.
	v.Check(req.GetIntakeId() != "" || req.GetCaseId() != "", "intake_id", "intake_id or case_id is required")
	in := app.DraftInput{
		IntakeID: req.GetIntakeId(), CaseID: req.GetCaseId(), RequestID: req.GetAllocationRequestId(),
		LegalBasis: domain.LegalBasis(protoenum.Required(&v, "legal_basis", req.GetLegalBasis())),
		Granted:    req.GetOutcome() == pm.DecisionOutcome_DECISION_OUTCOME_GRANTED,
		Form:       domain.Form(protoenum.Code(req.GetForm())), ProviderAGB: req.GetProviderAgb(),
		BudgetCents: req.GetBudgetCents(), MotivationText: req.GetMotivationText(),
		RejectionGrounds: req.GetRejectionGrounds(),
	}
	protoenum.Required(&v, "outcome", req.GetOutcome())
	if !in.Granted && req.GetOutcome() != pm.DecisionOutcome_DECISION_OUTCOME_UNSPECIFIED {
		v.Check(req.GetRejectionGrounds() != "", "rejection_grounds", "required when the application is rejected")
	}
	if req.GetApplicationDate() != "" {
		d := valid.Date(&v, "application_date", req.GetApplicationDate())
		in.ApplicationDate = &d
	}
	if p := req.GetProduct(); p != nil {
		in.Product = &domain.Product{Category: p.GetCategory(), Code: p.GetCode()}
	}
	if req.GetStartDate() != "" {
		start, end := period(&v, "start_date", req.GetStartDate(), "end_date", req.GetEndDate())
		in.Start, in.End = &start, end
	}
	if req.GetVolume() != nil {
		vol := volume(&v, req.GetVolume())
		in.Volume = &vol
	}
	if req.GetAllocationRequestId() != "" {
		v.Check(req.GetProduct() == nil && req.GetStartDate() == "" && req.GetVolume() == nil, "allocation_request_id",
			"give either allocation_request_id or the product choice (product, start_date, volume), not both")
	}
	return in, v.Err()
}

// ProposeDecision proposes a draft.
func (s *DecisionServer) ProposeDecision(ctx context.Context, req *pm.ProposeDecisionRequest) (*pm.ProposeDecisionResponse, error) {
	return idempotency.Do(ctx, s.idem, req, func() *pm.ProposeDecisionResponse { return &pm.ProposeDecisionResponse{} },
		func(ctx context.Context) (*pm.ProposeDecisionResponse, error) {
			d, err := s.app.ProposeDecision(ctx, req.GetDecisionId())
			if err != nil {
				return nil, err
			}
			return &pm.ProposeDecisionResponse{Decision: decisionToProto(d)}, nil
		})
}

// DecideDecision signs a decision under mandate.
func (s *DecisionServer) DecideDecision(ctx context.Context, req *pm.DecideDecisionRequest) (*pm.DecideDecisionResponse, error) {
	return idempotency.Do(ctx, s.idem, req, func() *pm.DecideDecisionResponse { return &pm.DecideDecisionResponse{} },
		func(ctx context.Context) (*pm.DecideDecisionResponse, error) {
			d, issued, err := s.app.DecideDecision(ctx, req.GetDecisionId())
			if err != nil {
				return nil, err
			}
			out := &pm.DecideDecisionResponse{Decision: decisionToProto(d)}
			for _, al := range issued {
				out.Allocations = append(out.Allocations, allocationToProto(al))
			}
			return out, nil
		})
}

func recipient(r *pm.LetterRecipient) *app.Recipient {
	if r == nil {
		return nil
	}
	return &app.Recipient{Name: r.GetName(), Salutation: r.GetSalutation(), Street: r.GetStreet(), PostalCode: r.GetPostalCode(), City: r.GetCity()}
}

// SendDecision records that a decision was sent (and stores its letter given a recipient).
func (s *DecisionServer) SendDecision(ctx context.Context, req *pm.SendDecisionRequest) (*pm.SendDecisionResponse, error) {
	return idempotency.Do(ctx, s.idem, req, func() *pm.SendDecisionResponse { return &pm.SendDecisionResponse{} },
		func(ctx context.Context) (*pm.SendDecisionResponse, error) {
			d, err := s.app.SendDecision(ctx, req.GetDecisionId(), recipient(req.GetRecipient()), req.GetClientName())
			if err != nil {
				return nil, err
			}
			return &pm.SendDecisionResponse{Decision: decisionToProto(d)}, nil
		})
}

// AmendDecision drafts an amendment.
func (s *DecisionServer) AmendDecision(ctx context.Context, req *pm.AmendDecisionRequest) (*pm.AmendDecisionResponse, error) {
	var v apperr.Validation
	am := app.Amendment{MotivationText: req.GetMotivationText()}
	if req.GetEndDate() != "" {
		e := valid.Date(&v, "end_date", req.GetEndDate())
		am.End = &e
	}
	if req.GetVolume() != nil {
		vol := volume(&v, req.GetVolume())
		am.Volume = &vol
	}
	if req.GetBudgetCents() != 0 {
		b := req.GetBudgetCents()
		am.BudgetCents = &b
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *pm.AmendDecisionResponse { return &pm.AmendDecisionResponse{} },
		func(ctx context.Context) (*pm.AmendDecisionResponse, error) {
			d, err := s.app.AmendDecision(ctx, req.GetDecisionId(), am)
			if err != nil {
				return nil, err
			}
			return &pm.AmendDecisionResponse{Decision: decisionToProto(d)}, nil
		})
}

// WithdrawDecision withdraws a decision.
func (s *DecisionServer) WithdrawDecision(ctx context.Context, req *pm.WithdrawDecisionRequest) (*pm.WithdrawDecisionResponse, error) {
	var v apperr.Validation
	reason := protoenum.Required(&v, "reason", req.GetReason())
	if err := v.Err(); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *pm.WithdrawDecisionResponse { return &pm.WithdrawDecisionResponse{} },
		func(ctx context.Context) (*pm.WithdrawDecisionResponse, error) {
			d, err := s.app.WithdrawDecision(ctx, req.GetDecisionId(), reason)
			if err != nil {
				return nil, err
			}
			return &pm.WithdrawDecisionResponse{Decision: decisionToProto(d)}, nil
		})
}

// RegisterObjection registers an objection.
func (s *DecisionServer) RegisterObjection(ctx context.Context, req *pm.RegisterObjectionRequest) (*pm.RegisterObjectionResponse, error) {
	var v apperr.Validation
	on := valid.Date(&v, "received_on", req.GetReceivedOn())
	var posted *time.Time
	if req.GetPostedOn() != "" {
		p := valid.Date(&v, "posted_on", req.GetPostedOn())
		posted = &p
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *pm.RegisterObjectionResponse { return &pm.RegisterObjectionResponse{} },
		func(ctx context.Context) (*pm.RegisterObjectionResponse, error) {
			d, err := s.app.RegisterObjection(ctx, req.GetDecisionId(), on, posted)
			if err != nil {
				return nil, err
			}
			return &pm.RegisterObjectionResponse{Decision: decisionToProto(d)}, nil
		})
}

// GetDecision returns a decision.
func (s *DecisionServer) GetDecision(ctx context.Context, req *pm.GetDecisionRequest) (*pm.GetDecisionResponse, error) {
	d, err := s.app.GetDecision(ctx, req.GetDecisionId())
	if err != nil {
		return nil, err
	}
	return &pm.GetDecisionResponse{Decision: decisionToProto(d)}, nil
}

func decisionList(req *pm.ListDecisionsRequest) string {
	var filter []string
	for _, st := range req.GetStatuses() {
		filter = append(filter, st.String())
	}
	return paging.Scoped("providermonitoring.decisions."+req.GetMunicipalityCode(), filter...)
}

// ListDecisions lists a municipality's decisions, newest first.
func (s *DecisionServer) ListDecisions(ctx context.Context, req *pm.ListDecisionsRequest) (*pm.ListDecisionsResponse, error) {
	var v apperr.Validation
	statuses := statusCodes(&v, req.GetStatuses())
	page, after := paging.ParseAt(&v, decisionList(req), ListLimits, req.GetPageSize(), req.GetPageToken())
	if err := v.Err(); err != nil {
		return nil, err
	}
	list, more, err := s.app.ListDecisions(ctx, req.GetMunicipalityCode(), statuses, after, page.Size)
	if err != nil {
		return nil, err
	}
	out := &pm.ListDecisionsResponse{}
	for _, d := range list {
		out.Decisions = append(out.Decisions, decisionToProto(d))
	}
	if more {
		last := list[len(list)-1]
		out.NextPageToken = paging.TokenAt(decisionList(req), last.CreatedAt, last.ID)
	}
	return out, nil
}

// RenderDecisionLetter renders a decision's letter.
func (s *DecisionServer) RenderDecisionLetter(ctx context.Context, req *pm.RenderDecisionLetterRequest) (*pm.RenderDecisionLetterResponse, error) {
	var v apperr.Validation
	format := protoenum.Required(&v, "format", req.GetFormat())
	if err := v.Err(); err != nil {
		return nil, err
	}
	b, ct, err := s.app.RenderDecisionLetter(ctx, req.GetDecisionId(), format, recipient(req.GetRecipient()), req.GetClientName())
	if err != nil {
		return nil, err
	}
	return &pm.RenderDecisionLetterResponse{Content: b, ContentType: ct}, nil
}

// ListMandates returns a municipality's mandate register.
func (s *DecisionServer) ListMandates(ctx context.Context, req *pm.ListMandatesRequest) (*pm.ListMandatesResponse, error) {
	reg, err := s.app.ListMandates(ctx, req.GetMunicipalityCode(), int(req.GetVersion()))
	if err != nil {
		return nil, err
	}
	mandates, paragraphs, adopted := registerToProto(reg)
	return &pm.ListMandatesResponse{MunicipalityCode: req.GetMunicipalityCode(), Version: int32(reg.Version),
		Mandates: mandates, Paragraphs: paragraphs, AdoptedAt: adopted}, nil
}

// AdoptMandateRegister adopts a new version of a municipality's mandate register.
func (s *DecisionServer) AdoptMandateRegister(ctx context.Context, req *pm.AdoptMandateRegisterRequest) (*pm.AdoptMandateRegisterResponse, error) {
	reg := registerFromProto(req)
	return idempotency.Do(ctx, s.idem, req, func() *pm.AdoptMandateRegisterResponse { return &pm.AdoptMandateRegisterResponse{} },
		func(ctx context.Context) (*pm.AdoptMandateRegisterResponse, error) {
			out, err := s.app.AdoptMandateRegister(ctx, reg, int(req.GetExpectedVersion()))
			if err != nil {
				return nil, err
			}
			mandates, paragraphs, adopted := registerToProto(out)
			return &pm.AdoptMandateRegisterResponse{MunicipalityCode: out.Municipality, Version: int32(out.Version),
				Mandates: mandates, Paragraphs: paragraphs, AdoptedAt: adopted}, nil
		})
}

func registerFromProto(req *pm.AdoptMandateRegisterRequest) domain.MandateRegister {
	p := req.GetParagraphs()
	reg := domain.MandateRegister{Municipality: req.GetMunicipalityCode(), Paragraphs: domain.Paragraphs{
		ObjectionClause: p.GetObjectionClause(), OwnContributionNotice: p.GetOwnContributionNotice(), PGBNotice: p.GetPgbNotice(),
		MunicipalityName: p.GetMunicipalityName(), ObjectionURL: p.GetObjectionUrl(), MandateDecree: p.GetMandateDecree(),
		PostalAddress: domain.PostalAddress{Street: p.GetPostalStreet(), PostalCode: p.GetPostalCode(), City: p.GetPostalCity()},
		Functions:     p.GetFunctions(), Opening: p.GetOpening(), Contact: p.GetContact(), Closing: p.GetClosing(),
	}}
	for _, m := range req.GetMandates() {
		reg.Mandates = append(reg.Mandates, domain.Mandate{Name: m.GetName(), Role: m.GetRole(), ProductCategories: m.GetProductCategories(),
			MaxVolume: m.GetMaxVolume(), MaxBudgetCents: m.GetMaxBudgetCents(), FourEyesAboveVolume: m.GetFourEyesAboveVolume(),
			FourEyesAboveBudgetCents: m.GetFourEyesAboveBudgetCents(),
			VolumeUnit:               domain.UnitCode(protoenum.Code(m.GetVolumeUnit())),
			VolumeFrequency:          domain.FrequencyCode(protoenum.Code(m.GetVolumeFrequency()))})
	}
	return reg
}

func registerToProto(reg domain.MandateRegister) ([]*pm.Mandate, *pm.StandardParagraphs, *timestamppb.Timestamp) {
	p := reg.Paragraphs
	paragraphs := &pm.StandardParagraphs{ObjectionClause: p.ObjectionClause, OwnContributionNotice: p.OwnContributionNotice, PgbNotice: p.PGBNotice,
		MunicipalityName: p.MunicipalityName, PostalStreet: p.PostalAddress.Street, PostalCode: p.PostalAddress.PostalCode,
		PostalCity: p.PostalAddress.City, MandateDecree: p.MandateDecree, ObjectionUrl: p.ObjectionURL, Functions: p.Functions,
		Opening: p.Opening, Contact: p.Contact, Closing: p.Closing}
	var mandates []*pm.Mandate
	for _, m := range reg.Mandates {
		unit, freq := m.LimitUnit()
		mandates = append(mandates, &pm.Mandate{Name: m.Name, Role: m.Role, ProductCategories: m.ProductCategories,
			MaxVolume: m.MaxVolume, MaxBudgetCents: m.MaxBudgetCents, FourEyesAboveVolume: m.FourEyesAboveVolume,
			FourEyesAboveBudgetCents: m.FourEyesAboveBudgetCents, VolumeUnit: unitOf(unit),
			VolumeFrequency: protoenum.FromCode[commonv1.VolumeFrequency](domain.FrequencyName(freq))})
	}
	var adopted *timestamppb.Timestamp
	if !reg.AdoptedAt.IsZero() {
		adopted = timestamppb.New(reg.AdoptedAt)
	}
	return mandates, paragraphs, adopted
}

func ts(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func dateOf(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.Format(domain.DateLayout)
}

func decisionToProto(d domain.Decision) *pm.Decision {
	out := &pm.Decision{
		Id: d.ID, Number: d.Number, MunicipalityCode: d.Municipality, DistrictCode: d.District,
		ResidentId: d.ResidentID, HouseholdId: d.HouseholdID, IntakeId: d.IntakeID, CaseId: d.CaseID, TeamOin: d.TeamOIN,
		LegalBasis: protoenum.FromCode[pm.LegalBasis](string(d.LegalBasis)), Granted: d.Granted,
		RejectionGrounds: d.RejectionGrounds, ProviderAgb: d.ProviderAGB,
		Form:      protoenum.FromCode[pm.AllocationForm](string(d.Form)),
		StartDate: dateOf(&d.Start), EndDate: dateOf(d.End), BudgetCents: d.BudgetCents,
		OwnContributionNotice: d.OwnContributionNotice, ObjectionClause: d.ObjectionClause,
		ApplicationDate: dateOf(&d.ApplicationDate), DueDate: dateOf(&d.DueDate),
		ReportDate: dateOf(&d.ReportDate), InvestigationDue: dateOf(d.InvestigationDue),
		Status:    protoenum.FromCode[pm.DecisionStatus](string(d.Status)),
		DraftedBy: d.DraftedBy, ProposedBy: d.ProposedBy, DecidedBy: d.DecidedBy, SecondOfficial: d.SecondOfficial,
		Mandate: d.Mandate, MandateRegisterVersion: int32(d.MandateVersion), AwaitingSecondOfficial: d.NeedsSecondOfficial(),
		DecidedAt: ts(d.DecidedAt), SentAt: ts(d.SentAt), ObjectionDeadline: dateOf(d.ObjectionDeadline),
		WithdrawnAt:        ts(d.WithdrawnAt),
		WithdrawalReason:   protoenum.FromCode[pm.DecisionWithdrawalReason](d.WithdrawalReason),
		ReplacesDecisionId: d.Replaces, ReplacedByDecisionId: d.ReplacedBy, AllocationNumbers: d.AllocationNumbers,
		WithinStatutoryTerm: d.WithinStatutoryTerm, ParagraphsVersion: int32(d.ParagraphsVersion),
		CreatedAt: timestamppb.New(d.CreatedAt), AllocationRequestId: d.AllocationRequestID,
		LetterStored: len(d.Letter) > 0, AddresseeKnown: d.Addressee.Complete(),
		Motivation: &pm.DecisionMotivation{Text: d.Motivation.Text, TriageOutcome: d.Motivation.TriageOutcome,
			TriageRule: d.Motivation.TriageRule, LifeDomains: protoenum.LifeDomains(d.Motivation.LifeDomains)},
	}
	if d.Product.Category != "" || d.Product.Code != "" {
		out.Product = &pm.Product{Category: d.Product.Category, Code: d.Product.Code}
	}
	if d.Volume.Amount > 0 {
		out.Volume = volumeToProto(d.Volume)
	}
	for _, g := range d.Motivation.Goals {
		out.Motivation.Goals = append(out.Motivation.Goals, &pm.MotivationGoal{GoalId: g.GoalID,
			LifeDomain:    protoenum.FromCode[commonv1.LifeDomain](g.LifeDomain),
			BaselineScore: g.Baseline, TargetScore: g.Target})
	}
	if d.Objection != nil {
		out.Objection = &pm.DecisionObjection{ReceivedOn: d.Objection.ReceivedOn.Format(domain.DateLayout),
			RegisteredAt: timestamppb.New(d.Objection.RegisteredAt), OnTime: d.Objection.OnTime, PostedOn: dateOf(d.Objection.PostedOn)}
	}
	return out
}
