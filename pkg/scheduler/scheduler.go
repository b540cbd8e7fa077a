// Package scheduler is the one way a Wijkbrug service runs a database-driven timer (triage
// deadlines, pilot-light check-ins, not-started alerts, referral expiry).
//
// A service declares a Job: its name, how often it runs, how many items one transaction
// handles, the system caller it acts as and the batch function. The batch function is the
// only thing a service writes: it handles at most limit due items in one transaction that
// claims them with SELECT … FOR UPDATE SKIP LOCKED, so several replicas may run the job at
// the same time without handling an item twice (the job is leader-safe without a leader).
// Run drains the job (Drain: batches until one handles fewer than limit) at start and then
// every Interval until its context ends, logs failures and exports the scheduler metrics.
//
// The package imports no gRPC, database or NATS code, so application packages and their tests
// may use it.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
)

// Job is one periodic job of a service.
type Job struct {
	// Name labels the job's log lines and metrics (the scheduler label), e.g. "referral-expiry".
	Name string
	// Interval is the time between two drains.
	Interval time.Duration
	// BatchSize is the limit passed to Batch: how many items one transaction handles at most.
	BatchSize int
	// Caller is the system identity the job acts as (identity.System); the runtime puts it in
	// the context of every batch, so the access log and any authorisation see it.
	Caller identity.Caller
	// Batch handles at most limit due items in one transaction, claiming them with FOR UPDATE
	// SKIP LOCKED, and reports how many it handled; on error the transaction is rolled back
	// and handled is ignored. A batch that handles fewer than limit items ends the drain.
	Batch func(ctx context.Context, limit int) (handled int, err error)
}

// Validate reports what is missing from a job; the runtime refuses to start with one.
func (j Job) Validate() error {
	var errs []error
	if j.Name == "" {
		errs = append(errs, errors.New("no name"))
	}
	if j.Interval <= 0 {
		errs = append(errs, errors.New("interval must be positive"))
	}
	if j.BatchSize <= 0 {
		errs = append(errs, errors.New("batch size must be positive"))
	}
	if j.Caller.Org.OIN == "" {
		errs = append(errs, errors.New("no caller (identity.System of the service)"))
	}
	if j.Batch == nil {
		errs = append(errs, errors.New("no batch function"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scheduler job %q: %w", j.Name, err)
	}
	return nil
}

// Drain calls j.Batch, acting as j.Caller, until a batch handles fewer than j.BatchSize items,
// a batch fails or ctx ends. It returns the number of items handled by the batches that
// succeeded. This is one pass of the job; Run calls it on every tick, tests call it directly.
func Drain(ctx context.Context, j Job) (int, error) {
	if j.BatchSize <= 0 {
		return 0, fmt.Errorf("scheduler job %q: batch size must be positive", j.Name)
	}
	ctx = identity.WithCaller(ctx, j.Caller)
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := j.Batch(ctx, j.BatchSize)
		if err != nil {
			return total, err
		}
		total += n
		if n < j.BatchSize {
			return total, nil
		}
	}
}

// Metrics are the scheduler metrics of a process, labelled by job name.
type Metrics struct {
	runs        *prometheus.CounterVec
	items       *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
}

// NewMetrics registers wijkbrug_scheduler_runs_total{scheduler,outcome},
// wijkbrug_scheduler_items_total, wijkbrug_scheduler_duration_seconds and
// wijkbrug_scheduler_last_success_timestamp_seconds (the alert rules in deploy/monitoring use
// them) with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wijkbrug_scheduler_runs_total", Help: "Scheduler passes, by scheduler and outcome (ok, error).",
		}, []string{"scheduler", "outcome"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wijkbrug_scheduler_items_total", Help: "Items (deadlines, check-ins, expiries) handled by a scheduler.",
		}, []string{"scheduler"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wijkbrug_scheduler_duration_seconds", Help: "Duration of a scheduler pass.",
			Buckets: []float64{.005, .01, .05, .1, .5, 1, 5, 30},
		}, []string{"scheduler"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wijkbrug_scheduler_last_success_timestamp_seconds", Help: "Unix time of the last pass that succeeded.",
		}, []string{"scheduler"}),
	}
	reg.MustRegister(m.runs, m.items, m.duration, m.lastSuccess)
	return m
}

// Run drains j at once and then every j.Interval until ctx ends. A failed pass is logged and
// retried at the next tick; items of the batches that committed before the failure are
// counted. log and m may be nil (tests).
func Run(ctx context.Context, j Job, log *slog.Logger, m *Metrics) {
	if log == nil {
		log = slog.Default()
	}
	if m != nil {
		for _, o := range []string{"ok", "error"} {
			m.runs.WithLabelValues(j.Name, o)
		}
		m.items.WithLabelValues(j.Name)
	}
	t := time.NewTicker(j.Interval)
	defer t.Stop()
	for {
		start := time.Now()
		n, err := Drain(ctx, j)
		if ctx.Err() != nil {
			return
		}
		outcome := "ok"
		if err != nil {
			outcome = "error"
			log.WarnContext(ctx, "scheduler failed; retrying at the next tick", "scheduler", j.Name, "items", n, "error", err.Error())
		} else if n > 0 {
			log.InfoContext(ctx, "scheduler pass", "scheduler", j.Name, "items", n)
		}
		if m != nil {
			m.runs.WithLabelValues(j.Name, outcome).Inc()
			m.duration.WithLabelValues(j.Name).Observe(time.Since(start).Seconds())
			m.items.WithLabelValues(j.Name).Add(float64(n))
			if err == nil {
				m.lastSuccess.WithLabelValues(j.Name).SetToCurrentTime()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
