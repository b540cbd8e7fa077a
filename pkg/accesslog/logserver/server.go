// Package logserver serves a service's access log over gRPC (AccessLogService): the
// resident's right of access for privacy officers, and emergency grants.
package logserver

import (
	"context"
	"strconv"
	"strings"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	accesslogv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/accesslog/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	"github.com/wijkbrug/wijkbrug/pkg/idempotency"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/protoenum"
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
	log  *logstore.Logger
	prot *bsn.Protector
	idem *idempotency.Store
	// officers are the organisations whose privacy officers may read this deployment's
	// access log. The log holds entries of every municipality in the region, so being a
	// municipality is not enough: only the data-protection function of the regional
	// arrangement (and Wijkbrug services) may read it.
	officers map[string]bool
	// emergencyTypes are the record types a grant may name here (svc.Spec.EmergencyTypes).
	emergencyTypes []string
}

// New returns the server; officerOINs are the organisations whose privacy officers may
// read the log.
func New(l *logstore.Logger, p *bsn.Protector, idem *idempotency.Store, officerOINs, emergencyTypes []string) *Server {
	officers := map[string]bool{}
	for _, o := range officerOINs {
		officers[o] = true
	}
	return &Server{log: l, prot: p, idem: idem, officers: officers, emergencyTypes: emergencyTypes}
}

// mayReview allows Wijkbrug services and the configured privacy-officer organisations; any
// other caller that passed the per-method policy is refused and the refusal logged.
func (s *Server) mayReview(ctx context.Context, action string) error {
	c, _ := identity.From(ctx)
	if c.Org.Type == identity.OrgService || s.officers[c.Org.OIN] {
		return nil
	}
	if err := s.log.RecordDetached(ctx, accesslog.Entry{Action: action, ObjectType: "access_log", ObjectID: "*", Route: accesslog.RouteNotAllowed, Outcome: accesslog.OutcomeDenied}); err != nil {
		return err
	}
	return apperr.PermissionDenied("this organisation is not a privacy officer of this deployment (WIJKBRUG_PRIVACY_OFFICER_OINS)")
}

// ListResidentAccess lists the entries about one resident, newest first, and logs the read.
func (s *Server) ListResidentAccess(ctx context.Context, req *accesslogv1.ListResidentAccessRequest) (*accesslogv1.ListResidentAccessResponse, error) {
	var v apperr.Validation
	valid.BSN(&v, "resident_bsn", req.GetResidentBsn())
	size := int(req.GetPageSize())
	v.Check(size >= 0 && size <= 1000, "page_size", "must be 1-1000 (0 = 100)")
	cursor := logstore.Position{ID: 1<<63 - 1, Index: 1<<63 - 1}
	if t := req.GetPageToken(); t != "" {
		p, ok := parseToken(t)
		v.Check(ok, "page_token", "not a token from a previous response")
		cursor = p
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
	pseudonym := s.prot.Pseudonym(req.GetResidentBsn())
	since := req.GetSince().AsTime()
	if req.GetSince() == nil {
		since = since.AddDate(-100, 0, 0)
	}
	resp := &accesslogv1.ListResidentAccessResponse{}
	err := s.log.Tx(ctx, func(ctx context.Context) error {
		found, err := s.log.ResidentEntries(ctx, pseudonym, since, cursor, size+1)
		if err != nil {
			return err
		}
		for i, st := range found {
			if i == size {
				resp.NextPageToken = formatToken(found[i-1])
				break
			}
			resp.Entries = append(resp.Entries, &accesslogv1.AccessEntry{At: timestamppb.New(st.At), Action: st.Action,
				ObjectType: st.ObjectType, ObjectId: st.ObjectID, OrganisationOin: st.OrgOIN,
				OrganisationType: protoenum.FromCode[commonv1.OrganisationType](st.OrgType), User: st.User, Role: st.Role,
				OnBehalfOf: st.OnBehalfOf, Purpose: st.Purpose, Route: st.Route, Outcome: st.Outcome, AccessPoint: st.AccessPoint})
		}
		// The right of access is itself an access to the resident's data.
		return s.log.Record(ctx, accesslog.Entry{Action: "accesslog.resident_access.read", ObjectType: "access_log", ObjectID: pseudonym,
			ResidentPseudonym: pseudonym, Route: accesslog.RouteService, Outcome: accesslog.OutcomeGranted})
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// formatToken is the page token after entry e: its id, and for an object of a list entry its
// index ("id.index"), so a page may end inside a list entry.
func formatToken(e logstore.Stored) string {
	t := strconv.FormatInt(e.ID, 10)
	if e.Index > 0 {
		t += "." + strconv.FormatInt(e.Index, 10)
	}
	return t
}

// parseToken reads a token of formatToken ("id" or "id.index").
func parseToken(t string) (logstore.Position, bool) {
	id, index, dotted := strings.Cut(t, ".")
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return logstore.Position{}, false
	}
	p := logstore.Position{ID: n}
	if dotted {
		if p.Index, err = strconv.ParseInt(index, 10, 64); err != nil || p.Index <= 0 {
			return logstore.Position{}, false
		}
	}
	return p, true
}
