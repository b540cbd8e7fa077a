package logserver

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var objectIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// emergencyTypesText says which record types a grant may name in this service.
func emergencyTypesText(types []string) string {
	if len(types) == 0 {
		return "no record of this service is opened by an emergency grant"
	}
	return "one of the record types an emergency grant opens here: " + strings.Join(types, ", ")
}

// StartEmergencyAccess records a grant for the calling professional.
func (s *Server) StartEmergencyAccess(ctx context.Context, req *accesslogv1.StartEmergencyAccessRequest) (*accesslogv1.StartEmergencyAccessResponse, error) {
	var v apperr.Validation
	v.Check(slices.Contains(s.emergencyTypes, req.GetObjectType()), "object_type", emergencyTypesText(s.emergencyTypes))
	// One record's id (a UUID, an allocation or decision number): no wildcard or list, and
	// never only digits. No record's id is, and a BSN typed here would be kept in clear in the
	// grant and the append-only access log.
	v.Check(objectIDRe.MatchString(req.GetObjectId()) && strings.Trim(req.GetObjectId(), "0123456789") != "", "object_id",
		"required: the id of one record (a UUID, an allocation number), at most 100 letters, digits, '.', '_' or '-', not a number alone (never a BSN)")
	// Twenty characters of reason, not of spaces around it.
	v.Check(utf8.ValidString(req.GetReason()) && utf8.RuneCountInString(strings.TrimSpace(req.GetReason())) >= accesslog.MinEmergencyReason && len(req.GetReason()) <= 2000,
		"reason", "required: why this is an emergency, 20 to 2000 characters")
	period := time.Duration(req.GetDurationMinutes()) * time.Minute
	v.Check(period >= 0 && period <= accesslog.MaxEmergencyPeriod, "duration_minutes", "0 (one hour) to 240")
	if err := v.Err(); err != nil {
		return nil, err
	}
	// A grant opens a resident's record and its reason is about the resident.
	if err := authz.ResidentDataError(caller(ctx)); err != nil {
		return nil, err
	}
	if period == 0 {
		period = accesslog.DefaultEmergencyPeriod
	}
	return idempotency.Do(ctx, s.idem, req, func() *accesslogv1.StartEmergencyAccessResponse { return &accesslogv1.StartEmergencyAccessResponse{} },
		func(ctx context.Context) (*accesslogv1.StartEmergencyAccessResponse, error) {
			c, _ := identity.From(ctx)
			now := time.Now().UTC()
			g := &accesslogv1.EmergencyGrant{Id: uuid.NewString(), ObjectType: req.GetObjectType(), ObjectId: req.GetObjectId(),
				OrganisationOin: c.Org.OIN, User: c.User, Role: c.Role, Reason: req.GetReason(),
				GrantedAt: timestamppb.New(now), ExpiresAt: timestamppb.New(now.Add(period))}
			if err := s.log.AddGrant(ctx, logstore.Grant{ID: g.Id, ObjectType: g.ObjectType, ObjectID: g.ObjectId, OrgOIN: g.OrganisationOin,
				User: g.User, Role: g.Role, SealedReason: s.prot.Seal(g.Reason, logstore.ReasonAAD(g.Id)),
				GrantedAt: now, ExpiresAt: now.Add(period)}); err != nil {
				return nil, err
			}
			if err := s.log.Record(ctx, accesslog.Entry{Action: "accesslog.emergency.start", ObjectType: g.ObjectType, ObjectID: g.ObjectId,
				Route: accesslog.RouteEmergency, Outcome: accesslog.OutcomeGranted}); err != nil {
				return nil, err
			}
			return &accesslogv1.StartEmergencyAccessResponse{Grant: g}, nil
		})
}

// ListEmergencyAccess lists grants for the privacy officer's review.
func (s *Server) ListEmergencyAccess(ctx context.Context, req *accesslogv1.ListEmergencyAccessRequest) (*accesslogv1.ListEmergencyAccessResponse, error) {
	// The grants name residents' records and say why, about the resident.
	if err := authz.ResidentDataError(caller(ctx)); err != nil {
		return nil, err
	}
	since := time.Now().AddDate(-100, 0, 0)
	if req.GetSince() != nil {
		since = req.GetSince().AsTime()
	}
	var v apperr.Validation
	page, at := paging.ParseAt(&v, emergencyList(req), EmergencyLimits, req.GetPageSize(), req.GetPageToken())
	if at != nil && uuid.Validate(at.ID) != nil {
		v.Add("page_token", "not a token from a previous page of this list")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.mayReview(ctx, "accesslog.emergency.review"); err != nil {
		return nil, err
	}
	found, err := s.log.Grants(ctx, since, at, page.Size+1)
	if err != nil {
		return nil, err
	}
	grants, more := paging.Cut(found, page.Size)
	resp := &accesslogv1.ListEmergencyAccessResponse{}
	if more {
		last := grants[len(grants)-1]
		resp.NextPageToken = paging.TokenAt(emergencyList(req), last.GrantedAt, last.ID)
	}
	for _, g := range grants {
		reason := g.Reason
		if g.SealedReason != nil {
			if reason, err = s.prot.Open(g.SealedReason, logstore.ReasonAAD(g.ID)); err != nil {
				return nil, apperr.FailedPrecondition("emergency grant " + g.ID + ": its reason was sealed with an encryption key the service no longer has")
			}
		}
		resp.Grants = append(resp.Grants, &accesslogv1.EmergencyGrant{Id: g.ID, ObjectType: g.ObjectType, ObjectId: g.ObjectID,
			OrganisationOin: g.OrgOIN, User: g.User, Role: g.Role, Reason: reason,
			GrantedAt: timestamppb.New(g.GrantedAt), ExpiresAt: timestamppb.New(g.ExpiresAt)})
	}
	if err := s.log.Record(ctx, accesslog.Entry{Action: "accesslog.emergency.review", ObjectType: "emergency_grants", ObjectID: "*",
		Route: accesslog.RouteService, Outcome: accesslog.OutcomeGranted}); err != nil {
		return nil, err
	}
	return resp, nil
}

// EmergencyLimits are the page sizes of the emergency grants list.
var EmergencyLimits = paging.Limits{Default: 100, Max: 1000}

// emergencyList names the grants list as asked since a time: a token taken with one since is
// refused with another.
func emergencyList(req *accesslogv1.ListEmergencyAccessRequest) string {
	since := ""
	if req.GetSince() != nil {
		since = req.GetSince().AsTime().UTC().Format(time.RFC3339Nano)
	}
	return paging.Scoped("accesslog.emergency_grants", since)
}

// caller is the caller of ctx (the zero Caller outside a call).
func caller(ctx context.Context) identity.Caller {
	c, _ := identity.From(ctx)
	return c
}
