package observability

import (
	"regexp"
	"sort"

	"github.com/IBM/pgxpoolprometheus"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// RegisterPool exports the statistics of a pgx pool (pgxpool_acquired_conns,
// pgxpool_idle_conns, pgxpool_max_conns, pgxpool_empty_acquire, pgxpool_acquire_duration_ns,
// …) labelled with the database name.
func RegisterPool(reg prometheus.Registerer, pool *pgxpool.Pool, dbName string) error {
	return reg.Register(pgxpoolprometheus.NewCollector(pool, map[string]string{"db_name": dbName}))
}

// Described records the collectors registered on it without collecting, so that the names of
// every metric a process would export can be listed (MetricNames), including vectors that
// have no series yet.
type Described struct{ collectors []prometheus.Collector }

// Register implements prometheus.Registerer.
func (d *Described) Register(c prometheus.Collector) error {
	d.collectors = append(d.collectors, c)
	return nil
}

// MustRegister implements prometheus.Registerer.
func (d *Described) MustRegister(cs ...prometheus.Collector) {
	d.collectors = append(d.collectors, cs...)
}

// Unregister implements prometheus.Registerer.
func (d *Described) Unregister(prometheus.Collector) bool { return false }

var fqNameRe = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists the metric family names of the registered collectors.
func (d *Described) Names() []string {
	seen := map[string]bool{}
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range d.collectors {
			c.Describe(ch)
		}
		close(ch)
	}()
	for desc := range ch {
		if m := fqNameRe.FindStringSubmatch(desc.String()); m != nil {
			seen[m[1]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Standard registers the Go and process collectors (NewRegistry has them).
func Standard(reg prometheus.Registerer) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// RegisterNATS exports the state of the NATS connection: wijkbrug_nats_connected (1 while
// connected), wijkbrug_nats_reconnects_total and the message and byte counters of the
// connection.
func RegisterNATS(reg prometheus.Registerer, nc *nats.Conn) error {
	connected := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wijkbrug_nats_connected", Help: "1 while the NATS connection is up, 0 while it is down or reconnecting.",
	}, func() float64 {
		if nc.IsConnected() {
			return 1
		}
		return 0
	})
	counter := func(name, help string, f func(nats.Statistics) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(nc.Stats())) })
	}
	for _, c := range []prometheus.Collector{
		connected,
		counter("wijkbrug_nats_reconnects_total", "Reconnections to NATS since start.", func(s nats.Statistics) uint64 { return s.Reconnects }),
		counter("wijkbrug_nats_in_msgs_total", "Messages received from NATS.", func(s nats.Statistics) uint64 { return s.InMsgs }),
		counter("wijkbrug_nats_out_msgs_total", "Messages sent to NATS.", func(s nats.Statistics) uint64 { return s.OutMsgs }),
		counter("wijkbrug_nats_in_bytes_total", "Bytes received from NATS.", func(s nats.Statistics) uint64 { return s.InBytes }),
		counter("wijkbrug_nats_out_bytes_total", "Bytes sent to NATS.", func(s nats.Statistics) uint64 { return s.OutBytes }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
