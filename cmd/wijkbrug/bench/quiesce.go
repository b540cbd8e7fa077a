package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
)

// quietLimit bounds each wait for a quiet suite before a measurement.
const quietLimit = 60 * time.Second

// quietWait is what one wait for a quiet suite found: how long it took and, when it gave up at
// its bound, what was still pending then (empty = the measurement started quiet).
type quietWait struct {
	Took    time.Duration
	Pending string
}

func (q quietWait) String() string {
	if q.Pending != "" {
		return fmt.Sprintf("%.1f s, not quiet: %s", q.Took.Seconds(), q.Pending)
	}
	return fmt.Sprintf("%.2f s", q.Took.Seconds())
}

// quietCheck looks at the suite's background work: the services' outboxes and access logs,
// and the services' durable JetStream consumers.
type quietCheck struct {
	dbs       map[string]*pgxpool.Pool // service database → one connection
	js        jetstream.JetStream
	consumers []natsauth.Consumer
}

// newQuietCheck reads the consumers from the security model the suite's NATS server enforces:
// it names every durable consumer a service may own (NATS refuses any other). They are read as
// the observer, the read-only operations identity the event watch already uses, which may read
// a consumer's information on the service streams but may not list streams or consumers.
func newQuietCheck(ctx context.Context, s *suite.Suite, ev *eventWatch) (*quietCheck, error) {
	js, err := jetstream.New(ev.nc)
	if err != nil {
		return nil, err
	}
	q := &quietCheck{dbs: map[string]*pgxpool.Pool{}, js: js}
	for _, svc := range s.NATS.Model().Services {
		q.consumers = append(q.consumers, svc.Consumes...)
	}
	slices.SortFunc(q.consumers, func(a, b natsauth.Consumer) int { return strings.Compare(a.Durable, b.Durable) })
	for _, e := range s.Services {
		cfg, err := pgxpool.ParseConfig(s.Postgres.DSN(e.Database))
		if err != nil {
			q.close()
			return nil, err
		}
		cfg.MaxConns = 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			q.close()
			return nil, err
		}
		q.dbs[e.Database] = pool
	}
	return q, nil
}

func (q *quietCheck) close() {
	for _, p := range q.dbs {
		p.Close()
	}
}

// busy lists what is still pending: unpublished outbox rows and unsealed access-log entries
// per service, and per consumer the
// messages not yet delivered and those delivered but not yet acknowledged (a consumer acks
// after its transaction, outbox row included, committed).
func (q *quietCheck) busy(ctx context.Context) ([]string, error) {
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

// quiesce waits until the suite is quiet — every outbox published and every service consumer
// with nothing pending and nothing awaiting its ack — so that no measurement runs on the
// background work of the one before it. Quiet means two checks in a row, 100 ms apart, found
// nothing (a relay may publish between one check's outbox and consumer halves). After limit
// it prints what was still pending and gives up, so a stuck consumer does not stop the run.
func (b *bench) quiesce(ctx context.Context, before string, limit time.Duration) (quietWait, error) {
	start := time.Now()
	quietChecks := 0
	for {
		busy, err := b.quiet.busy(ctx)
		if err != nil {
			return quietWait{}, fmt.Errorf("waiting for a quiet suite before %s: %w", before, err)
		}
		if len(busy) == 0 {
			quietChecks++
			if quietChecks == 2 {
				return quietWait{Took: time.Since(start)}, nil
			}
		} else {
			quietChecks = 0
		}
		if time.Since(start) >= limit && len(busy) > 0 {
			w := quietWait{Took: time.Since(start), Pending: strings.Join(busy, ", ")}
			fmt.Fprintf(b.out, "  (not quiet after %s before %s, going on; still pending: %s)\n", limit, before, w.Pending)
			return w, nil
		}
		select {
		case <-ctx.Done():
			return quietWait{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
