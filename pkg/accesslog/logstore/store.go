// Package logstore is the PostgreSQL adapter of the access log (package accesslog is its
// port): it writes entries in the caller's transaction when there is one, so a change and its
// log entry commit together; it seals them in a keyed hash chain, exports signed checkpoints
// to NATS and verifies the chain against them; and it keeps emergency grants.
package logstore

import (
	"context"
	"fmt"

	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/authz"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/observability"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"google.golang.org/grpc"
)

// Logger writes entries for one service; it implements accesslog.Recorder.
type Logger struct {
	db      *pgxdb.DB
	service string
	group   group
}

// New returns a logger.
func New(db *pgxdb.DB, service string) *Logger { return &Logger{db: db, service: service} }

// Record writes e with the caller of ctx, in the transaction of ctx when there is one, and
// otherwise committed before it returns (in the group commit, see write). A failure to log
// fails the operation: personal data must not be touched without a trace.
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

// RecordMany writes entries with the caller of ctx, in one statement: sent with the commit of
// the transaction of ctx (see pgxdb.DB.Defer), or, outside a transaction, committed before it
// returns, in one statement with the entries of other calls (the group commit, see write).
// A list RPC shows many residents at once and must log every one of them: entries that differ
// only in their object and resident (same action, object type, route and outcome) are written
// as one list entry naming every object and resident in order (shown_objects,
// shown_residents), which is written once and sealed once; one row per resident shown cost a
// list of 50 cases 50 rows, each rewritten by the sealer. The view access_log_entries shows
// the log one row per object and resident again.
func (l *Logger) RecordMany(ctx context.Context, entries []accesslog.Entry) error {
	return l.write(ctx, entries, false)
}

// RecordManyDetached writes entries at once, outside the transaction of ctx (as
// RecordDetached does for one entry), e.g. refusals inside a transaction that rolls back.
func (l *Logger) RecordManyDetached(ctx context.Context, entries []accesslog.Entry) error {
	return l.write(ctx, entries, true)
}

// insertEntry writes one row: an entry about one object ($3, $4 set, $5 and $6 empty) or one
// list entry ($5 and $6 set). Almost every call writes one row, and PostgreSQL runs this plain
// VALUES 1.2–1.5× as fast as insertRows' unnest (pgbench, 16 clients, one entry or one list of
// 50 a transaction).
const insertEntry = `
	INSERT INTO access_log (action, object_type, object_id, resident_pseudonym, shown_objects, shown_residents,
	                        user_id, role, org_oin, org_type, on_behalf_of, purpose, access_point, route, outcome, trace_id)
	VALUES ($1, $2, $3, $4, $5::text[], $6::text[], $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

// insertRows writes many rows in one statement, in the order given (the id sequence, and so the
// hash chain, follows it): every column as an array with one element per row, except the
// objects and residents a list entry shows, which are one array for all rows ($15, $16) that
// each row takes the slice $17[n]:$18[n] of (empty for an entry about one object).
const insertRows = `
	INSERT INTO access_log (action, object_type, object_id, resident_pseudonym, shown_objects, shown_residents,
	                        user_id, role, org_oin, org_type, on_behalf_of, purpose, access_point, route, outcome, trace_id)
	SELECT r.action, r.object_type, r.object_id, r.pseudonym, ($15::text[])[r.lo:r.hi], ($16::text[])[r.lo:r.hi],
	       r.user_id, r.role, r.org_oin, r.org_type, r.on_behalf_of, r.purpose, r.access_point, r.route, r.outcome, r.trace_id
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
	            $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $17::int[], $18::int[])
	     WITH ORDINALITY AS r(action, object_type, object_id, pseudonym, user_id, role, org_oin, org_type,
	                          on_behalf_of, purpose, access_point, route, outcome, trace_id, lo, hi, n)
	ORDER BY r.n`

// logRow is one row of access_log as written: an entry about one object, or a list entry
// naming the objects and residents shown in their order.
type logRow struct {
	action, objectType, objectID, pseudonym                                string
	shownObjects, shownResidents                                           []string
	user, role, orgOIN, orgType, onBehalfOf, purpose, accessPoint, traceID string
	route, outcome                                                         string
}

func (r logRow) args() []any {
	return []any{r.action, r.objectType, r.objectID, r.pseudonym, r.shownObjects, r.shownResidents, r.user, r.role,
		r.orgOIN, r.orgType, r.onBehalfOf, r.purpose, r.accessPoint, r.route, r.outcome, r.traceID}
}

// rows turns the entries of one call into rows, with the caller of ctx: entries that differ
// only in their object and resident (same action, object type, route and outcome) form one
// group, in the order of their first entries; a group of one is an entry about one object, a
// larger group one list entry with its objects and residents in order.
func (l *Logger) rows(ctx context.Context, entries []accesslog.Entry) ([]logRow, error) {
	c, ok := identity.From(ctx)
	if !ok {
		return nil, fmt.Errorf("accesslog: no caller in context")
	}
	// A resident's data shown or changed under a purpose that processes none is refused here,
	// where every such access passes: the entry would name a purpose that does not cover it.
	for _, e := range entries {
		if e.Outcome != accesslog.OutcomeDenied && (e.ResidentPseudonym != "" || len(e.Residents) > 0) {
			if err := authz.ResidentDataError(c); err != nil {
				return nil, err
			}
			break
		}
	}
	type key struct{ action, objectType, route, outcome string }
	var (
		out   []logRow
		index = map[key]int{}
	)
	for _, e := range entries {
		if e.Outcome == "" {
			e.Outcome = accesslog.OutcomeGranted
		}
		k := key{e.Action, e.ObjectType, e.Route, e.Outcome}
		i, seen := index[k]
		if !seen {
			index[k] = len(out)
			out = append(out, logRow{action: e.Action, objectType: e.ObjectType, objectID: e.ObjectID, pseudonym: e.ResidentPseudonym,
				shownObjects: []string{}, shownResidents: []string{}, route: e.Route, outcome: e.Outcome})
			continue
		}
		r := &out[i]
		if len(r.shownObjects) == 0 {
			r.shownObjects, r.shownResidents = []string{r.objectID}, []string{r.pseudonym}
			r.objectID, r.pseudonym = "", ""
		}
		r.shownObjects, r.shownResidents = append(r.shownObjects, e.ObjectID), append(r.shownResidents, e.ResidentPseudonym)
	}
	point, trace := l.accessPoint(ctx), observability.TraceID(ctx)
	for i := range out {
		r := &out[i]
		r.user, r.role, r.orgOIN, r.orgType, r.onBehalfOf, r.purpose, r.accessPoint, r.traceID =
			c.User, c.Role, c.Org.OIN, string(c.Org.Type), c.OnBehalfOf, c.Purpose, point, trace
	}
	return out, nil
}

// statement returns the statement and arguments that write rows.
func statement(rows []logRow) (string, []any) {
	if len(rows) == 1 {
		return insertEntry, rows[0].args()
	}
	n := len(rows)
	cols := make([][]string, 14)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	lo, hi := make([]int32, n), make([]int32, n)
	var objects, residents []string
	for i, r := range rows {
		for j, v := range []string{r.action, r.objectType, r.objectID, r.pseudonym, r.user, r.role, r.orgOIN, r.orgType,
			r.onBehalfOf, r.purpose, r.accessPoint, r.route, r.outcome, r.traceID} {
			cols[j][i] = v
		}
		// 1-based bounds; an empty slice (lo > hi) is the empty array.
		lo[i] = int32(len(objects)) + 1
		objects, residents = append(objects, r.shownObjects...), append(residents, r.shownResidents...)
		hi[i] = int32(len(objects))
	}
	if objects == nil {
		objects, residents = []string{}, []string{}
	}
	args := make([]any, 0, 18)
	for _, c := range cols {
		args = append(args, c)
	}
	return insertRows, append(args, objects, residents, lo, hi)
}

// write writes entries with the caller of ctx:
//   - in a transaction, deferred to its commit (one round trip for all of a request's entries
//     and events, see pgxdb.DB.Defer);
//   - detached, at once on the pool;
//   - outside a transaction, in the group commit: committed before write returns, in one
//     statement and one commit with the entries of every other call writing at the same time.
func (l *Logger) write(ctx context.Context, entries []accesslog.Entry, detached bool) error {
	if len(entries) == 0 {
		return nil
	}
	rows, err := l.rows(ctx, entries)
	if err != nil {
		return err
	}
	switch {
	case detached:
		sql, args := statement(rows)
		_, err = l.db.Pool.Exec(ctx, sql, args...)
	case pgxdb.InTx(ctx):
		sql, args := statement(rows)
		err = l.db.Defer(ctx, sql, args...)
	default:
		err = l.group.write(ctx, l.db, rows)
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
