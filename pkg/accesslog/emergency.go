package accesslog

import (
	"context"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// RouteEmergency marks access under an emergency grant ("break the glass").
const RouteEmergency = "EMERGENCY"

// Emergency access limits.
const (
	MinEmergencyReason     = 20
	DefaultEmergencyPeriod = time.Hour
	MaxEmergencyPeriod     = 4 * time.Hour
)

// EmergencyChecker is the port services use in their per-object checks: when the normal
// rules refuse, an active grant for exactly this caller and record allows the read, which
// is then logged with RouteEmergency.
type EmergencyChecker interface {
	EmergencyGrant(ctx context.Context, objectType, objectID string) (bool, error)
}

// EmergencyGrant reports whether the caller (organisation and user) holds an active grant
// for the record.
func (l *Logger) EmergencyGrant(ctx context.Context, objectType, objectID string) (bool, error) {
	c, ok := identity.From(ctx)
	if !ok || c.Org.Type == identity.OrgService {
		return false, nil
	}
	var n int
	err := l.db.Q(ctx).QueryRow(ctx, `
		SELECT count(*) FROM emergency_grants
		WHERE object_type = $1 AND object_id = $2 AND org_oin = $3 AND user_id = $4 AND granted_at <= now() AND expires_at > now()`,
		objectType, objectID, c.Org.OIN, c.User).Scan(&n)
	return n > 0, err
}

var objectTypeRe = regexp.MustCompile(`^[a-z][a-z_]{0,31}$`)

// StartEmergencyAccess records a grant for the calling professional.
func (s *Server) StartEmergencyAccess(ctx context.Context, req *accesslogv1.StartEmergencyAccessRequest) (*accesslogv1.StartEmergencyAccessResponse, error) {
	var v apperr.Validation
	v.Check(objectTypeRe.MatchString(req.GetObjectType()), "object_type", "a record type as in the access log, e.g. case, intake, signal")
	v.Check(req.GetObjectId() != "" && len(req.GetObjectId()) <= 100 && utf8.ValidString(req.GetObjectId()), "object_id", "required, at most 100 characters")
	v.Check(utf8.ValidString(req.GetReason()) && utf8.RuneCountInString(req.GetReason()) >= MinEmergencyReason && len(req.GetReason()) <= 2000,
		"reason", "required: why this is an emergency, at least 20 characters")
	period := time.Duration(req.GetDurationMinutes()) * time.Minute
	v.Check(period >= 0 && period <= MaxEmergencyPeriod, "duration_minutes", "0 (one hour) to 240")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if period == 0 {
		period = DefaultEmergencyPeriod
	}
	return idempotency.Do(ctx, s.idem, req, func() *accesslogv1.StartEmergencyAccessResponse { return &accesslogv1.StartEmergencyAccessResponse{} },
		func(ctx context.Context) (*accesslogv1.StartEmergencyAccessResponse, error) {
			c, _ := identity.From(ctx)
			now := time.Now().UTC()
			g := &accesslogv1.EmergencyGrant{Id: uuid.NewString(), ObjectType: req.GetObjectType(), ObjectId: req.GetObjectId(),
				OrganisationOin: c.Org.OIN, User: c.User, Role: c.Role, Reason: req.GetReason(),
				GrantedAt: timestamppb.New(now), ExpiresAt: timestamppb.New(now.Add(period))}
			if _, err := s.log.db.Q(ctx).Exec(ctx, `
				INSERT INTO emergency_grants (id, object_type, object_id, org_oin, user_id, role, reason, granted_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				g.Id, g.ObjectType, g.ObjectId, g.OrganisationOin, g.User, g.Role, g.Reason, now, now.Add(period)); err != nil {
				return nil, err
			}
			if err := s.log.Record(ctx, Entry{Action: "accesslog.emergency.start", ObjectType: g.ObjectType, ObjectID: g.ObjectId,
				Route: RouteEmergency, Outcome: OutcomeGranted}); err != nil {
				return nil, err
			}
			return &accesslogv1.StartEmergencyAccessResponse{Grant: g}, nil
		})
}

// ListEmergencyAccess lists grants for the privacy officer's review.
func (s *Server) ListEmergencyAccess(ctx context.Context, req *accesslogv1.ListEmergencyAccessRequest) (*accesslogv1.ListEmergencyAccessResponse, error) {
	if err := s.mayReview(ctx, "accesslog.emergency.review"); err != nil {
		return nil, err
	}
	since := time.Now().AddDate(-100, 0, 0)
	if req.GetSince() != nil {
		since = req.GetSince().AsTime()
	}
	rows, err := s.log.db.Pool.Query(ctx, `
		SELECT id::text, object_type, object_id, org_oin, user_id, role, reason, granted_at, expires_at
		FROM emergency_grants WHERE granted_at >= $1 ORDER BY granted_at DESC LIMIT 1000`, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &accesslogv1.ListEmergencyAccessResponse{}
	for rows.Next() {
		var g accesslogv1.EmergencyGrant
		var at, until time.Time
		if err := rows.Scan(&g.Id, &g.ObjectType, &g.ObjectId, &g.OrganisationOin, &g.User, &g.Role, &g.Reason, &at, &until); err != nil {
			return nil, err
		}
		g.GrantedAt, g.ExpiresAt = timestamppb.New(at), timestamppb.New(until)
		resp.Grants = append(resp.Grants, &g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.log.Record(ctx, Entry{Action: "accesslog.emergency.review", ObjectType: "emergency_grants", ObjectID: "*",
		Route: RouteService, Outcome: OutcomeGranted}); err != nil {
		return nil, err
	}
	return resp, nil
}
