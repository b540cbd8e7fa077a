package suite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
)

// QuietCheck looks at the suite's background work: the services' outboxes and access logs,
// and the services' durable JetStream consumers. The bench waits for a quiet suite before
// each measurement; tests wait for one before a check that the events' handling did nothing
// it should not (a fixed wait instead passes without checking anything on a slow machine).
type QuietCheck struct {
	dbs       map[string]*pgxpool.Pool // service database → one connection
	js        jetstream.JetStream
	consumers []natsauth.Consumer
}

// NewQuietCheck reads the consumers from the security model the suite's NATS server enforces:
// it names every durable consumer a service may own (NATS refuses any other). nc is the
// observer's connection (ConnectNATS(s.Observer)), the read-only operations identity, which
// may read a consumer's information on the service streams but may not list streams or
// consumers. Close releases the check's database connections.
func (s *Suite) NewQuietCheck(ctx context.Context, nc *nats.Conn) (*QuietCheck, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	q := &QuietCheck{dbs: map[string]*pgxpool.Pool{}, js: js}
	for _, svc := range s.NATS.Model().Services {
		q.consumers = append(q.consumers, svc.Consumes...)
	}
	slices.SortFunc(q.consumers, func(a, b natsauth.Consumer) int { return strings.Compare(a.Durable, b.Durable) })
	for _, e := range s.Services {
		cfg, err := pgxpool.ParseConfig(s.Postgres.DSN(e.Database))
		if err != nil {
			q.Close()
			return nil, err
		}
		cfg.MaxConns = 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			q.Close()
			return nil, err
		}
		q.dbs[e.Database] = pool
	}
	return q, nil
}

// Databases are the check's connections to the service databases, by name (as the superuser,
// one connection each): the bench reads the statement statistics over them.
func (q *QuietCheck) Databases() map[string]*pgxpool.Pool { return q.dbs }

// Close closes the check's database connections.
func (q *QuietCheck) Close() {
	for _, p := range q.dbs {
		p.Close()
	}
}

// Busy lists what is still pending: unpublished outbox rows and unsealed access-log entries
// per service, and per consumer the messages not yet delivered and those delivered but not
// yet acknowledged (a consumer acks after its transaction, outbox row included, committed).
func (q *QuietCheck) Busy(ctx context.Context) ([]string, error) {
	var out []string
	for _, db := range slices.Sorted(maps.Keys(q.dbs)) {
		// Unpublished outbox rows, and the access-log entries a run wrote that the sealer has
		// not chained yet (a list run leaves tens of thousands), in one round trip.
		var unpublished, unsealed int64
		if err := q.dbs[db].QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL),
			(SELECT count(*) FROM access_log WHERE seal_seq IS NULL)`).Scan(&unpublished, &unsealed); err != nil {
			return nil, fmt.Errorf("outbox and access log of %s: %w", db, err)
		}
		if unpublished > 0 {
			out = append(out, fmt.Sprintf("outbox %s %d", db, unpublished))
		}
		if unsealed > 0 {
			out = append(out, fmt.Sprintf("unsealed access-log entries %s %d", db, unsealed))
		}
	}
	for _, c := range q.consumers {
		cons, err := q.js.Consumer(ctx, c.Stream, c.Durable)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			// Not created yet: when it is, it replays its stream from the start.
			out = append(out, c.Durable+" not created yet")
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("consumer %s on %s: %w", c.Durable, c.Stream, err)
		}
		info := cons.CachedInfo()
		if info.NumPending > 0 || info.NumAckPending > 0 {
			out = append(out, fmt.Sprintf("%s %d pending %d unacked", c.Durable, info.NumPending, info.NumAckPending))
		}
	}
	return out, nil
}

// Wait waits until the suite is quiet — every outbox published, every access-log entry
// sealed, every service consumer with nothing pending and nothing awaiting its ack. Quiet
// means two checks in a row, 100 ms apart, found nothing (a relay may publish between one
// check's outbox and consumer halves). After limit it gives up and returns what was still
// pending (nil: quiet).
func (q *QuietCheck) Wait(ctx context.Context, limit time.Duration) (took time.Duration, pending []string, err error) {
	start := time.Now()
	quietChecks := 0
	for {
		busy, err := q.Busy(ctx)
		if err != nil {
			return time.Since(start), nil, err
		}
		if len(busy) == 0 {
			quietChecks++
			if quietChecks == 2 {
				return time.Since(start), nil, nil
			}
		} else {
			quietChecks = 0
		}
		if time.Since(start) >= limit && len(busy) > 0 {
			return time.Since(start), busy, nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
