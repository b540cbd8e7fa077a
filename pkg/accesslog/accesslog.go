// Package accesslog records every read and write of personal data (NEN 7513): when, what,
// whose data (pseudonymised), who, in which role, for which organisation and purpose, through
// which access point and authorisation route, and with what outcome. Entries are written in
// the caller's transaction when there is one, so a change and its log entry commit together.
package accesslog

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"google.golang.org/grpc"
)

// Outcomes.
const (
	OutcomeGranted = "GRANTED"
	OutcomeDenied  = "DENIED"
)

// Routes: how access was authorised.
const (
	RouteOwnRecord  = "OWN_RECORD"  // the caller's own signal, referral or allocation
	RouteTeam       = "TEAM"        // the caller's team owns the record
	RouteService    = "SERVICE"     // a Wijkbrug service acting for a user
	RouteSystem     = "SYSTEM"      // a consumer or scheduler acting by itself
	RouteInvolved   = "INVOLVEMENT" // an active involvement in the case
	RouteNewRecord  = "NEW_RECORD"  // the caller creates the record
	RouteNotAllowed = "NONE"
)

// Entry is one access.
type Entry struct {
	// Action is "<service>.<object>.<verb>", e.g. "referral.signal.read".
	Action     string
	ObjectType string
	ObjectID   string
	// ResidentPseudonym identifies the resident without a BSN (bsn.Protector.Pseudonym).
	ResidentPseudonym string
	Route             string
	Outcome           string
}

// Recorder is the port application layers use to write entries; Logger implements it.
type Recorder interface {
	// Record writes in the transaction of ctx, so the entry commits with the change.
	Record(ctx context.Context, e Entry) error
	// RecordMany writes one entry per element in one statement, in the transaction of ctx: a
	// list shows many residents and logs every one of them.
	RecordMany(ctx context.Context, entries []Entry) error
	// RecordDetached writes outside it, for refusals whose transaction rolls back.
	RecordDetached(ctx context.Context, e Entry) error
	// EmergencyGrant reports whether the caller holds an active emergency grant for the
	// record; per-object read checks consult it before refusing (route RouteEmergency).
	EmergencyGrant(ctx context.Context, objectType, objectID string) (bool, error)
}

// Logger writes entries for one service.
type Logger struct {
	db      *pgxdb.DB
	service string
}

// New returns a logger.
func New(db *pgxdb.DB, service string) *Logger { return &Logger{db: db, service: service} }

// Record writes e with the caller of ctx, in the transaction of ctx when there is one. A
// failure to log fails the operation: personal data must not be touched without a trace.
func (l *Logger) Record(ctx context.Context, e Entry) error {
	return l.write(ctx, []Entry{e}, false)
}

// RecordDetached writes e outside the transaction of ctx. A refused change rolls back the
// transaction it ran in (typically the idempotency key's), and with it anything logged there;
// the refusal itself must stay on record. Caller, gRPC method, trace and deadline still come
// from ctx.
func (l *Logger) RecordDetached(ctx context.Context, e Entry) error {
	return l.write(ctx, []Entry{e}, true)
}

// accessPoint is the service and, in a call, the gRPC method through which data was accessed.
func (l *Logger) accessPoint(ctx context.Context) string {
	if m, ok := grpc.Method(ctx); ok {
		return l.service + " " + m
	}
	return l.service
}
