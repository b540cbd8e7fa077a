package logstore

import (
	"context"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// ResidentLookup returns, for objects of one type, the pseudonyms of the residents each one
// concerns (object id → pseudonyms), in one query for all ids. A type the service does not
// relate to residents returns nothing, and its entries are written as they are.
type ResidentLookup func(ctx context.Context, q pgxdb.Querier, objectType string, ids []string) (map[string][]string, error)

// PerResidentRecorder is the Recorder of a service that stores no BSN but keeps records about
// households (a case, its plan, an allocation for it): it writes every entry once under each
// resident its object concerns, so a resident's access history finds every read or change of
// it. Entries that already name a resident, and objects without known residents, are written
// once, as they are. The residents of all entries of a call are looked up in one query per
// object type, not one per entry (a list logs a page of cases at once); an entry whose
// residents the caller read with the object (Entry.ResidentsRead) is not looked up.
type PerResidentRecorder struct {
	log    *Logger
	db     *pgxdb.DB
	lookup ResidentLookup
}

// NewPerResidentRecorder wraps a service's access log with its resident lookup.
func NewPerResidentRecorder(log *Logger, db *pgxdb.DB, lookup ResidentLookup) *PerResidentRecorder {
	return &PerResidentRecorder{log: log, db: db, lookup: lookup}
}

// Record writes e once per resident of its object, in the transaction of ctx.
func (r *PerResidentRecorder) Record(ctx context.Context, e accesslog.Entry) error {
	return r.RecordMany(ctx, []accesslog.Entry{e})
}

// RecordMany writes every entry once per resident of its object, in one statement with the
// commit of the transaction of ctx.
func (r *PerResidentRecorder) RecordMany(ctx context.Context, entries []accesslog.Entry) error {
	all, err := r.expand(ctx, r.db.Q(ctx), entries)
	if err != nil {
		return err
	}
	return r.log.RecordMany(ctx, all)
}

// RecordDetached writes e once per resident of its object, outside the transaction of ctx.
func (r *PerResidentRecorder) RecordDetached(ctx context.Context, e accesslog.Entry) error {
	all, err := r.expand(ctx, r.db.Pool, []accesslog.Entry{e})
	if err != nil {
		return err
	}
	return r.log.RecordManyDetached(ctx, all)
}

// EmergencyGrant is the access log's.
func (r *PerResidentRecorder) EmergencyGrant(ctx context.Context, objectType, objectID string) (bool, error) {
	return r.log.EmergencyGrant(ctx, objectType, objectID)
}

func (r *PerResidentRecorder) expand(ctx context.Context, q pgxdb.Querier, entries []accesslog.Entry) ([]accesslog.Entry, error) {
	type object struct{ typ, id string }
	ids := map[string][]string{}
	seen := map[object]bool{}
	for _, e := range entries {
		o := object{e.ObjectType, e.ObjectID}
		if e.ResidentPseudonym == "" && e.ObjectID != "" && !e.ResidentsRead && !seen[o] {
			seen[o] = true
			ids[e.ObjectType] = append(ids[e.ObjectType], e.ObjectID)
		}
	}
	residents := map[object][]string{}
	for typ, list := range ids {
		found, err := r.lookup(ctx, q, typ, list)
		if err != nil {
			return nil, err
		}
		for id, pseudonyms := range found {
			residents[object{typ, id}] = pseudonyms
		}
	}
	out := make([]accesslog.Entry, 0, len(entries))
	for _, e := range entries {
		switch {
		case e.ResidentPseudonym != "":
			out = append(out, e)
		case e.ResidentsRead:
			out = append(out, accesslog.PerResident(e, e.Residents)...)
		default:
			out = append(out, accesslog.PerResident(e, residents[object{e.ObjectType, e.ObjectID}])...)
		}
	}
	return out, nil
}

// CollectPseudonyms reads the rows of a query for (object id, pseudonym) into a
// ResidentLookup's answer: return accesslog.CollectPseudonyms(q.Query(ctx, sql, ids)).
func CollectPseudonyms(rows pgx.Rows, err error) (map[string][]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, err
		}
		out[id] = append(out[id], p)
	}
	return out, rows.Err()
}
