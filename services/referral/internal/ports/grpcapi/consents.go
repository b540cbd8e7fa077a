package grpcapi

import (
	"context"
	"regexp"
	"time"

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

var activityRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RecordConsent records a consent held by the caller.
func (s *Server) RecordConsent(ctx context.Context, req *referralv1.RecordConsentRequest) (*referralv1.RecordConsentResponse, error) {
	c, err := consentFromRequest(req)
	if err != nil {
		return nil, err
	}
	return idempotency.Do(ctx, s.idem, req, func() *referralv1.RecordConsentResponse { return &referralv1.RecordConsentResponse{} },
		func(ctx context.Context) (*referralv1.RecordConsentResponse, error) {
			out, err := s.app.RecordConsent(ctx, c)
			if err != nil {
				return nil, err
			}
			return &referralv1.RecordConsentResponse{Consent: consentToProto(out, s.app.Now())}, nil
		})
}

// consentFromRequest validates a new consent (every bad field at once) and maps it to the
// domain.
func consentFromRequest(req *referralv1.RecordConsentRequest) (domain.Consent, error) {
	var v apperr.Validation
	valid.BSN(&v, "resident_bsn", req.GetResidentBsn())
	v.Check(activityRe.MatchString(req.GetProcessingActivity()), "processing_activity", "a code of 1-64 letters, digits, '.', '-' or '_', e.g. referral")
	v.Check(len(req.GetRecipientOins()) > 0 && len(req.GetRecipientOins()) <= 50, "recipient_oins", "between 1 and 50 recipients")
	// recipient_oins[i]: each an OIN (the proto).
	cats := categoryCodes(&v, "data_categories", req.GetDataCategories())
	v.Check(len(cats) > 0, "data_categories", "at least one category")
	// municipality_code: required, a CBS code (the proto).
	c := domain.Consent{ResidentBSN: req.GetResidentBsn(), Activity: req.GetProcessingActivity(), Recipients: req.GetRecipientOins(),
		Categories: cats, Municipality: req.GetMunicipalityCode()}
	if req.GetValidFrom() != "" {
		c.ValidFrom = valid.Date(&v, "valid_from", req.GetValidFrom())
	}
	if req.GetValidUntil() != "" {
		until := valid.Date(&v, "valid_until", req.GetValidUntil())
		c.ValidUntil = &until
	}
	return c, v.Err()
}

// ListConsents lists the resident's consents the caller holds.
func (s *Server) ListConsents(ctx context.Context, req *referralv1.ListConsentsRequest) (*referralv1.ListConsentsResponse, error) {
	q, err := listConsentsQuery(req)
	if err != nil {
		return nil, err
	}
	cs, more, err := s.app.ListConsents(ctx, q.bsn, q.status, q.after, q.page.Size)
	if err != nil {
		return nil, err
	}
	now := s.app.Now()
	out := &referralv1.ListConsentsResponse{}
	for _, c := range cs {
		out.Consents = append(out.Consents, consentToProto(c, now))
	}
	if more {
		last := app.ConsentAt(cs[len(cs)-1])
		out.NextPageToken = paging.TokenAt(consentList(req), last.Time, last.ID)
	}
	return out, nil
}

// ConsentLimits are the page sizes of ListConsents.
var ConsentLimits = paging.Limits{Default: 100, Max: 500}

// consentList names the list under its resident and status. The BSN goes into the name hashed
// (with the rest of the filter), so a token does not carry it.
func consentList(req *referralv1.ListConsentsRequest) string {
	return paging.Scoped("referral.consents", req.GetResidentBsn(), req.GetStatus().String())
}

type consentsQuery struct {
	bsn    string
	status domain.ConsentStatus
	page   paging.Page
	after  *paging.At
}

func listConsentsQuery(req *referralv1.ListConsentsRequest) (consentsQuery, error) {
	var v apperr.Validation
	valid.BSN(&v, "resident_bsn", req.GetResidentBsn())
	st := ""
	if req.GetStatus() != referralv1.ConsentStatus_CONSENT_STATUS_UNSPECIFIED {
		st = protoenum.Required(&v, "status", req.GetStatus())
	}
	q := consentsQuery{bsn: req.GetResidentBsn(), status: domain.ConsentStatus(st)}
	q.page, q.after = paging.ParseAt(&v, consentList(req), ConsentLimits, req.GetPageSize(), req.GetPageToken())
	return q, v.Err()
}

// GetConsent returns a consent to its holder.
func (s *Server) GetConsent(ctx context.Context, req *referralv1.GetConsentRequest) (*referralv1.GetConsentResponse, error) {
	c, err := s.app.GetConsent(ctx, req.GetConsentId())
	if err != nil {
		return nil, err
	}
	return &referralv1.GetConsentResponse{Consent: consentToProto(c, s.app.Now())}, nil
}

// WithdrawConsent withdraws a consent and cancels the referrals resting on it.
func (s *Server) WithdrawConsent(ctx context.Context, req *referralv1.WithdrawConsentRequest) (*referralv1.WithdrawConsentResponse, error) {
	return idempotency.Do(ctx, s.idem, req, func() *referralv1.WithdrawConsentResponse { return &referralv1.WithdrawConsentResponse{} },
		func(ctx context.Context) (*referralv1.WithdrawConsentResponse, error) {
			c, cancelled, err := s.app.WithdrawConsent(ctx, req.GetConsentId())
			if err != nil {
				return nil, err
			}
			return &referralv1.WithdrawConsentResponse{Consent: consentToProto(c, s.app.Now()), CancelledReferralIds: cancelled}, nil
		})
}

func consentToProto(c domain.Consent, now time.Time) *referralv1.Consent {
	out := &referralv1.Consent{
		Id: c.ID, ResidentBsn: c.ResidentBSN, HolderOin: c.HolderOIN, ProcessingActivity: c.Activity, RecipientOins: c.Recipients,
		ValidFrom: c.ValidFrom.Format(valid.DateLayout), RecordedAt: timestamppb.New(c.RecordedAt), RecordedBy: c.RecordedBy,
		Status: protoenum.FromCode[referralv1.ConsentStatus](string(c.StatusAt(now))), MunicipalityCode: c.Municipality,
	}
	for _, cat := range c.Categories {
		out.DataCategories = append(out.DataCategories, protoenum.FromCode[referralv1.DataCategory](cat))
	}
	if c.ValidUntil != nil {
		out.ValidUntil = c.ValidUntil.Format(valid.DateLayout)
	}
	if c.WithdrawnAt != nil {
		out.WithdrawnAt = timestamppb.New(*c.WithdrawnAt)
	}
	return out
}
