// Package accesslog is the port through which every read and write of personal data is
// recorded (NEN 7513): when, what, whose data (pseudonymised), who, in which role, for which
// organisation and purpose, through which access point and authorisation route, and with what
// outcome. It holds the entry, the routes, the Recorder interface and the one per-object read
// guard (Guard, ReadTx) every service uses; it imports no database, broker or transport.
// The adapters live below it: logstore (the PostgreSQL writer, the hash-chain sealer and
// verifier, checkpoints) and logserver (the gRPC AccessLogService).
package accesslog

import (
	"context"
	"time"
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
	// RouteEmergency marks access under an emergency grant ("break the glass").
	RouteEmergency = "EMERGENCY"
)

// Emergency access limits.
const (
	MinEmergencyReason     = 20
	DefaultEmergencyPeriod = time.Hour
	MaxEmergencyPeriod     = 4 * time.Hour
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
	// Residents, when ResidentsRead is set, are the pseudonyms of the residents the object
	// concerns as the caller read them with it (a case read with its household's members): a
	// recorder that logs an entry under each resident the object concerns
	// (logstore.PerResidentRecorder) uses them instead of looking them up. They are not
	// stored as such: each becomes an entry's ResidentPseudonym (PerResident).
	Residents     []string
	ResidentsRead bool
}

// Recorder is the port application layers use to write entries; logstore.Logger implements it.
type Recorder interface {
	// Record writes in the transaction of ctx, so the entry commits with the change. Outside a
	// transaction (a read that changes nothing) the entry is committed before Record returns,
	// together with the entries of other calls writing at the same time.
	Record(ctx context.Context, e Entry) error
	// RecordMany writes one entry per element in one statement, as Record does: a list shows
	// many residents and logs every one of them.
	RecordMany(ctx context.Context, entries []Entry) error
	// RecordDetached writes outside it, for refusals whose transaction rolls back.
	RecordDetached(ctx context.Context, e Entry) error
	// EmergencyGrant reports whether the caller holds an active emergency grant for the
	// record; per-object read checks consult it before refusing (route RouteEmergency).
	EmergencyGrant(ctx context.Context, objectType, objectID string) (bool, error)
}

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
		c.ResidentPseudonym, c.Residents = p, nil
		out = append(out, c)
	}
	return out
}
