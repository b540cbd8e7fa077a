package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// ResidentAccess writes case-direction's access-log entries under the pseudonym of each
// resident the case concerns — its household's current members as intake reported them — so
// a resident's access history finds every read or change of the case, its plan, evaluations,
// conferences and allocations, while case-direction stores no BSN. It is the accesslog.Recorder
// of the application; an entry about a case without known residents is written once, as is.
type ResidentAccess struct {
	log *accesslog.Logger
	db  *pgxdb.DB
}

// NewResidentAccess wraps the service's access log.
func NewResidentAccess(log *accesslog.Logger, db *pgxdb.DB) *ResidentAccess {
	return &ResidentAccess{log: log, db: db}
}

// Record writes e once per resident of its case, in the transaction of ctx.
func (r *ResidentAccess) Record(ctx context.Context, e accesslog.Entry) error {
	entries, err := r.expand(ctx, r.db.Q(ctx), e)
	if err != nil {
		return err
	}
	return r.log.RecordMany(ctx, entries)
}

// RecordMany writes every entry once per resident of its case, in one statement with the
// commit of the transaction of ctx (a list shows many cases at once).
func (r *ResidentAccess) RecordMany(ctx context.Context, entries []accesslog.Entry) error {
	var all []accesslog.Entry
	for _, e := range entries {
		expanded, err := r.expand(ctx, r.db.Q(ctx), e)
		if err != nil {
			return err
		}
		all = append(all, expanded...)
	}
	return r.log.RecordMany(ctx, all)
}

// RecordDetached writes e once per resident of its case, outside the transaction of ctx.
func (r *ResidentAccess) RecordDetached(ctx context.Context, e accesslog.Entry) error {
	entries, err := r.expand(ctx, r.db.Pool, e)
	if err != nil {
		return err
	}
	return r.log.RecordManyDetached(ctx, entries)
}

// EmergencyGrant is the access log's.
func (r *ResidentAccess) EmergencyGrant(ctx context.Context, objectType, objectID string) (bool, error) {
	return r.log.EmergencyGrant(ctx, objectType, objectID)
}

func (r *ResidentAccess) expand(ctx context.Context, q pgxdb.Querier, e accesslog.Entry) ([]accesslog.Entry, error) {
	if e.ObjectType != "case" || e.ResidentPseudonym != "" || uuid.Validate(e.ObjectID) != nil {
		return []accesslog.Entry{e}, nil
	}
	refs, err := residentsOf(ctx, q, e.ObjectID)
	if err != nil {
		return nil, err
	}
	pseudonyms := make([]string, 0, len(refs))
	for _, ref := range refs {
		pseudonyms = append(pseudonyms, ref.Pseudonym)
	}
	return accesslog.PerResident(e, pseudonyms), nil
}
