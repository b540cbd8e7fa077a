package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// ResidentAccess writes provider-monitoring's access-log entries about an allocation of a case
// (or about a case) under the pseudonym of each resident the case concerns, as case-direction
// reported them, so a resident's access history finds them although provider-monitoring holds
// no BSN. Entries about anything else are written as they are.
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
	if e.ResidentPseudonym != "" || e.ObjectID == "" {
		return []accesslog.Entry{e}, nil
	}
	var query string
	switch {
	case e.ObjectType == "allocation":
		query = `SELECT r.pseudonym FROM allocations a JOIN case_residents r ON r.case_id = a.case_id WHERE a.number = $1 ORDER BY 1`
	case e.ObjectType == "case" && uuid.Validate(e.ObjectID) == nil:
		query = `SELECT pseudonym FROM case_residents WHERE case_id = $1::uuid ORDER BY 1`
	default:
		return []accesslog.Entry{e}, nil
	}
	rows, err := q.Query(ctx, query, e.ObjectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pseudonyms []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		pseudonyms = append(pseudonyms, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return accesslog.PerResident(e, pseudonyms), nil
}

// SetCaseResidents replaces the residents of a case with pseudonyms.
func (r *ResidentAccess) SetCaseResidents(ctx context.Context, caseID string, pseudonyms []string) error {
	return r.db.Tx(ctx, func(ctx context.Context) error {
		q := r.db.Q(ctx)
		if _, err := q.Exec(ctx, `DELETE FROM case_residents WHERE case_id = $1 AND NOT (pseudonym = ANY($2))`, caseID, pseudonyms); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO case_residents (case_id, pseudonym) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, caseID, pseudonyms)
		return err
	})
}
