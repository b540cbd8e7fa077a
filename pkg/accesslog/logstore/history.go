package logstore

import (
	"context"
	"time"
)

// Stored is an entry as the log holds it: with its sequence number, time and caller.
type Stored struct {
	ID                                  int64
	At                                  time.Time
	Action, ObjectType, ObjectID        string
	OrgOIN, OrgType, User, Role         string
	OnBehalfOf, Purpose, Route, Outcome string
	AccessPoint                         string
}

// ResidentEntries returns up to limit entries about the resident with pseudonym, made at or
// after since and with an id below before, newest first; in the transaction of ctx.
func (l *Logger) ResidentEntries(ctx context.Context, pseudonym string, since time.Time, before int64, limit int) ([]Stored, error) {
	rows, err := l.db.Q(ctx).Query(ctx, `
		SELECT id, at, action, object_type, object_id, org_oin, org_type, user_id, role, on_behalf_of, purpose, route, outcome, access_point
		FROM access_log WHERE resident_pseudonym = $1 AND at >= $2 AND id < $3 ORDER BY id DESC LIMIT $4`,
		pseudonym, since, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Stored
	for rows.Next() {
		var e Stored
		if err := rows.Scan(&e.ID, &e.At, &e.Action, &e.ObjectType, &e.ObjectID, &e.OrgOIN, &e.OrgType, &e.User, &e.Role,
			&e.OnBehalfOf, &e.Purpose, &e.Route, &e.Outcome, &e.AccessPoint); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
