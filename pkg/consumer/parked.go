package consumer

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// Parked is an event a consumer of this service could not handle.
type Parked struct {
	Consumer, EventID, EventType, AggregateID, Subject string
	// State is "parked", "replay" (requested, not yet picked up) or "retrying" (still being
	// redelivered with back-off).
	State         string
	Stream        string
	StreamSeq     int64
	Failures      int
	LastError     string
	FirstFailedAt time.Time
	UpdatedAt     time.Time
}

// ListParked returns the events of a service's consumers that failed and are parked or still
// being retried, oldest first; consumer "" means all.
func ListParked(ctx context.Context, db *pgxdb.DB, consumer string) ([]Parked, error) {
	rows, err := db.Pool.Query(ctx, `
		SELECT consumer, event_id, event_type, aggregate_id, subject, state, stream, stream_seq, failures, last_error, first_failed_at, updated_at
		FROM parked_events WHERE $1 = '' OR consumer = $1 ORDER BY consumer, stream_seq`, consumer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Parked
	for rows.Next() {
		var p Parked
		if err := rows.Scan(&p.Consumer, &p.EventID, &p.EventType, &p.AggregateID, &p.Subject, &p.State, &p.Stream, &p.StreamSeq,
			&p.Failures, &p.LastError, &p.FirstFailedAt, &p.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RequestReplay marks parked events for another try: one event (eventID), or all of a
// consumer (eventID ""), or all of the service (both ""). The running service replays them
// within seconds, in stream order; an event that fails again is parked again. It returns how
// many were marked.
func RequestReplay(ctx context.Context, db *pgxdb.DB, consumer, eventID string) (int, error) {
	tag, err := db.Pool.Exec(ctx, `UPDATE parked_events SET state = 'replay', updated_at = now()
		WHERE state = 'parked' AND ($1 = '' OR consumer = $1) AND ($2 = '' OR event_id = $2)`, consumer, eventID)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
