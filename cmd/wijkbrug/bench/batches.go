package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// batchCounts are one consumer's batch counters (pkg/consumer): transactions of more than one
// event that committed or failed, the events committed in them, and, for a consumer that reads
// ahead for its batches (Spec.Prepare), the batches whose read-ahead failed.
type batchCounts struct {
	Committed, Failed, Events float64
	PrepareFailed             float64
	Prepares                  bool
}

// scrape reads one service's /metrics.
func scrape(ctx context.Context, name, adminAddr string) (map[string]*dto.MetricFamily, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", name, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", name, err)
	}
	return families, nil
}

// relayRounds are one service's relay counters (pkg/outbox): the rounds that published, the
// seconds their publishes and marks took in all, the rounds that read their rows themselves
// and the seconds those reads took, and the events published.
type relayRounds struct {
	Rounds, Publish, Marks, Mark, Reads, Read, Events float64
}

// readRelay reads service's relay counters from its /metrics.
func (b *bench) readRelay(ctx context.Context, service string) (relayRounds, error) {
	var r relayRounds
	e := b.s.Endpoint(service)
	if e.Name == "" {
		return r, fmt.Errorf("no service %q in the suite", service)
	}
	families, err := scrape(ctx, e.Name, e.AdminAddr)
	if err != nil {
		return r, err
	}
	if f := families["wijkbrug_outbox_round_seconds"]; f != nil {
		for _, m := range f.GetMetric() {
			h := m.GetHistogram()
			switch label(m, "phase") {
			case "publish":
				r.Rounds, r.Publish = float64(h.GetSampleCount()), h.GetSampleSum()
			case "mark":
				r.Marks, r.Mark = float64(h.GetSampleCount()), h.GetSampleSum()
			case "read":
				r.Reads, r.Read = float64(h.GetSampleCount()), h.GetSampleSum()
			}
		}
	}
	if f := families["wijkbrug_outbox_published_total"]; f != nil && len(f.GetMetric()) > 0 {
		r.Events = f.GetMetric()[0].GetCounter().GetValue()
	}
	return r, nil
}

// relayLine describes a relay's rounds between two readings: "referral's relay published 4582
// events in 412 rounds (11.1 each); a round's publish took 9.8 ms and its mark 2.1 ms on
// average; 130 of them read their rows themselves first, in 1.2 ms on average".
func relayLine(service string, before, after relayRounds) string {
	rounds, marks, reads := after.Rounds-before.Rounds, after.Marks-before.Marks, after.Reads-before.Reads
	if rounds <= 0 {
		return service + "'s relay published nothing"
	}
	mean := func(sum, n float64) float64 {
		if n <= 0 {
			return 0
		}
		return sum / n * 1000
	}
	events := after.Events - before.Events
	return fmt.Sprintf("%s's relay published %.0f events in %.0f rounds (%.1f each); a round's publish took %.1f ms and its mark %.1f ms on average; %.0f of them read their rows themselves first, in %.1f ms on average",
		service, events, rounds, events/rounds, mean(after.Publish-before.Publish, rounds), mean(after.Mark-before.Mark, marks),
		reads, mean(after.Read-before.Read, reads))
}

// consumerBatches reads every service's consumer batch counters from its /metrics.
func (b *bench) consumerBatches(ctx context.Context) (map[string]batchCounts, error) {
	out := map[string]batchCounts{}
	for _, e := range b.s.Services {
		families, err := scrape(ctx, e.Name, e.AdminAddr)
		if err != nil {
			return nil, err
		}
		add := func(family string, set func(*batchCounts, string, float64)) {
			f := families[family]
			if f == nil {
				return
			}
			for _, m := range f.GetMetric() {
				c := out[label(m, "consumer")]
				set(&c, label(m, "outcome"), m.GetCounter().GetValue())
				out[label(m, "consumer")] = c
			}
		}
		add("wijkbrug_consumer_batches_total", func(c *batchCounts, outcome string, v float64) {
			if outcome == "failed" {
				c.Failed += v
			} else {
				c.Committed += v
			}
		})
		add("wijkbrug_consumer_batched_events_total", func(c *batchCounts, _ string, v float64) { c.Events += v })
		add("wijkbrug_consumer_prepare_failures_total", func(c *batchCounts, _ string, v float64) {
			c.Prepares = true
			c.PrepareFailed += v
		})
	}
	return out, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// batchLines describes, per consumer, the batches between two readings: "intake-signals: 8,120
// events in 530 batches (15.3 each), 0 failed".
func batchLines(before, after map[string]batchCounts) []string {
	var lines []string
	for name, a := range after {
		d := batchCounts{Committed: a.Committed - before[name].Committed, Failed: a.Failed - before[name].Failed, Events: a.Events - before[name].Events}
		if d.Committed == 0 && d.Failed == 0 {
			continue
		}
		each := 0.0
		if d.Committed > 0 {
			each = d.Events / d.Committed
		}
		line := fmt.Sprintf("%s: %.0f events in %.0f batches (%.1f each), %.0f batches failed and were handled event by event",
			name, d.Events, d.Committed, each, d.Failed)
		if a.Prepares {
			line += fmt.Sprintf(", %.0f read-aheads failed", a.PrepareFailed-before[name].PrepareFailed)
		}
		lines = append(lines, line)
	}
	slices.SortFunc(lines, strings.Compare)
	return lines
}
