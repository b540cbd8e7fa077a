package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// CaseResidents keeps the residents of each case as case-direction reported them
// (case.residents_changed) and is provider-monitoring's logstore.ResidentLookup: an allocation
// of a case, or the case itself, concerns those residents, so access to it is logged under each
// of them (logstore.PerResidentRecorder) although provider-monitoring holds no BSN.
type CaseResidents struct{ db *pgxdb.DB }

// NewCaseResidents returns the store.
func NewCaseResidents(db *pgxdb.DB) *CaseResidents { return &CaseResidents{db: db} }

// Lookup is the logstore.ResidentLookup: residents of allocations (by number), of requests
// for allocation or change (by their allocation), of decisions (by their case) and of cases.
func (r *CaseResidents) Lookup(ctx context.Context, q pgxdb.Querier, objectType string, ids []string) (map[string][]string, error) {
	switch objectType {
	case "allocation":
		return logstore.CollectPseudonyms(q.Query(ctx, `
			SELECT a.number, r.pseudonym FROM allocations a JOIN case_residents r ON r.case_id = a.case_id
			WHERE a.number = ANY($1) ORDER BY 1, 2`, ids))
	case "decision":
		// A decision concerns the residents of its case; one drafted from an intake without
		// case direction has none known here (it is logged once, without a pseudonym).
		valid := pgxdb.UUIDs(ids)
		if len(valid) == 0 {
			return nil, nil
		}
		return logstore.CollectPseudonyms(q.Query(ctx, `
			SELECT d.id::text, r.pseudonym FROM decisions d JOIN case_residents r ON r.case_id = d.case_id
			WHERE d.id = ANY($1::uuid[]) ORDER BY 1, 2`, valid))
	case "allocation_request":
		// A request for change (317) concerns the residents of the allocation it would change;
		// a request for a new allocation (315) those of the allocation granting it made, once
		// there is one. A request for a case not yet known here has none (logged once).
		valid := pgxdb.UUIDs(ids)
		if len(valid) == 0 {
			return nil, nil
		}
		return logstore.CollectPseudonyms(q.Query(ctx, `
			SELECT q.id::text, r.pseudonym FROM allocation_requests q
			JOIN allocations a ON a.number = coalesce(q.allocation_number, q.resulting_allocation)
			JOIN case_residents r ON r.case_id = a.case_id
			WHERE q.id = ANY($1::uuid[]) ORDER BY 1, 2`, valid))
	case "case":
		valid := pgxdb.UUIDs(ids)
		if len(valid) == 0 {
			return nil, nil
		}
		return logstore.CollectPseudonyms(q.Query(ctx, `
			SELECT case_id::text, pseudonym FROM case_residents WHERE case_id = ANY($1::uuid[]) ORDER BY 1, 2`, valid))
	}
	return nil, nil
}

// OfCase returns the pseudonyms of the case's residents (app.KnownResidents); none for a case
// it has not heard of.
func (r *CaseResidents) OfCase(ctx context.Context, caseID string) ([]string, error) {
	id := pgxdb.UUIDs([]string{caseID})
	if len(id) == 0 {
		return nil, nil
	}
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT pseudonym FROM case_residents WHERE case_id = $1 ORDER BY 1`, id[0])
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SetCaseResidents replaces the residents of a case with pseudonyms. Both writes are deferred
// (pgxdb.DB.Defer): nothing needs their answer, and they go out with the transaction's next
// statement or its COMMIT.
func (r *CaseResidents) SetCaseResidents(ctx context.Context, caseID string, pseudonyms []string) error {
	return r.db.Tx(ctx, func(ctx context.Context) error {
		if err := r.db.Defer(ctx, `DELETE FROM case_residents WHERE case_id = $1 AND NOT (pseudonym = ANY($2))`, caseID, pseudonyms); err != nil {
			return err
		}
		return r.db.Defer(ctx, `INSERT INTO case_residents (case_id, pseudonym) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, caseID, pseudonyms)
	})
}
