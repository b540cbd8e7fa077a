package accesslog

import (
	"context"
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/observability"
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

// RecordMany writes one entry per element of entries, with the caller of ctx, in one statement
// (sent with the commit of the transaction of ctx, see pgxdb.DB.Defer). A list RPC shows many
// residents at once and must log every one of them; one INSERT per row would cost a round
// trip each. Every entry is its own row, exactly as Record would write it.
func (l *Logger) RecordMany(ctx context.Context, entries []Entry) error {
	return l.write(ctx, entries, false)
}

// RecordManyDetached writes entries at once, outside the transaction of ctx (as
// RecordDetached does for one entry), e.g. refusals inside a transaction that rolls back.
func (l *Logger) RecordManyDetached(ctx context.Context, entries []Entry) error {
	return l.write(ctx, entries, true)
}

// insertEntries is the one statement every entry is written with: the caller's columns once
// ($7–$14), the entries' own as arrays in the order given (WITH ORDINALITY: the id sequence,
// and so the hash chain, follows it).
const insertEntries = `
	INSERT INTO access_log (action, object_type, object_id, resident_pseudonym, user_id, role, org_oin, org_type,
	                        on_behalf_of, purpose, access_point, route, outcome, trace_id)
	SELECT e.action, e.object_type, e.object_id, e.pseudonym, $7, $8, $9, $10, $11, $12, $13, e.route, e.outcome, $14
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
	     WITH ORDINALITY AS e(action, object_type, object_id, pseudonym, route, outcome, n)
	ORDER BY e.n`

// write writes entries with the caller of ctx: deferred to the commit of the caller's
// transaction (one round trip for all of a request's entries and events, see pgxdb.DB.Defer),
// or, detached, at once on the pool.
func (l *Logger) write(ctx context.Context, entries []Entry, detached bool) error {
	if len(entries) == 0 {
		return nil
	}
	c, ok := identity.From(ctx)
	if !ok {
		return fmt.Errorf("accesslog: no caller in context")
	}
	n := len(entries)
	action, objType, objID, pseudo, route, outcome := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range entries {
		if e.Outcome == "" {
			e.Outcome = OutcomeGranted
		}
		action[i], objType[i], objID[i], pseudo[i], route[i], outcome[i] = e.Action, e.ObjectType, e.ObjectID, e.ResidentPseudonym, e.Route, e.Outcome
	}
	args := []any{action, objType, objID, pseudo, route, outcome, c.User, c.Role, c.Org.OIN, string(c.Org.Type),
		c.OnBehalfOf, c.Purpose, l.accessPoint(ctx), observability.TraceID(ctx)}
	var err error
	if detached {
		_, err = l.db.Pool.Exec(ctx, insertEntries, args...)
	} else {
		err = l.db.Defer(ctx, insertEntries, args...)
	}
	if err != nil {
		return fmt.Errorf("accesslog: %w", err)
	}
	return nil
}
