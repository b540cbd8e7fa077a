package postgres

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog/logstore"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// CaseResidents is case-direction's logstore.ResidentLookup: a case concerns its household's
// current members as intake reported them. With it, access to a case, its plan, evaluations,
// conferences and allocations is logged under each of them (logstore.PerResidentRecorder),
// while case-direction stores no BSN.
func CaseResidents(ctx context.Context, q pgxdb.Querier, objectType string, ids []string) (map[string][]string, error) {
	if objectType != "case" {
		return nil, nil
	}
	valid := pgxdb.UUIDs(ids)
	if len(valid) == 0 {
		return nil, nil
	}
	return logstore.CollectPseudonyms(q.Query(ctx, `
		SELECT case_id::text, pseudonym FROM case_residents
		WHERE case_id = ANY($1::uuid[]) AND until IS NULL ORDER BY case_id, resident_id`, valid))
}
