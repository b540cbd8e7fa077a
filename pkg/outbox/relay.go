package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// RelayConfig tunes the relay.
type RelayConfig struct {
	// Service names the lock, so each service's relay is elected separately.
	Service string
	// BatchSize is how many rows one round publishes (default 256).
	BatchSize int
	// PollInterval is the fallback when a NOTIFY is missed (default 1 s).
	PollInterval time.Duration
	// AckTimeout bounds the wait for JetStream acks (default 5 s).
	AckTimeout time.Duration
	// AtomicMin is the least number of rows bound for one stream that a round publishes as
	// one atomic batch (default 16; negative: never). Below it each row is its own message.
	AtomicMin int
	// Lease bounds how long a leader that stopped answering keeps the lead (default 5 s): its
	// lock session is ended by PostgreSQL once it has been silent that long
	// (idle_session_timeout), so a frozen or cut-off replica's lock passes to a standby. A
	// leader speaks on it every fifth of the lease.
	Lease    time.Duration
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Relay publishes outbox rows. Only one replica relays at a time (a PostgreSQL session
// advisory lock elects it), which keeps events in commit order per service and therefore per
// aggregate; the others stand by and take over when the leader's session ends.
type Relay struct {
	db  *pgxdb.DB
	js  jetstream.JetStream
	cfg RelayConfig
	lag prometheus.Histogram
	pub prometheus.Counter
	// The phases of wijkbrug_outbox_round_seconds, made with the relay so that each is
	// exported (at 0) from the start.
	readTime, publishTime, markTime prometheus.Observer

	wake      chan struct{} // in-process wake-ups from Writer (buffer 1: wake-ups coalesce)
	leading   atomic.Bool
	atomicOff atomic.Bool // JetStream refused atomic batches as disabled: publish one by one

	// next holds the rows read in one round trip with the last round's mark: the next round
	// publishes them without reading again. Only the goroutine that calls Flush uses it.
	next []pendingRow
}

// Leading reports whether this relay holds the lead now.
func (r *Relay) Leading() bool { return r.leading.Load() }

// Wake makes the relay look for pending rows now (it coalesces: many wake-ups while a batch is
// being published lead to one more round).
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// NewRelay builds a relay.
func NewRelay(db *pgxdb.DB, js jetstream.JetStream, cfg RelayConfig) *Relay {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 256
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 5 * time.Second
	}
	if cfg.AtomicMin == 0 {
		cfg.AtomicMin = defaultAtomicMin
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Relay{db: db, js: js, cfg: cfg, wake: make(chan struct{}, 1),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wijkbrug_outbox_publish_lag_seconds", Help: "Time from outbox insert to JetStream ack.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 5, 30},
		}),
		pub: prometheus.NewCounter(prometheus.CounterOpts{Name: "wijkbrug_outbox_published_total", Help: "Events published."}),
	}
	rounds := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "wijkbrug_outbox_round_seconds",
		Help: "The parts of a relay round that had events to publish: phase=read the read of its rows when the last round's mark did not bring them " +
			"(the relay was waiting for work), phase=publish from sending the round's events to JetStream's last acknowledgement, " +
			"phase=mark the mark of the acknowledged rows together with the read of the next round's (one PostgreSQL round trip). " +
			"A row committed during a round waits for it to end, then for its own.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 5},
	}, []string{"phase"})
	r.readTime, r.publishTime, r.markTime = rounds.WithLabelValues("read"), rounds.WithLabelValues("publish"), rounds.WithLabelValues("mark")
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(r.lag, r.pub, rounds, &backlogCollector{r: r,
			size: prometheus.NewDesc("wijkbrug_outbox_backlog", "Outbox rows not yet acknowledged by JetStream.", nil, prometheus.Labels{"service": cfg.Service}),
			age: prometheus.NewDesc("wijkbrug_outbox_oldest_unsent_age_seconds", "Age of the oldest outbox row not yet acknowledged by JetStream (0 when none).",
				nil, prometheus.Labels{"service": cfg.Service}),
		})
	}
	return r
}

// Backlog is what waits in the outbox: the number of unpublished rows and the age of the
// oldest. It grows while NATS is away and drains when it is back.
type Backlog struct {
	Rows   int
	Oldest time.Duration
}

// Backlog reads the outbox backlog (an index-only look at the pending rows).
func (r *Relay) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	var age float64
	err := r.db.Pool.QueryRow(ctx, `
		SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
		FROM outbox WHERE published_at IS NULL`).Scan(&b.Rows, &age)
	b.Oldest = time.Duration(age * float64(time.Second))
	return b, err
}

// backlogCollector reads the backlog at scrape time, so the gauges are never stale; when the
// database does not answer within two seconds the scrape simply lacks them.
type backlogCollector struct {
	r         *Relay
	size, age *prometheus.Desc
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.size; ch <- c.age }

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := c.r.Backlog(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(b.Rows))
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, b.Oldest.Seconds())
}

// Run relays until ctx ends; the leader then makes one last bounded attempt to publish what is
// pending (the flush step of graceful shutdown). Errors from NATS or PostgreSQL are retried, never
// fatal: an unpublished row stays pending.
func (r *Relay) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := r.lead(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.WarnContext(ctx, "outbox relay interrupted; retrying", "error", err.Error())
			sleep(ctx, r.cfg.PollInterval)
		}
	}
}

// lead takes the leader lock on a dedicated connection and relays while holding it.
//
// The lock is a session lock, so it lasts as long as the session: a leader that is frozen
// (SIGSTOP, a stalled node) or cut off from PostgreSQL would hold it for as long as its TCP
// connection looks alive, hours with the kernel's defaults, and the service's events would wait
// in its outbox that long (an operator probe saw 80 s and counting). The session is therefore a
// lease: PostgreSQL ends it once it has been idle for cfg.Lease (idle_session_timeout, set on
// that session only), and hold speaks on it every fifth of the lease. A frozen leader loses the
// lock within the lease, a standby takes it at its next try; when the old leader resumes, its
// next word on the session fails and it stops relaying. What it was publishing when it froze
// may then reach JetStream a second time, which the stream's duplicate window and the
// consumers' processed events absorb, as for any republication (docs/reliability.md).
func (r *Relay) lead(ctx context.Context) error {
	conn, err := r.db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer releaseAndDiscard(conn)
	var got bool
	// The lease on this session and the attempt, in one round trip.
	if err := conn.QueryRow(ctx, `SELECT set_config('idle_session_timeout', $2, false) IS NOT NULL AND pg_try_advisory_lock($1)`,
		lockKey(r.cfg.Service), strconv.FormatInt(r.cfg.Lease.Milliseconds(), 10)).Scan(&got); err != nil {
		return err
	}
	if !got {
		sleep(ctx, r.cfg.PollInterval)
		return nil
	}
	// The lock session names itself, so an operator finds the leader in pg_stat_activity.
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel+
		"; SELECT set_config('application_name', left(current_setting('application_name') || ' relay leader', 63), false)"); err != nil {
		return err
	}
	lctx, lose := context.WithCancelCause(ctx)
	held := make(chan struct{})
	go func() {
		defer close(held)
		r.hold(lctx, conn, lose)
	}()
	defer func() { lose(nil); <-held }()
	r.leading.Store(true)
	defer r.leading.Store(false)
	r.next = nil // rows read while leading before are read again
	for lctx.Err() == nil {
		n, err := r.Flush(lctx)
		if err != nil {
			if lctx.Err() == nil {
				r.cfg.Logger.WarnContext(ctx, "outbox publish failed; will retry", "error", err.Error())
				sleep(lctx, r.cfg.PollInterval)
			}
			continue
		}
		if n == r.cfg.BatchSize || len(r.next) > 0 {
			continue // more waiting
		}
		// Wait for a writer of this process, a NOTIFY from another replica (hold passes it
		// on), or the poll.
		t := time.NewTimer(r.cfg.PollInterval)
		select {
		case <-r.wake:
		case <-t.C:
		case <-lctx.Done():
		}
		t.Stop()
	}
	if ctx.Err() == nil {
		// The lease ended (or the session failed) while this process still runs: another
		// replica may lead now, so nothing more is published here.
		return fmt.Errorf("outbox relay lost the lead: %w", context.Cause(lctx))
	}
	// Still the leader: flush what is pending (graceful shutdown), bounded in time. Only the
	// leader does this, so a stopping standby never publishes out of order. hold has stopped
	// speaking on the session, and the flush ends well within the lease.
	lose(nil)
	<-held
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(5*time.Second, r.cfg.Lease*4/5))
	defer cancel()
	for {
		n, err := r.Flush(flushCtx)
		if err != nil {
			r.cfg.Logger.Warn("outbox flush on shutdown incomplete; rows stay pending", "error", err.Error())
			return nil
		}
		if n < r.cfg.BatchSize && len(r.next) == 0 {
			return nil
		}
	}
}

// hold keeps the leader's lock session: it waits on it for notifications from other
// replicas' writers (each wakes the relay) and speaks on it every fifth of the lease, so
// PostgreSQL never finds it idle that long while this process runs. It ends the lead (lose)
// when the session fails, and returns when ctx ends.
func (r *Relay) hold(ctx context.Context, conn *pgxpool.Conn, lose context.CancelCauseFunc) {
	beat := r.cfg.Lease / 5
	last := time.Now()
	for ctx.Err() == nil {
		wctx, cancel := context.WithTimeout(ctx, time.Until(last.Add(beat)))
		_, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			r.Wake()
			if time.Since(last) < beat {
				continue
			}
		case !errors.Is(err, context.DeadlineExceeded):
			lose(fmt.Errorf("listen: %w", err))
			return
		}
		if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
			if ctx.Err() == nil {
				lose(fmt.Errorf("the leader's lock session: %w", err))
			}
			return
		}
		last = time.Now()
	}
}

// releaseAndDiscard closes the connection instead of returning it, so the session advisory
// lock and the LISTEN registration end with it.
func releaseAndDiscard(conn *pgxpool.Conn) {
	_ = conn.Conn().Close(context.Background())
	conn.Release()
}

type pendingRow struct {
	id int64
	ev cloudevents.Envelope
}

// Flush publishes one batch of pending rows in id order and returns how many were published.
// On a failed ack it marks the acknowledged prefix only; the rest is retried (JetStream drops
// the duplicates of anything that did arrive, by Nats-Msg-Id). A round that went well reads
// the next round's rows in the same round trip as its mark.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	batch := r.next
	r.next = nil
	if batch == nil {
		start := time.Now()
		var err error
		if batch, err = r.round(ctx, nil, true); err != nil {
			return 0, err
		}
		if len(batch) > 0 {
			r.readTime.Observe(time.Since(start).Seconds())
		}
	}
	if len(batch) == 0 {
		return 0, nil
	}
	published := make([]bool, len(batch))
	start := time.Now()
	pubErr := r.publish(ctx, batch, published)
	r.publishTime.Observe(time.Since(start).Seconds())
	// Only the prefix JetStream acknowledged is marked; the rest is published again next round
	// (and dropped by JetStream as duplicates where it did arrive).
	var acked []int64
	for i, p := range batch {
		if !published[i] {
			if pubErr == nil {
				pubErr = errors.New("JetStream did not acknowledge every event")
			}
			break
		}
		acked = append(acked, p.id)
		r.lag.Observe(time.Since(p.ev.Time).Seconds())
	}
	if len(acked) > 0 {
		start := time.Now()
		next, err := r.round(context.WithoutCancel(ctx), acked, pubErr == nil)
		if err != nil {
			return 0, fmt.Errorf("mark published: %w", err)
		}
		r.markTime.Observe(time.Since(start).Seconds())
		if len(next) > 0 {
			r.next = next // an empty read says nothing about rows committed after it: read again
		}
		r.pub.Add(float64(len(acked)))
	}
	return len(acked), pubErr
}

// pendingSQL reads a round: the oldest pending rows, in id order.
const pendingSQL = `SELECT id, event_id::text, subject, event_type, source, aggregate_id, payload, traceparent, tracestate, created_at, recipient
	FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`

// scanPending reads a round's rows from the next result of br.
func scanPending(br pgx.BatchResults) ([]pendingRow, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	batch := []pendingRow{}
	for rows.Next() {
		var p pendingRow
		var recipient string
		if err := rows.Scan(&p.id, &p.ev.ID, &p.ev.NATSSubject, &p.ev.Type, &p.ev.Source, &p.ev.Subject, &p.ev.Data, &p.ev.Traceparent, &p.ev.Tracestate, &p.ev.Time, &recipient); err != nil {
			return nil, err
		}
		if recipient != "" {
			// A partner's copy keeps the event's ce-id (what the partner deduplicates on) but
			// needs its own Nats-Msg-Id: all copies land in one stream, whose duplicate window
			// would otherwise keep only the first.
			p.ev.DedupID = p.ev.ID + ":" + recipient
		}
		batch = append(batch, p)
	}
	return batch, rows.Err()
}

// defaultAtomicMin is where an atomic batch starts to pay: a batch costs the stream a staging
// store and one sync, a message published on its own one sync. On the development machine one
// stream with sync always stored 5,800 messages a second published one by one, and 3,500 /
// 12,900 / 60,000 a second in atomic batches of 8 / 32 / 256 (docs/performance-history.md,
// sixth session).
const defaultAtomicMin = 16

// publish sends the rows to JetStream and sets published[i] for every row JetStream
// acknowledged. The rows of one stream go as one atomic batch (NATS's own atomic batch publish,
// nats-server ≥ 2.12) when there are at least AtomicMin of them: the stream stores the batch
// with one sync instead of one per message, and acknowledges it, as it does a single message,
// only once it is on disk. A batch the stream refuses — it holds a row JetStream already has
// (a republication after a lost mark), or the server or stream does not allow atomic publishing —
// is published again message by message, which JetStream deduplicates by Nats-Msg-Id. Rows
// stay in id order within each stream either way.
func (r *Relay) publish(ctx context.Context, batch []pendingRow, published []bool) error {
	type atomicBatch struct {
		rows []int
		f    jetstream.PubAckFuture
	}
	var batches []atomicBatch
	var single []int
	for _, rows := range streamGroups(batch) {
		if r.cfg.AtomicMin > 0 && len(rows) >= r.cfg.AtomicMin && !r.atomicOff.Load() {
			if f, err := r.publishAtomic(batch, rows); err == nil {
				batches = append(batches, atomicBatch{rows: rows, f: f})
				continue
			}
		}
		single = append(single, rows...)
	}
	timeout := time.NewTimer(r.cfg.AckTimeout)
	defer timeout.Stop()
	for _, b := range batches {
		select {
		case <-b.f.Ok():
			for _, i := range b.rows {
				published[i] = true
			}
		case err := <-b.f.Err():
			if apiErr := (*jetstream.APIError)(nil); errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeAtomicPublishDisabled {
				// A stream that was not updated (or a server older than 2.12): no more tries.
				r.atomicOff.Store(true)
				r.cfg.Logger.WarnContext(ctx, "JetStream refuses atomic batches; the relay publishes every event on its own", "error", err.Error())
			} else {
				r.cfg.Logger.DebugContext(ctx, "atomic batch refused; publishing its events one by one", "events", len(b.rows), "error", err.Error())
			}
			single = append(single, b.rows...)
		case <-timeout.C:
			return errors.New("timed out waiting for JetStream ack")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	slices.Sort(single) // batch order is id order
	futures := make([]jetstream.PubAckFuture, 0, len(single))
	var pubErr error
	for _, i := range single {
		f, err := r.js.PublishMsgAsync(batch[i].ev.ToMsg())
		if err != nil {
			pubErr = err
			break
		}
		futures = append(futures, f)
	}
	for k, f := range futures {
		select {
		case <-f.Ok():
			published[single[k]] = true
			continue
		case err := <-f.Err():
			return err
		case <-timeout.C:
			return errors.New("timed out waiting for JetStream ack")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return pubErr
}

// streamGroups splits a round's rows (in id order) by the stream their subjects belong to:
// wijkbrug.<service>.… to the service's stream, wijkbrug.feed.… to the feed stream.
func streamGroups(batch []pendingRow) [][]int {
	var keys []string
	groups := map[string][]int{}
	for i, p := range batch {
		k := p.ev.NATSSubject
		if a := strings.IndexByte(k, '.'); a >= 0 {
			if b := strings.IndexByte(k[a+1:], '.'); b >= 0 {
				k = k[:a+1+b]
			}
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([][]int, 0, len(keys))
	for _, k := range keys {
		out = append(out, groups[k])
	}
	return out
}

// publishAtomic sends rows as one atomic batch: every message but the last without a reply, the
// last with the commit header, whose acknowledgement (or refusal) is the batch's.
func (r *Relay) publishAtomic(batch []pendingRow, rows []int) (jetstream.PubAckFuture, error) {
	id := uuid.NewString()
	nc := r.js.Conn()
	for k, i := range rows {
		m := batch[i].ev.ToMsg()
		m.Header.Set(headerBatchID, id)
		m.Header.Set(headerBatchSeq, strconv.Itoa(k+1))
		if k < len(rows)-1 {
			if err := nc.PublishMsg(m); err != nil {
				return nil, err
			}
			continue
		}
		m.Header.Set(headerBatchCommit, "1")
		return r.js.PublishMsgAsync(m)
	}
	return nil, errors.New("empty batch")
}

// The headers of NATS's atomic batch publish (ADR-50), and the error code of a stream that does
// not allow it (JSAtomicPublishDisabledErr).
const (
	errCodeAtomicPublishDisabled jetstream.ErrorCode = 10174

	headerBatchID     = "Nats-Batch-Id"
	headerBatchSeq    = "Nats-Batch-Sequence"
	headerBatchCommit = "Nats-Batch-Commit"
)

// round is one transaction in one round trip, with the plan pgxdb.IndexScanPlan sets (an
// ordered scan of outbox_pending that stops at the batch size, an index lookup of the ids):
// the mark of ids, when there are any, then, when read, the next round's rows, which it
// returns (nil when not asked). The read comes after the UPDATE, so it never returns a row just
// marked.
//
// The mark records that JetStream acknowledged the rows without waiting for the WAL flush
// (docs/decisions.md, issue 12, item 6). It is only a note of what has been sent: when a crash
// of PostgreSQL loses it, the relay publishes those rows again, which JetStream drops within
// its duplicate window and consumers and partners drop by ce-id after it — the same
// at-least-once delivery as a relay that stops between the ack and the mark. The events
// themselves were committed synchronously by the transactions that wrote them.
func (r *Relay) round(ctx context.Context, ids []int64, read bool) (rows []pendingRow, err error) {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	if len(ids) > 0 {
		b.Queue(`SET LOCAL synchronous_commit = off`)
	}
	for _, q := range pgxdb.IndexScanPlan {
		b.Queue(q)
	}
	if len(ids) > 0 {
		b.Queue(`UPDATE outbox SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL`, ids)
	}
	selectAt := -1
	if read {
		selectAt = b.Len()
		b.Queue(pendingSQL, r.cfg.BatchSize)
	}
	b.Queue(`COMMIT`)
	br := r.db.Pool.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil && cerr != nil {
			rows, err = nil, cerr
		}
	}()
	for i := range b.Len() {
		if i == selectAt {
			if rows, err = scanPending(br); err != nil {
				return nil, err
			}
			continue
		}
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// Pending counts unpublished rows.
func (r *Relay) Pending(ctx context.Context) (int, error) {
	b, err := r.Backlog(ctx)
	return b.Rows, err
}

func lockKey(service string) int64 {
	var h int64 = 0x6f7574 // "out"
	for _, c := range service {
		h = h*131 + int64(c)
	}
	return h
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
