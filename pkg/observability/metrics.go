package observability

import (
	"github.com/IBM/pgxpoolprometheus"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// RegisterPool exports the statistics of a pgx pool (pgxpool_acquired_conns,
// pgxpool_idle_conns, pgxpool_max_conns, pgxpool_empty_acquire, pgxpool_acquire_duration_ns,
// …) labelled with the database name.
func RegisterPool(reg prometheus.Registerer, pool *pgxpool.Pool) error {
	return reg.Register(pgxpoolprometheus.NewCollector(pool, map[string]string{"db_name": pool.Config().ConnConfig.Database}))
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
