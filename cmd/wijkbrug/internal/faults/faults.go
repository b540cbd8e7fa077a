package faults

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
)

// Options configure a run.
type Options struct {
	// BinDir holds the service binaries and nats-server (make build).
	BinDir string
	// Clients is the number of concurrent clients (default 4).
	Clients int
	// Steady is how long the load runs before and after each fault (default 4 s).
	Steady time.Duration
	// Down is how long a killed process stays down (default 2 s).
	Down time.Duration
	// Topologies to run: "single", "cluster" (default both).
	Topologies []string
	// Faults limits the faults to these names (default all of the topology).
	Faults []string
	// Pause is each client's pause between calls (default 100 ms).
	Pause time.Duration
	// Keep keeps the work directories.
	Keep bool
}

// fault is one injection and its repair.
type fault struct {
	name   string
	inject func(ctx context.Context, e *env) (repair func(ctx context.Context) error, err error)
}

func killService(name string) fault {
	return fault{name: "kill -9 " + name, inject: func(_ context.Context, e *env) (func(context.Context) error, error) {
		p := e.svcProcs[name]
		p.kill9()
		return func(context.Context) error { return p.start() }, nil
	}}
}

var singleFaults = []fault{
	{name: "kill -9 nats", inject: func(_ context.Context, e *env) (func(context.Context) error, error) {
		n := e.nats[0]
		n.kill9()
		return func(context.Context) error { return n.start() }, nil
	}},
	{name: "postgres immediate stop", inject: func(_ context.Context, e *env) (func(context.Context) error, error) {
		if err := e.pg.Crash(); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error {
			pg, err := embeddedpg.Start(ctx, e.pgOpts)
			if err == nil {
				e.pg = pg
			}
			return err
		}, nil
	}},
	killService("intake"), killService("casedirection"), killService("providermonitoring"), killService("referral"),
}

var clusterFaults = []fault{
	{name: "kill -9 nats stream leader (1 of 3)", inject: func(ctx context.Context, e *env) (func(context.Context) error, error) {
		leader, err := e.streamLeader(ctx, natsx.StreamName("referral"))
		if err != nil {
			return nil, err
		}
		for _, n := range e.nats {
			if n.serverName == leader {
				n.kill9()
				return func(context.Context) error { return n.start() }, nil
			}
		}
		return nil, fmt.Errorf("leader %q is not one of ours", leader)
	}},
	{name: "postgres failover (primary killed, sync standby promoted)", inject: func(ctx context.Context, e *env) (func(context.Context) error, error) {
		if err := e.pg.Crash(); err != nil {
			return nil, err
		}
		e.pgStopped = true
		return func(ctx context.Context) error { return e.standby.Promote(ctx) }, nil
	}},
}

func (e *env) streamLeader(ctx context.Context, stream string) (string, error) {
	nc, err := e.connectNATS()
	if err != nil {
		return "", err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return "", err
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return "", err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return "", err
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return "", fmt.Errorf("stream %s has no leader", stream)
	}
	if info.Config.Replicas != len(e.nats) {
		return "", fmt.Errorf("stream %s has %d replicas, want %d", stream, info.Config.Replicas, len(e.nats))
	}
	return info.Cluster.Leader, nil
}

// request is one SubmitSignal a client made (and retried with the same key until acknowledged).
type request struct {
	key      string
	phase    string
	signalID string
	acked    bool
}

// load is the steady stream of mutating calls.
type load struct {
	client referralv1.ReferralServiceClient
	pause  time.Duration // between one client's calls
	mu     sync.Mutex
	reqs   []*request
	phase  atomic.Pointer[string]
	acks   []time.Time // acknowledgement times
	fails  []time.Time // failed attempts
}

// writeOutage is how long callers saw failures because of a fault: from the first failed
// attempt in [from, to] to the first acknowledgement after the last one (0 when none failed).
func (l *load) writeOutage(from, to time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first, last time.Time
	for _, f := range l.fails {
		if f.Before(from) || f.After(to) {
			continue
		}
		if first.IsZero() {
			first = f
		}
		last = f
	}
	if first.IsZero() {
		return 0
	}
	for _, a := range l.acks {
		if a.After(last) {
			return a.Sub(first)
		}
	}
	return to.Sub(first)
}

func (l *load) setPhase(p string) { l.phase.Store(&p) }

func (l *load) ackedSince(t time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.acks {
		if a.After(t) {
			return a, true
		}
	}
	return time.Time{}, false
}

// run makes calls until stop closes; each is retried with its key (UNAVAILABLE, timeouts,
// anything) until acknowledged or until giveUp.
func (l *load) run(stop <-chan struct{}, giveUp time.Time) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		r := &request{key: uuid.NewString(), phase: *l.phase.Load()}
		l.mu.Lock()
		l.reqs = append(l.reqs, r)
		l.mu.Unlock()
		req := &referralv1.SubmitSignalRequest{IdempotencyKey: r.key, SourceType: referralv1.SourceType_SOURCE_TYPE_GP,
			LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO, ResidentBsn: randomBSN(), MunicipalityCode: municipality, DistrictCode: district,
			LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}, Category: "debts", Description: "fault harness load"}
		for time.Now().Before(giveUp) {
			ctx, cancel := context.WithTimeout(grpcx.ActingUser(context.Background(), "dr-faults", "gp", "signal"), 3*time.Second)
			resp, err := l.client.SubmitSignal(ctx, req)
			cancel()
			if err == nil {
				l.mu.Lock()
				r.acked, r.signalID = true, resp.GetSignalId()
				l.acks = append(l.acks, time.Now())
				l.mu.Unlock()
				break
			}
			l.mu.Lock()
			l.fails = append(l.fails, time.Now())
			l.mu.Unlock()
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(l.pause)
	}
}

// randomBSN returns a BSN that passes the 11-proef.
func randomBSN() string {
	for {
		d := make([]int, 9)
		for i := range d {
			d[i] = rand.IntN(10)
		}
		if d[0] == 0 {
			continue
		}
		sum := 0
		for i := 0; i < 8; i++ {
			sum += (9 - i) * d[i]
		}
		sum -= d[8]
		if sum%11 == 0 {
			var b strings.Builder
			for _, x := range d {
				b.WriteByte(byte('0' + x))
			}
			return b.String()
		}
	}
}

// result is one row of the table.
type result struct {
	topology, fault              string
	sent, ok, lost, dup, unknown int
	outage, recovery             time.Duration
	injectErr                    error
}

// Run runs the topologies and prints the table; it fails on any loss or duplicate.
func Run(ctx context.Context, opts Options, out io.Writer) error {
	if opts.Clients <= 0 {
		opts.Clients = 4
	}
	if opts.Steady <= 0 {
		opts.Steady = 4 * time.Second
	}
	if opts.Pause <= 0 {
		opts.Pause = 100 * time.Millisecond
	}
	if opts.Down <= 0 {
		opts.Down = 2 * time.Second
	}
	if len(opts.Topologies) == 0 {
		opts.Topologies = []string{"single", "cluster"}
	}
	var all []result
	failed := false
	for _, topo := range opts.Topologies {
		var faults []fault
		var standby bool
		nodes := 1
		switch topo {
		case "single":
			faults = singleFaults
		case "cluster":
			faults, standby, nodes = clusterFaults, true, 3
		default:
			return fmt.Errorf("unknown topology %q (single, cluster)", topo)
		}
		if len(opts.Faults) > 0 {
			var sel []fault
			for _, f := range faults {
				for _, want := range opts.Faults {
					if strings.Contains(f.name, want) {
						sel = append(sel, f)
						break
					}
				}
			}
			faults = sel
		}
		if len(faults) == 0 {
			continue
		}
		fmt.Fprintf(out, "== topology %s: PostgreSQL %s, NATS %d node(s), streams R%d; %d clients\n", topo,
			map[bool]string{false: "single", true: "primary + synchronous standby"}[standby], nodes, nodes, opts.Clients)
		res, err := runTopology(ctx, opts, topo, standby, nodes, faults, out)
		all = append(all, res...)
		if err != nil {
			fmt.Fprintf(out, "  topology %s failed: %v\n", topo, err)
			failed = true
		}
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "topology\tfault\tsent\tok\tlost\tduplicated\tunknown\twrite outage\trecovery\t")
	for _, r := range all {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\n", r.topology, r.fault, r.sent, r.ok, r.lost, r.dup, r.unknown,
			r.outage.Round(10*time.Millisecond), r.recovery.Round(10*time.Millisecond))
		if r.lost > 0 || r.dup > 0 || r.injectErr != nil {
			failed = true
		}
	}
	_ = tw.Flush()
	if failed {
		return fmt.Errorf("faults: loss, duplicates or a failed injection (see above)")
	}
	fmt.Fprintln(out, "faults: ok — nothing lost, nothing applied twice")
	return nil
}

func runTopology(ctx context.Context, opts Options, topo string, standby bool, nodes int, faults []fault, out io.Writer) (results []result, err error) {
	e, err := startEnv(ctx, opts.BinDir, standby, nodes, out)
	if err != nil {
		return nil, err
	}
	keep := opts.Keep
	defer func() { e.close(keep || err != nil) }()

	cert, _, _, err := e.ca.IssueClient(gpOrg, time.Hour)
	if err != nil {
		return nil, err
	}
	var ref *service
	for _, s := range services {
		if s.name == "referral" {
			ref = s
		}
	}
	cc, err := grpcx.Dial(fmt.Sprintf("127.0.0.1:%d", ref.grpc), &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: e.ca.Pool()}, 3*time.Second)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	l := &load{client: referralv1.NewReferralServiceClient(cc), pause: opts.Pause}
	l.setPhase("warm-up")
	stop := make(chan struct{})
	giveUp := time.Now().Add(time.Duration(len(faults))*(2*opts.Steady+opts.Down+90*time.Second) + 2*time.Minute)
	var wg sync.WaitGroup
	for range opts.Clients {
		wg.Add(1)
		go func() { defer wg.Done(); l.run(stop, giveUp) }()
	}
	stopLoad := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}
	defer stopLoad()
	time.Sleep(opts.Steady)

	type timing struct{ outage, recovery time.Duration }
	timings := map[string]timing{}
	var injectErrs = map[string]error{}
	for _, f := range faults {
		l.setPhase(f.name)
		time.Sleep(opts.Steady)
		fmt.Fprintf(out, "  inject: %s\n", f.name)
		injectedAt := time.Now()
		repair, err := f.inject(ctx, e)
		if err != nil {
			injectErrs[f.name] = err
			fmt.Fprintf(out, "  inject %s failed: %v\n", f.name, err)
			continue
		}
		time.Sleep(opts.Down)
		repairedAt := time.Now()
		if err := repair(ctx); err != nil {
			injectErrs[f.name] = err
			fmt.Fprintf(out, "  repair %s failed: %v\n", f.name, err)
			return results, err
		}
		// Recovered: calls acknowledged again, every service serving with NATS connected, and
		// the outbox backlog drained.
		if err := waitFor(ctx, 90*time.Second, "recovery after "+f.name, func() bool {
			if _, ok := l.ackedSince(repairedAt); !ok {
				return false
			}
			for _, s := range services {
				code, body := get(fmt.Sprintf("http://127.0.0.1:%d/readyz", s.admin))
				if code != 200 || !strings.Contains(body, "nats: connected") || !strings.Contains(body, "outbox: 0 unsent") {
					return false
				}
			}
			return true
		}); err != nil {
			injectErrs[f.name] = err
		}
		recoveredAt := time.Now()
		timings[f.name] = timing{outage: l.writeOutage(injectedAt, recoveredAt), recovery: recoveredAt.Sub(repairedAt)}
	}
	l.setPhase("cool-down")
	time.Sleep(opts.Steady)
	stopLoad()

	// Check: every acknowledged signal is in referral, on the stream, and in intake (which
	// consumes it), each exactly once. The consumer chain gets time to drain.
	l.mu.Lock()
	reqs := append([]*request(nil), l.reqs...)
	l.mu.Unlock()
	// Wait while the consumers make progress (at most 5 minutes; a minute without progress
	// ends it): what is still missing then is lost.
	var counts checkCounts
	missing := func(c checkCounts) int {
		n := 0
		for _, r := range reqs {
			if r.acked && c.intake[r.signalID] == 0 {
				n++
			}
		}
		return n
	}
	drainStart, lastProgress, lastMissing := time.Now(), time.Now(), -1
	for {
		c, err := e.count(ctx)
		if err == nil {
			counts = c
			m := missing(c)
			if m == 0 {
				break
			}
			if m != lastMissing {
				lastMissing, lastProgress = m, time.Now()
			}
		}
		if time.Since(lastProgress) > time.Minute || time.Since(drainStart) > 5*time.Minute {
			fmt.Fprintf(out, "  consumers stopped making progress with %d acknowledged signals not in intake\n", lastMissing)
			break
		}
		time.Sleep(time.Second)
	}
	fmt.Fprintf(out, "  consumers drained %s after the load stopped\n", time.Since(drainStart).Round(100*time.Millisecond))
	phases := []string{"warm-up"}
	for _, f := range faults {
		phases = append(phases, f.name)
	}
	phases = append(phases, "cool-down")
	byPhase := map[string]*result{}
	for _, p := range phases {
		byPhase[p] = &result{topology: topo, fault: p, outage: timings[p].outage, recovery: timings[p].recovery, injectErr: injectErrs[p]}
	}
	for _, r := range reqs {
		res := byPhase[r.phase]
		res.sent++
		if !r.acked {
			res.unknown++
			continue
		}
		ref, str, in := counts.referral[r.signalID], counts.stream[r.signalID], counts.intake[r.signalID]
		switch {
		case ref == 0 || str == 0 || in == 0:
			res.lost++
			fmt.Fprintf(out, "  LOST %s (%s): referral %d, stream %d, intake %d\n", r.signalID, r.phase, ref, str, in)
		case ref > 1 || str > 1 || in > 1:
			res.dup++
			fmt.Fprintf(out, "  DUPLICATED %s (%s): referral %d, stream %d, intake %d\n", r.signalID, r.phase, ref, str, in)
		default:
			res.ok++
		}
	}
	// A key applied twice would show as more signals than keys.
	if counts.signals != counts.keys {
		fmt.Fprintf(out, "  DUPLICATED: %d signals for %d idempotency keys\n", counts.signals, counts.keys)
		byPhase["cool-down"].dup += counts.signals - counts.keys
	}
	for _, p := range phases {
		results = append(results, *byPhase[p])
	}
	return results, nil
}

type checkCounts struct {
	referral, stream, intake map[string]int
	signals, keys            int
}

// count reads every service's view of the signals.
func (e *env) count(ctx context.Context) (checkCounts, error) {
	c := checkCounts{referral: map[string]int{}, stream: map[string]int{}, intake: map[string]int{}}
	query := func(db, sql string, fn func(pgx.Rows) error) error {
		conn, err := pgx.Connect(ctx, e.dsn(db))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	if err := query("referral", `SELECT id::text FROM signals`, func(r pgx.Rows) error {
		var id string
		err := r.Scan(&id)
		c.referral[id]++
		c.signals++
		return err
	}); err != nil {
		return c, err
	}
	if err := query("referral", `SELECT count(*) FROM idempotency_keys WHERE method LIKE '%/SubmitSignal'`, func(r pgx.Rows) error {
		return r.Scan(&c.keys)
	}); err != nil {
		return c, err
	}
	if err := query("intake", `SELECT s::text FROM intakes, unnest(signal_ids) AS s`, func(r pgx.Rows) error {
		var id string
		err := r.Scan(&id)
		c.intake[id]++
		return err
	}); err != nil {
		return c, err
	}
	// The stream, read from the start.
	nc, err := e.connectNATS()
	if err != nil {
		return c, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return c, err
	}
	s, err := js.Stream(ctx, natsx.StreamName("referral"))
	if err != nil {
		return c, err
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: eventsubject.Filters(&referralv1.SignalReceived{})})
	if err != nil {
		return c, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return c, err
	}
	remaining := info.NumPending
	for remaining > 0 {
		batch, err := cons.Fetch(int(min(remaining, 500)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return c, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			ev, err := cloudevents.FromMsg(m.Subject(), m.Headers(), m.Data())
			if err != nil {
				return c, err
			}
			msg, err := ev.Decode()
			if err != nil {
				return c, err
			}
			if sr, ok := msg.(*referralv1.SignalReceived); ok {
				c.stream[sr.GetSignalId()]++
			}
		}
		if batch.Error() != nil {
			return c, batch.Error()
		}
		if got == 0 {
			return c, fmt.Errorf("stream read stalled with %d left", remaining)
		}
		remaining -= uint64(got)
	}
	return c, nil
}
