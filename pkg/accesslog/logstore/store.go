// Package logstore is the PostgreSQL adapter of the access log (package accesslog is its
// port): it writes entries in the caller's transaction when there is one, so a change and its
// log entry commit together; it seals them in a keyed hash chain, exports signed checkpoints
// to NATS and verifies the chain against them; and it keeps emergency grants.
package logstore

import (
	"context"
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/observability"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"google.golang.org/grpc"
)

// Logger writes entries for one service; it implements accesslog.Recorder.
type Logger struct {
	db      *pgxdb.DB
	service string
}

// New returns a logger.
func New(db *pgxdb.DB, service string) *Logger { return &Logger{db: db, service: service} }

// Record writes e with the caller of ctx, in the transaction of ctx when there is one. A
// failure to log fails the operation: personal data must not be touched without a trace.
func (l *Logger) Record(ctx context.Context, e accesslog.Entry) error {
	return l.write(ctx, []accesslog.Entry{e}, false)
}

// RecordDetached writes e outside the transaction of ctx. A refused change rolls back the
// transaction it ran in (typically the idempotency key's), and with it anything logged there;
// the refusal itself must stay on record. Caller, gRPC method, trace and deadline still come
// from ctx.
func (l *Logger) RecordDetached(ctx context.Context, e accesslog.Entry) error {
	return l.write(ctx, []accesslog.Entry{e}, true)
}

// accessPoint is the service and, in a call, the gRPC method through which data was accessed.
func (l *Logger) accessPoint(ctx context.Context) string {
	if m, ok := grpc.Method(ctx); ok {
		return l.service + " " + m
	}
	return l.service
}

// RecordMany writes entries with the caller of ctx, in one statement (sent with the commit of
// the transaction of ctx, see pgxdb.DB.Defer). A list RPC shows many residents at once and
// must log every one of them: entries that differ only in their object and resident (same
// action, object type, route and outcome) are written as one list entry naming every object
// and resident in order (shown_objects, shown_residents), which is written once and sealed
// once; one row per resident shown cost a list of 50 cases 50 rows, each rewritten by the
// sealer. The view access_log_entries shows the log one row per object and resident again.
func (l *Logger) RecordMany(ctx context.Context, entries []accesslog.Entry) error {
	return l.write(ctx, entries, false)
}

// RecordManyDetached writes entries at once, outside the transaction of ctx (as
// RecordDetached does for one entry), e.g. refusals inside a transaction that rolls back.
func (l *Logger) RecordManyDetached(ctx context.Context, entries []accesslog.Entry) error {
	return l.write(ctx, entries, true)
}

// insertEntries is the one statement every entry is written with: the caller's columns once
// ($8–$15), the entries' own as arrays in the order given, with the group ($1) each belongs to.
// A group of one is written as an entry about one object; a larger group as one list entry
// with the objects and residents in their order. Rows are inserted in the order of their
// groups' first entries (the id sequence, and so the hash chain, follows it).
const insertEntries = `
	INSERT INTO access_log (action, object_type, object_id, resident_pseudonym, shown_objects, shown_residents,
	                        user_id, role, org_oin, org_type, on_behalf_of, purpose, access_point, route, outcome, trace_id)
	SELECT e.action, e.object_type,
	       CASE WHEN count(*) = 1 THEN min(e.object_id) ELSE '' END,
	       CASE WHEN count(*) = 1 THEN min(e.pseudonym) ELSE '' END,
	       CASE WHEN count(*) = 1 THEN '{}' ELSE array_agg(e.object_id ORDER BY e.n) END,
	       CASE WHEN count(*) = 1 THEN '{}' ELSE array_agg(e.pseudonym ORDER BY e.n) END,
	       $8, $9, $10, $11, $12, $13, $14, e.route, e.outcome, $15
	FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
	     WITH ORDINALITY AS e(g, action, object_type, object_id, pseudonym, route, outcome, n)
	GROUP BY e.g, e.action, e.object_type, e.route, e.outcome
	ORDER BY e.g`

// insertEntry writes the entries of a call that form one group: one entry about one object
// ($3, $4 set, $5 and $6 empty) or one list entry ($5 and $6 set). Almost every call is one
// group, and PostgreSQL runs this plain VALUES 1.2–1.5× as fast as insertEntries' unnest and
// GROUP BY (pgbench, 16 clients, one entry or one list of 50 a transaction).
const insertEntry = `
	INSERT INTO access_log (action, object_type, object_id, resident_pseudonym, shown_objects, shown_residents,
	                        user_id, role, org_oin, org_type, on_behalf_of, purpose, access_point, route, outcome, trace_id)
	VALUES ($1, $2, $3, $4, $5::text[], $6::text[], $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

// write writes entries with the caller of ctx: deferred to the commit of the caller's
// transaction (one round trip for all of a request's entries and events, see pgxdb.DB.Defer),
// or, detached, at once on the pool.
func (l *Logger) write(ctx context.Context, entries []accesslog.Entry, detached bool) error {
	if len(entries) == 0 {
		return nil
	}
	c, ok := identity.From(ctx)
	if !ok {
		return fmt.Errorf("accesslog: no caller in context")
	}
	type key struct{ action, objectType, route, outcome string }
	keyOf := func(e accesslog.Entry) key {
		if e.Outcome == "" {
			e.Outcome = accesslog.OutcomeGranted
		}
		return key{e.Action, e.ObjectType, e.Route, e.Outcome}
	}
	n, first := len(entries), keyOf(entries[0])
	objID, pseudo := make([]string, n), make([]string, n)
	oneGroup := true
	for i, e := range entries {
		objID[i], pseudo[i] = e.ObjectID, e.ResidentPseudonym
		oneGroup = oneGroup && keyOf(e) == first
	}
	sql, args := insertEntry, []any(nil)
	if oneGroup {
		// One entry about one object, or one list entry.
		obj, res, shownObjects, shownResidents := objID[0], pseudo[0], []string{}, []string{}
		if n > 1 {
			obj, res, shownObjects, shownResidents = "", "", objID, pseudo
		}
		args = []any{first.action, first.objectType, obj, res, shownObjects, shownResidents, c.User, c.Role,
			c.Org.OIN, string(c.Org.Type), c.OnBehalfOf, c.Purpose, l.accessPoint(ctx), first.route, first.outcome, observability.TraceID(ctx)}
	} else {
		sql = insertEntries
		groups, group := map[key]int32{}, make([]int32, n)
		action, objType, route, outcome := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, e := range entries {
			k := keyOf(e)
			g, seen := groups[k]
			if !seen {
				g = int32(len(groups))
				groups[k] = g
			}
			group[i], action[i], objType[i], route[i], outcome[i] = g, k.action, k.objectType, k.route, k.outcome
		}
		args = []any{group, action, objType, objID, pseudo, route, outcome, c.User, c.Role, c.Org.OIN, string(c.Org.Type),
			c.OnBehalfOf, c.Purpose, l.accessPoint(ctx), observability.TraceID(ctx)}
	}
	var err error
	if detached {
		_, err = l.db.Pool.Exec(ctx, sql, args...)
	} else {
		err = l.db.Defer(ctx, sql, args...)
	}
	if err != nil {
		return fmt.Errorf("accesslog: %w", err)
	}
	return nil
}

// Tx runs fn in one transaction of the log's database (nested calls join the outer one).
func (l *Logger) Tx(ctx context.Context, fn func(ctx context.Context) error) error {
	return l.db.Tx(ctx, fn)
}
