package logstore

import (
	"context"
	"time"
)

// Stored is an entry as the log holds it: with its sequence number, time and caller. A list
// entry is returned once for each object it shows about the resident asked for; Index is that
// object's place in the list entry (from 1), 0 for an entry about one object.
type Stored struct {
	ID                                  int64
	Index                               int64
	At                                  time.Time
	Action, ObjectType, ObjectID        string
	OrgOIN, OrgType, User, Role         string
	OnBehalfOf, Purpose, Route, Outcome string
	AccessPoint                         string
}

// Position is a place in the log, newest first: (entry id, index within a list entry).
type Position struct{ ID, Index int64 }

// ResidentEntries returns up to limit entries about the resident with pseudonym, made at or
// after since and before position before (newest first: by id, then by index within a list
// entry, both descending); in the transaction of ctx. Entries about one object are found
// through access_log_resident, sealed list entries through access_log_shown_residents_sealed
// (partial: the seal and cardinality tests let the planner use it), and list entries not yet
// sealed, a few seconds' worth, through the seal_seq index (seal_seq IS NULL).
func (l *Logger) ResidentEntries(ctx context.Context, pseudonym string, since time.Time, before Position, limit int) ([]Stored, error) {
	rows, err := l.db.Q(ctx).Query(ctx, `
		SELECT a.id, coalesce(s.n, 0), a.at, a.action, a.object_type, coalesce(s.object_id, a.object_id), a.org_oin, a.org_type,
		       a.user_id, a.role, a.on_behalf_of, a.purpose, a.route, a.outcome, a.access_point
		FROM access_log a
		LEFT JOIN LATERAL unnest(a.shown_objects, a.shown_residents) WITH ORDINALITY AS s(object_id, resident, n) ON true
		WHERE (a.resident_pseudonym = $1
		       OR (a.seal_seq IS NOT NULL AND cardinality(a.shown_residents) > 0 AND a.shown_residents @> ARRAY[$1::text])
		       OR (a.seal_seq IS NULL AND cardinality(a.shown_residents) > 0 AND a.shown_residents @> ARRAY[$1::text]))
		  AND coalesce(s.resident, a.resident_pseudonym) = $1
		  AND a.at >= $2 AND (a.id, coalesce(s.n, 0)) < ($3, $4)
		ORDER BY a.id DESC, 2 DESC LIMIT $5`,
		pseudonym, since, before.ID, before.Index, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Stored
	for rows.Next() {
		var e Stored
		if err := rows.Scan(&e.ID, &e.Index, &e.At, &e.Action, &e.ObjectType, &e.ObjectID, &e.OrgOIN, &e.OrgType, &e.User, &e.Role,
			&e.OnBehalfOf, &e.Purpose, &e.Route, &e.Outcome, &e.AccessPoint); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
