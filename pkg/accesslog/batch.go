package accesslog

import (
	"context"
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/observability"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"google.golang.org/grpc"
)

// PerResident returns e once for each pseudonym: a record about a household (a case, its plan,
// an allocation for it) is findable in the access history of every resident it concerns. With
// no pseudonyms it returns e itself, so the access is still logged.
func PerResident(e Entry, pseudonyms []string) []Entry {
	if len(pseudonyms) == 0 {
		return []Entry{e}
	}
	out := make([]Entry, 0, len(pseudonyms))
	for _, p := range pseudonyms {
		c := e
		c.ResidentPseudonym = p
		out = append(out, c)
	}
	return out
}

// RecordMany writes entries with the caller of ctx in one statement, in the transaction of ctx
// when there is one (as Record does for one entry).
func (l *Logger) RecordMany(ctx context.Context, entries []Entry) error {
	return l.recordMany(ctx, l.db.Q(ctx), entries)
}

// RecordManyDetached writes entries outside the transaction of ctx (as RecordDetached).
func (l *Logger) RecordManyDetached(ctx context.Context, entries []Entry) error {
	return l.recordMany(ctx, l.db.Pool, entries)
}

// recordMany inserts every entry with one INSERT … SELECT FROM unnest: one round trip however
// many residents or objects an access touches.
func (l *Logger) recordMany(ctx context.Context, q pgxdb.Querier, entries []Entry) error {
	switch len(entries) {
	case 0:
		return nil
	case 1:
		return l.record(ctx, q, entries[0])
	}
	c, ok := identity.From(ctx)
	if !ok {
		return fmt.Errorf("accesslog: no caller in context")
	}
	accessPoint := l.service
	if m, ok := grpc.Method(ctx); ok {
		accessPoint = l.service + " " + m
	}
	n := len(entries)
	actions, types, ids, pseudonyms, routes, outcomes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range entries {
		if e.Outcome == "" {
			e.Outcome = OutcomeGranted
		}
		actions[i], types[i], ids[i], pseudonyms[i], routes[i], outcomes[i] = e.Action, e.ObjectType, e.ObjectID, e.ResidentPseudonym, e.Route, e.Outcome
	}
	_, err := q.Exec(ctx, `
		INSERT INTO access_log (action, object_type, object_id, resident_pseudonym, user_id, role, org_oin, org_type,
		                        on_behalf_of, purpose, access_point, route, outcome, trace_id)
		SELECT u.action, u.object_type, u.object_id, u.pseudonym, $7, $8, $9, $10, $11, $12, $13, u.route, u.outcome, $14
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
		     WITH ORDINALITY AS u(action, object_type, object_id, pseudonym, route, outcome, n)
		ORDER BY u.n`,
		actions, types, ids, pseudonyms, routes, outcomes,
		c.User, c.Role, c.Org.OIN, string(c.Org.Type), c.OnBehalfOf, c.Purpose, accessPoint, observability.TraceID(ctx))
	if err != nil {
		return fmt.Errorf("accesslog: %w", err)
	}
	return nil
}
