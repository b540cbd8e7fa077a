package svc

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Scheduler is a database-driven timer of a service (deadlines, pilot-light check-ins,
// referral expiry). The runtime calls Tick at start and then every Interval until shutdown;
// Tick does one full pass (draining what is due) and reports how many items it handled. The
// runtime logs failures and exports, per scheduler, wijkbrug_scheduler_runs_total{outcome},
// wijkbrug_scheduler_items_total, wijkbrug_scheduler_duration_seconds and
// wijkbrug_scheduler_last_success_timestamp_seconds. Tick must be safe with several replicas
// (FOR UPDATE SKIP LOCKED or an advisory lock).
type Scheduler struct {
	Name     string
	Interval time.Duration
	Tick     func(ctx context.Context) (int, error)
}

type schedulerMetrics struct {
	runs        *prometheus.CounterVec
	items       *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
}

func newSchedulerMetrics(reg prometheus.Registerer) *schedulerMetrics {
	m := &schedulerMetrics{
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

// RunScheduler runs s until ctx ends; m may be nil (tests).
func RunScheduler(ctx context.Context, s Scheduler, log *slog.Logger, reg prometheus.Registerer) {
	var m *schedulerMetrics
	if reg != nil {
		m = newSchedulerMetrics(reg)
	}
	runScheduler(ctx, s, log, m)
}

func runScheduler(ctx context.Context, s Scheduler, log *slog.Logger, m *schedulerMetrics) {
	if log == nil {
		log = slog.Default()
	}
	if m != nil {
		for _, o := range []string{"ok", "error"} {
			m.runs.WithLabelValues(s.Name, o)
		}
		m.items.WithLabelValues(s.Name)
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		start := time.Now()
		n, err := s.Tick(ctx)
		if ctx.Err() != nil {
			return
		}
		outcome := "ok"
		if err != nil {
			outcome = "error"
			log.WarnContext(ctx, "scheduler failed; retrying at the next tick", "scheduler", s.Name, "error", err.Error())
		} else if n > 0 {
			log.InfoContext(ctx, "scheduler pass", "scheduler", s.Name, "items", n)
		}
		if m != nil {
			m.runs.WithLabelValues(s.Name, outcome).Inc()
			m.duration.WithLabelValues(s.Name).Observe(time.Since(start).Seconds())
			if err == nil {
				m.items.WithLabelValues(s.Name).Add(float64(n))
				m.lastSuccess.WithLabelValues(s.Name).SetToCurrentTime()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
