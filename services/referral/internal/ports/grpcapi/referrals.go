package grpcapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/protoconv"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// CreateReferral creates a referral from the caller.
func (s *Server) CreateReferral(ctx context.Context, req *referralv1.CreateReferralRequest) (*referralv1.CreateReferralResponse, error) {
	r, err := referralFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *referralv1.CreateReferralResponse { return &referralv1.CreateReferralResponse{} },
		func(ctx context.Context) (*referralv1.CreateReferralResponse, error) {
			out, err := s.app.CreateReferral(ctx, r, req.GetSend())
			if err != nil {
				return nil, err
			}
			return &referralv1.CreateReferralResponse{Referral: referralFor(ctx, out)}, nil
		})
}

func referralFromRequest(req *referralv1.CreateReferralRequest) (domain.Referral, error) {
	var v apperr.Validation
	// Exactly one of case_id and intake_id (a rule across fields); their formats, like those of
	// consent_id and replaces_referral_id, are the proto's rules.
	if (req.GetCaseId() == "") == (req.GetIntakeId() == "") {
		v.Add("case_id", "give exactly one of case_id and intake_id")
	}
	// goal_ids: at most 50 distinct UUIDs (the proto); that they are goals of the case is the
	// domain's rule (CheckAgainstCase).
	v.Check(len(req.GetGoalIds()) <= 50, "goal_ids", "at most 50")
	valid.BSN(&v, "resident_bsn", req.GetResidentBsn())
	// provision_id, municipality_code: required with their formats in the proto.
	// district_code: the proto's rule (empty or a CBS district code), and in the municipality.
	valid.DistrictOf(&v, "district_code", req.GetDistrictCode(), req.GetMunicipalityCode())
	valid.Text(&v, "question", req.GetQuestion(), 1, 4000)
	if q := req.GetQuestion(); q != "" && strings.TrimSpace(q) == "" {
		v.Add("question", "required: more than white space")
	}
	cats := categoryCodes(&v, "shared_data_categories", req.GetSharedDataCategories())
	v.Check(len(req.GetSharedDataCategories()) > 0, "shared_data_categories", "name at least one category of data shared with the recipient")
	basis := protoenum.Code(req.GetLegalBasis())
	if req.GetConsentId() != "" {
		v.Check(basis == "" || basis == string(domain.BasisConsent), "legal_basis", "a referral with a consent rests on LEGAL_BASIS_CONSENT")
		basis = string(domain.BasisConsent)
	} else {
		switch basis {
		case "":
			v.Add("legal_basis", "a referral needs a consent_id or another legal basis")
		case string(domain.BasisConsent):
			v.Add("consent_id", "required with LEGAL_BASIS_CONSENT")
		}
	}
	if req.GetPriority() != referralv1.Priority_PRIORITY_UNSPECIFIED {
		v.Check(protoenum.Code(req.GetPriority()) != "", "priority", "unknown priority")
	}
	r := domain.Referral{
		ProvisionID: req.GetProvisionId(), CaseID: req.GetCaseId(), IntakeID: req.GetIntakeId(), GoalIDs: req.GetGoalIds(),
		ResidentBSN: req.GetResidentBsn(), Municipality: req.GetMunicipalityCode(), District: req.GetDistrictCode(),
		Question: req.GetQuestion(), Categories: cats, ConsentID: req.GetConsentId(), LegalBasis: domain.LegalBasis(basis),
		Priority: protoenum.Code(req.GetPriority()), Replaces: req.GetReplacesReferralId(),
	}
	if req.GetAcceptBy() != nil {
		if err := req.GetAcceptBy().CheckValid(); err != nil {
			v.Add("accept_by", "not a valid timestamp")
		} else {
			r.AcceptBy = req.GetAcceptBy().AsTime()
		}
	}
	return r, v.Err()
}

func categoryCodes(v *apperr.Validation, field string, cs []referralv1.DataCategory) []string {
	out := make([]string, 0, len(cs))
	seen := map[string]bool{}
	for i, c := range cs {
		code := protoenum.Code(c)
		switch {
		case code == "":
			// Named by its element, as the proto's rule (items.not_in: [0]) names it.
			v.Add(field+"["+strconv.Itoa(i)+"]", "must be one of the defined categories")
		case seen[code]:
			v.Add(field, "contains "+code+" twice")
		default:
			seen[code] = true
			out = append(out, code)
		}
	}
	return out
}

// GetReferral returns a referral to one of its parties.
func (s *Server) GetReferral(ctx context.Context, req *referralv1.GetReferralRequest) (*referralv1.GetReferralResponse, error) {
	r, err := s.app.GetReferral(ctx, req.GetReferralId())
	if err != nil {
		return nil, err
	}
	return &referralv1.GetReferralResponse{Referral: referralFor(ctx, r)}, nil
}

// ListReferrals lists the caller's referrals on one side.
func (s *Server) ListReferrals(ctx context.Context, req *referralv1.ListReferralsRequest) (*referralv1.ListReferralsResponse, error) {
	var v apperr.Validation
	side := domain.Side(protoenum.Required(&v, "side", req.GetSide()))
	status := ""
	if req.GetStatus() != commonv1.ReferralStatus_REFERRAL_STATUS_UNSPECIFIED {
		status = protoenum.Required(&v, "status", req.GetStatus())
	}
	list := paging.Scoped("referral.referrals", string(side), status)
	page := pageOf(&v, list, req.GetPageSize(), req.GetPageToken())
	if err := v.Err(); err != nil {
		return nil, err
	}
	rs, more, err := s.app.ListReferrals(ctx, side, status, page)
	if err != nil {
		return nil, err
	}
	out := &referralv1.ListReferralsResponse{}
	for _, r := range rs {
		out.Referrals = append(out.Referrals, referralFor(ctx, r))
	}
	if more {
		last := rs[len(rs)-1]
		out.NextPageToken = paging.TokenAt(list, last.CreatedAt, last.ID)
	}
	return out, nil
}

// ListLimits are the page sizes of ListMySignals and ListReferrals.
var ListLimits = paging.Limits{Default: 50, Max: 200}

// pageOf reads the page asked of a list sorted newest first by time and UUID (pkg/paging):
// list names the list with its filters, so a token of another list is refused.
func pageOf(v *apperr.Validation, list string, size int32, token string) domain.Page {
	page, after := paging.ParseAt(v, list, ListLimits, size, token)
	p := domain.Page{Size: page.Size}
	if after != nil {
		// The id goes into a ::uuid cast: anything but a UUID would fail there as INTERNAL.
		if len(after.ID) != 36 || uuid.Validate(after.ID) != nil {
			v.Add("page_token", "not a token from a previous page of this list")
			return p
		}
		p.After = &domain.Position{At: after.Time, ID: after.ID}
	}
	return p
}

// transitionRequest is what every transition request has.
type transitionRequest interface {
	idempotency.Request
	GetReferralId() string
}

// transitionFromRequest validates a transition request (every bad field at once) and maps it
// to the domain transition it asks for.
func transitionFromRequest(req transitionRequest) (domain.Transition, error) {
	var (
		v apperr.Validation
		t domain.Transition
	)
	switch r := req.(type) {
	case *referralv1.SendReferralRequest:
		t.Action = domain.ActSend
	case *referralv1.AcceptReferralRequest:
		t.Action = domain.ActAccept
	case *referralv1.DeclineReferralRequest:
		t = domain.Transition{Action: domain.ActDecline, Reason: protoenum.Required(&v, "reason", r.GetReason()), Note: r.GetNote()}
	case *referralv1.StartReferralRequest:
		t.Action = domain.ActStart
	case *referralv1.HoldReferralRequest:
		t = domain.Transition{Action: domain.ActHold, HoldReason: protoenum.Required(&v, "hold_reason", r.GetHoldReason()), Note: r.GetNote()}
	case *referralv1.ResumeReferralRequest:
		t.Action = domain.ActResume
	case *referralv1.CompleteReferralRequest:
		t = domain.Transition{Action: domain.ActComplete, Outcome: protoenum.Required(&v, "outcome", r.GetOutcome()), Note: r.GetNote()}
	case *referralv1.FailReferralRequest:
		t = domain.Transition{Action: domain.ActFail, Reason: protoenum.Required(&v, "reason", r.GetReason()), Note: r.GetNote()}
	case *referralv1.CancelReferralRequest:
		t = domain.Transition{Action: domain.ActCancel, Reason: protoenum.Required(&v, "reason", r.GetReason()), Note: r.GetNote()}
		v.Check(t.Reason != domain.CancelConsentWithdrawn, "reason", "CONSENT_WITHDRAWN is set by the service when consent is withdrawn (WithdrawConsent)")
		v.Check(t.Reason != domain.CancelCaseClosed, "reason", "CASE_CLOSED is set by the service when the referral's case closes")
	default:
		return t, fmt.Errorf("no referral transition for %T", req) // a programming error, not bad input
	}
	// referral_id: required, a UUID (the proto).
	valid.Text(&v, "note", t.Note, 0, 2000)
	return t, v.Err()
}

// transition validates and runs one referral transition idempotently.
func transition[Resp proto.Message](ctx context.Context, s *Server, req transitionRequest, wrap func(*referralv1.Referral) Resp) (Resp, error) {
	var zero Resp
	t, err := transitionFromRequest(req)
	if err != nil {
		return zero, err
	}
	return idempotency.Do(ctx, s.idem, req, func() Resp { return wrap(nil) },
		func(ctx context.Context) (Resp, error) {
			out, err := s.app.TransitionReferral(ctx, req.GetReferralId(), t)
			if err != nil {
				return zero, err
			}
			return wrap(referralFor(ctx, out)), nil
		})
}

// SendReferral (referrer): DRAFT → SENT.
func (s *Server) SendReferral(ctx context.Context, req *referralv1.SendReferralRequest) (*referralv1.SendReferralResponse, error) {
	return transition(ctx, s, req, func(r *referralv1.Referral) *referralv1.SendReferralResponse {
		return &referralv1.SendReferralResponse{Referral: r}
	})
}

// AcceptReferral (recipient): SENT → ACCEPTED.
func (s *Server) AcceptReferral(ctx context.Context, req *referralv1.AcceptReferralRequest) (*referralv1.AcceptReferralResponse, error) {
	return transition(ctx, s, req, func(r *referralv1.Referral) *referralv1.AcceptReferralResponse {
		return &referralv1.AcceptReferralResponse{Referral: r}
	})
}

// DeclineReferral (recipient): SENT → DECLINED with a reason.
func (s *Server) DeclineReferral(ctx context.Context, req *referralv1.DeclineReferralRequest) (*referralv1.DeclineReferralResponse, error) {
	return transition(ctx, s, req, func(r *referralv1.Referral) *referralv1.DeclineReferralResponse {
		return &referralv1.DeclineReferralResponse{Referral: r}
	})
}

// StartReferral (recipient): ACCEPTED → IN_PROGRESS.
func (s *Server) StartReferral(ctx context.Context, req *referralv1.StartReferralRequest) (*referralv1.StartReferralResponse, error) {
	return transition(ctx, s, req, func(r *referralv1.Referral) *referralv1.StartReferralResponse {
		return &referralv1.StartReferralResponse{Referral: r}
	})
}

// HoldReferral (recipient): ACCEPTED or IN_PROGRESS → ON_HOLD with a sub-status.
func (s *Server) HoldReferral(ctx context.Context, req *referralv1.HoldReferralRequest) (*referralv1.HoldReferralResponse, error) {
	return transition(ctx, s, req, func(r *referralv1.Referral) *referralv1.HoldReferralResponse {
		return &referralv1.HoldReferralResponse{Referral: r}
	})
}

// ResumeReferral (recipient): ON_HOLD → IN_PROGRESS.
func (s *Server) ResumeReferral(ctx context.Context, req *referralv1.ResumeReferralRequest) (*referralv1.ResumeReferralResponse, error) {
	return transition(ctx, s, req, func(r *referralv1.Referral) *referralv1.ResumeReferralResponse {
		return &referralv1.ResumeReferralResponse{Referral: r}
	})
}

// CompleteReferral (recipient): IN_PROGRESS → COMPLETED with an outcome.
func (s *Server) CompleteReferral(ctx context.Context, req *referralv1.CompleteReferralRequest) (*referralv1.CompleteReferralResponse, error) {
	return transition(ctx, s, req, func(r *referralv1.Referral) *referralv1.CompleteReferralResponse {
		return &referralv1.CompleteReferralResponse{Referral: r}
	})
}

// FailReferral (recipient): → FAILED with a reason.
func (s *Server) FailReferral(ctx context.Context, req *referralv1.FailReferralRequest) (*referralv1.FailReferralResponse, error) {
	return transition(ctx, s, req, func(r *referralv1.Referral) *referralv1.FailReferralResponse {
		return &referralv1.FailReferralResponse{Referral: r}
	})
}

// CancelReferral (either side): → CANCELLED with a reason.
func (s *Server) CancelReferral(ctx context.Context, req *referralv1.CancelReferralRequest) (*referralv1.CancelReferralResponse, error) {
	return transition(ctx, s, req, func(r *referralv1.Referral) *referralv1.CancelReferralResponse {
		return &referralv1.CancelReferralResponse{Referral: r}
	})
}

// GetReferralHistory returns a referral's status changes to its referrer or recipient.
func (s *Server) GetReferralHistory(ctx context.Context, req *referralv1.GetReferralHistoryRequest) (*referralv1.GetReferralHistoryResponse, error) {
	hs, err := s.app.ReferralHistory(ctx, req.GetReferralId())
	if err != nil {
		return nil, err
	}
	out := &referralv1.GetReferralHistoryResponse{ReferralId: req.GetReferralId()}
	for _, h := range hs {
		t := &referralv1.ReferralTransition{
			FromStatus: protoenum.FromCode[commonv1.ReferralStatus](string(h.From)),
			ToStatus:   protoenum.FromCode[commonv1.ReferralStatus](string(h.To)),
			Side:       protoenum.FromCode[referralv1.TransitionSide](string(h.Side)),
			OrgOin:     h.OrgOIN, At: timestamppb.New(h.At),
		}
		t.DeclineReason, t.CancelReason, t.FailReason = protoconv.Reasons(h.To, h.Reason)
		out.Transitions = append(out.Transitions, t)
	}
	return out, nil
}

// referralFor is the referral as the calling organisation may see it (Referral.SharedWith).
func referralFor(ctx context.Context, r domain.Referral) *referralv1.Referral {
	caller, _ := identity.From(ctx)
	return referralToProto(r.SharedWith(caller.Org.OIN))
}

func referralToProto(r domain.Referral) *referralv1.Referral {
	out := &referralv1.Referral{
		Id: r.ID, Status: protoenum.FromCode[commonv1.ReferralStatus](string(r.Status)), ReferrerOin: r.ReferrerOIN,
		ReferrerUser: r.ReferrerUser, RecipientOin: r.RecipientOIN, ProvisionId: r.ProvisionID, CaseId: r.CaseID,
		IntakeId: r.IntakeID, GoalIds: r.GoalIDs, ResidentBsn: r.ResidentBSN, MunicipalityCode: r.Municipality,
		DistrictCode: r.District, Question: r.Question, ConsentId: r.ConsentID,
		LegalBasis: protoenum.FromCode[referralv1.LegalBasis](string(r.LegalBasis)),
		Priority:   protoenum.FromCode[referralv1.Priority](r.Priority), AcceptBy: timestamppb.New(r.AcceptBy),
		HoldReason: protoenum.FromCode[referralv1.HoldReason](r.HoldReason),
		Outcome:    protoenum.FromCode[referralv1.ReferralOutcome](r.Outcome), Note: r.Note, ReplacesReferralId: r.Replaces,
		LifeDomains: protoenum.LifeDomains(r.LifeDomains), CreatedAt: timestamppb.New(r.CreatedAt), UpdatedAt: timestamppb.New(r.UpdatedAt),
	}
	out.DeclineReason, out.CancelReason, out.FailReason = protoconv.Reasons(r.Status, r.Reason)
	for _, c := range r.Categories {
		out.SharedDataCategories = append(out.SharedDataCategories, protoenum.FromCode[referralv1.DataCategory](c))
	}
	return out
}
