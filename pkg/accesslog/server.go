package accesslog

import (
	"context"
	"strconv"
	"time"

	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/valid"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Policy is the rule set of the access-log service, merged into every service's policy.
var Policy = authz.Policy{
	accesslogv1.AccessLogService_ListResidentAccess_FullMethodName: {
		OrgTypes: []identity.OrgType{identity.OrgMunicipality, identity.OrgService},
		Roles:    []string{"privacy_officer"},
	},
	accesslogv1.AccessLogService_ListEmergencyAccess_FullMethodName: {
		OrgTypes: []identity.OrgType{identity.OrgMunicipality, identity.OrgService},
		Roles:    []string{"privacy_officer"},
	},
	// Professionals who may face an acute situation about a resident.
	accesslogv1.AccessLogService_StartEmergencyAccess_FullMethodName: {
		OrgTypes: []identity.OrgType{identity.OrgTeam, identity.OrgGP, identity.OrgPracticeNurse, identity.OrgVeiligThuis,
			identity.OrgProvider, identity.OrgMunicipality},
	},
}

// Server serves a service's access log to the resident's right of access.
type Server struct {
	accesslogv1.UnimplementedAccessLogServiceServer
	log    *Logger
	pseudo *bsn.Protector
	idem   *idempotency.Store
	// officers are the organisations whose privacy officers may read this deployment's
	// access log. The log holds entries of every municipality in the region, so being a
	// municipality is not enough: only the data-protection function of the regional
	// arrangement (and Wijkbrug services) may read it.
	officers map[string]bool
}

// NewServer returns the server; officerOINs are the organisations whose privacy officers may
// read the log.
func NewServer(l *Logger, p *bsn.Protector, idem *idempotency.Store, officerOINs []string) *Server {
	officers := map[string]bool{}
	for _, o := range officerOINs {
		officers[o] = true
	}
	return &Server{log: l, pseudo: p, idem: idem, officers: officers}
}

// mayReview allows Wijkbrug services and the configured privacy-officer organisations; any
// other caller that passed the per-method policy is refused and the refusal logged.
func (s *Server) mayReview(ctx context.Context, action string) error {
	c, _ := identity.From(ctx)
	if c.Org.Type == identity.OrgService || s.officers[c.Org.OIN] {
		return nil
	}
	if err := s.log.RecordDetached(ctx, Entry{Action: action, ObjectType: "access_log", ObjectID: "*", Route: RouteNotAllowed, Outcome: OutcomeDenied}); err != nil {
		return err
	}
	return apperr.PermissionDenied("this organisation is not a privacy officer of this deployment (WIJKBRUG_PRIVACY_OFFICER_OINS)")
}

// ListResidentAccess lists the entries about one resident, newest first, and logs the read.
func (s *Server) ListResidentAccess(ctx context.Context, req *accesslogv1.ListResidentAccessRequest) (*accesslogv1.ListResidentAccessResponse, error) {
	var v apperr.Validation
	valid.BSN(&v, "resident_bsn", req.GetResidentBsn())
	size := int(req.GetPageSize())
	v.Check(size >= 0 && size <= 1000, "page_size", "at most 1000")
	var cursor int64 = 1<<63 - 1
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.ParseInt(t, 10, 64)
		v.Check(err == nil && n > 0, "page_token", "not a token from a previous response")
		cursor = n
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.mayReview(ctx, "accesslog.resident_access.read"); err != nil {
		return nil, err
	}
	if size == 0 {
		size = 100
	}
	pseudonym := s.pseudo.Pseudonym(req.GetResidentBsn())
	since := req.GetSince().AsTime()
	if req.GetSince() == nil {
		since = since.AddDate(-100, 0, 0)
	}
	resp := &accesslogv1.ListResidentAccessResponse{}
	err := s.log.db.Tx(ctx, func(ctx context.Context) error {
		rows, err := s.log.db.Q(ctx).Query(ctx, `
			SELECT id, at, action, object_type, object_id, org_oin, org_type, user_id, role, on_behalf_of, purpose, route, outcome, access_point
			FROM access_log WHERE resident_pseudonym = $1 AND at >= $2 AND id < $3 ORDER BY id DESC LIMIT $4`,
			pseudonym, since, cursor, size+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		var last int64
		for rows.Next() {
			var id int64
			var e accesslogv1.AccessEntry
			var (
				at      time.Time
				orgType string
			)
			if err := rows.Scan(&id, &at, &e.Action, &e.ObjectType, &e.ObjectId, &e.OrganisationOin, &orgType, &e.User, &e.Role,
				&e.OnBehalfOf, &e.Purpose, &e.Route, &e.Outcome, &e.AccessPoint); err != nil {
				return err
			}
			e.OrganisationType = protoenum.FromCode[commonv1.OrganisationType](orgType)
			if len(resp.Entries) == size {
				resp.NextPageToken = strconv.FormatInt(last, 10)
				break
			}
			e.At = timestamppb.New(at)
			resp.Entries = append(resp.Entries, &e)
			last = id
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		// The right of access is itself an access to the resident's data.
		return s.log.Record(ctx, Entry{Action: "accesslog.resident_access.read", ObjectType: "access_log", ObjectID: pseudonym,
			ResidentPseudonym: pseudonym, Route: RouteService, Outcome: OutcomeGranted})
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
