package main

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// results is everything one run measured.
type results struct {
	Machine                             string
	Options                             options
	Started, Finished                   time.Time
	LoadBefore, LoadAfter               string
	Baselines                           []measurement
	Writes                              []measurement
	OpenLoop                            measurement
	Lag                                 []lagResult
	Chain                               chainResult
	Lists                               []listRow
	ScaleLoads                          []string
	ColdStart, UncachedStart, WarmStart time.Duration
}

func yes(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r *results) markdown() string {
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("# Wijkbrug benchmark results\n\n")
	w("- started %s, took %s\n", r.Started.UTC().Format(time.RFC3339), r.Finished.Sub(r.Started).Round(time.Second))
	w("- machine: %s\n", r.Machine)
	w("- load average (1/5/15 min) before: %s, after: %s (the bench itself adds about 2–3; more means other work shared the machine)\n", r.LoadBefore, r.LoadAfter)
	w("- each closed-loop measurement %s; concurrencies %v; PostgreSQL synchronous_commit=on, fsync on; JetStream sync always; mTLS; ghz %s\n",
		r.Options.duration, r.Options.conc, "v0.120.0")
	w("- command: `go run ./cmd/wijkbrug/bench %s`\n\n", r.commandLine())

	w("## Start of the suite (`make run`, binary built)\n\nTarget (DESIGN §9): ≤ 3 s. Each start is a process of its own, as each `make run` is, timed until every service answers.\n\n| start | seconds | target |\n|---|---|---|\n")
	w("| first start (certificates, PostgreSQL cluster, databases, migrations, streams, demo data) | %.2f | %s |\n", r.ColdStart.Seconds(), yes(r.ColdStart <= 3*time.Second))
	if r.UncachedStart > 0 {
		w("| the same on a machine that has not run initdb for these PostgreSQL binaries (no initdb cache yet) | %.2f | %s |\n", r.UncachedStart.Seconds(), yes(r.UncachedStart <= 3*time.Second))
	}
	w("| restart with the data kept | %.2f | %s |\n\n", r.WarmStart.Seconds(), yes(r.WarmStart <= 3*time.Second))

	if len(r.Writes) > 0 {
		w("## Mutating RPCs against the raw-pgx baseline (same run, interleaved)\n\n")
		w("Target (DESIGN §9): ≥ 0.7 × the baseline at the same concurrency.\n\n")
		w("| RPC | c | calls | errors | /s | p50 | p90 | p99 | max | baseline /s | ratio | target |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, m := range r.Writes {
			w("| %s | %d | %d | %d | %.1f | %s | %s | %s | %s | %.1f | %.2f | %s |\n", m.Name, m.Conc, m.Count, m.Errors, m.RPS, ms(m.P50), ms(m.P90), ms(m.P99), ms(m.Max), m.Baseline, m.Ratio, yes(m.Ratio >= 0.7))
		}
		w("\nBaseline runs (before and after the RPCs of each concurrency):\n\n| c | /s | p50 | p99 | max | errors | load avg | PostgreSQL waits (mean active backends) |\n|---|---|---|---|---|---|---|---|\n")
		for _, m := range r.Baselines {
			w("| %d | %.1f | %s | %s | %s | %d | %s | %s |\n", m.Conc, m.RPS, ms(m.P50), ms(m.P99), ms(m.Max), m.Errors, m.LoadAvg, m.Waits)
		}
		r.quietLines(w)
		w("\nPostgreSQL waits during each RPC run (pg_stat_activity sampled every 10 ms; mean number of active client backends per state; CPU = running):\n\n| RPC | c | waits |\n|---|---|---|\n")
		for _, m := range r.Writes {
			w("| %s | %d | %s |\n", m.Name, m.Conc, m.Waits)
		}
		for _, m := range r.Writes {
			if m.Errors > 0 {
				w("\n- %s c=%d errors: %v (e.g. %s)", m.Name, m.Conc, m.StatusDist, m.ErrSample)
			}
		}
		w("\n\n## p99 at half of the maximum throughput (SubmitSignal, open loop)\n\n")
		o := r.OpenLoop
		w("| offered /s | achieved /s | calls | errors | p50 | p90 | p99 | max | target p99 ≤ 10 ms |\n|---|---|---|---|---|---|---|---|---|\n")
		w("| %.0f | %.1f | %d | %d | %s | %s | %s | %s | %s |\n\n", o.Rate, o.RPS, o.Count, o.Errors, ms(o.P50), ms(o.P90), ms(o.P99), ms(o.Max), yes(o.P99 <= 10*time.Millisecond && o.Count > 0))
		w("Started on a quiet suite after waiting %s.\n\n", quietMD(o.Quiet))
		if o.CPU > 0 {
			w("CPU per signal: %s of the machine's CPU time (both CPUs: the suite, PostgreSQL, NATS and the bench's client) from the start of this run until the suite was quiet again, its chain of intake, feedback and read models included (`/proc/stat`)", msPrec(o.CPU))
			var base measurement // the baseline at the highest concurrency measured (its first run)
			for _, bl := range r.Baselines {
				if bl.CPU > 0 && bl.Conc > base.Conc {
					base = bl
				}
			}
			if base.CPU > 0 {
				w("; the raw baseline's transaction, measured the same way during its run at c = %d: %s (%.1f × as much for a signal)", base.Conc, msPrec(base.CPU), float64(o.CPU)/float64(base.CPU))
			}
			w(".\n\n")
		}
		w("## Event lag (RPC answer → event on JetStream)\n\n")
		w("Stored: the time the stream gave the event when it stored it − ce-time (taken in the writing transaction, before its commit and the RPC's answer), an upper bound of RPC answer → event on JetStream; the target applies to it. Delivered: arrival at an integrator's subscriber (this bench's ordered consumer, TLS, observer identity) − ce-time, which adds the delivery.\n\n")
		w("| run | events | expected | stored p50 | p90 | p99 | max | delivered p50 | p99 | target stored p99 ≤ 50 ms |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, l := range r.Lag {
			w("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", l.Name, l.Count, l.Expected, ms(l.Stored.P50), ms(l.Stored.P90), ms(l.Stored.P99), ms(l.Stored.Max),
				ms(l.Delivered.P50), ms(l.Delivered.P99), yes(l.Stored.P99 <= 50*time.Millisecond && l.Count > 0))
		}
		w("\nThe relay meanwhile (from before each run until its last event had arrived; `wijkbrug_outbox_round_seconds`: a round's publish is until JetStream's last acknowledgement, its mark the PostgreSQL round trip that marks the rows and reads the next round's; a round whose rows that read did not bring, because the relay was waiting for work, reads them itself first):\n\n")
		for _, l := range r.Lag {
			w("- %s: %s\n", l.Name, l.Relay)
		}
		c := r.Chain
		w("\n## Asynchronous chain signal → intake → feedback\n\n")
		w("Signals offered at the front door's maximum closed-loop rate (%.1f/s) for %s, started on a quiet suite after waiting %s.\n\n", c.FrontDoorMax, c.LoadFor.Round(time.Millisecond), quietMD(c.Quiet))
		w("| offered /s | signals in /s | fed back /s (during load) | backlog at end of load | waited after the load | fed back by then | target |\n|---|---|---|---|---|---|---|\n")
		backlog := c.InAtEnd - c.DoneAtEnd
		kept := c.DoneAll >= c.InAll && c.InAll > 0 && (c.InRate == 0 || c.ChainRate >= 0.9*c.InRate)
		w("| %.0f | %.1f | %.1f | %d | %s | %d of %d | %s |\n\n", c.Offered, c.InRate, c.ChainRate, backlog, c.Drain.Round(time.Millisecond), c.DoneAll, c.InAll, yes(kept))
		w("Backlog (signals in − fed back) per second of the run: ")
		for _, s := range c.Samples {
			w("%d ", s.In-s.Done)
		}
		w("\n\nWhere the work waited (every 5th second: unpublished outbox rows, unsealed access-log entries, and per service consumer the events not yet delivered to it and those delivered but not yet acknowledged):\n\n")
		w("| s | signals in − fed back | waiting |\n|---|---|---|\n")
		for i, s := range c.Samples {
			if i%5 == 4 || i == len(c.Samples)-1 {
				w("| %.0f | %d | %s |\n", s.At.Seconds(), s.In-s.Done, strings.Join(s.Where, ", "))
			}
		}
		w("\n")
		if len(c.Batches) > 0 {
			w("Events the consumers handled in batches during the run, load and drain (several events in one transaction, `WIJKBRUG_CONSUMER_BATCH`; a failed batch is handled again event by event):\n\n")
			for _, l := range c.Batches {
				w("- %s\n", l)
			}
			w("\n")
		}
		if len(c.Statements) > 0 {
			w("PostgreSQL execution time per statement during the chain run, load and drain, %d signals in (pg_stat_statements, `-statements`; %s):\n\n", c.InAll, c.WAL)
			for _, st := range c.Statements {
				w("- %s\n", st.markdown())
			}
			w("\n")
		}
	}
	if len(r.Lists) > 0 {
		w("## List and search RPCs\n\nTarget (DESIGN §9, at 1,000,000 cases and 16 callers): median ≤ 5 ms, p99 ≤ 20 ms; median growth 10k → 1M ≤ 1.5×.\n\n")
		w("| cases | RPC | c | calls | errors | /s | p50 | p90 | p99 | max | target |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, l := range r.Lists {
			m := l.M
			w("| %s | %s | %d | %d | %d | %.1f | %s | %s | %s | %s | %s |\n", l.Size, m.Name, m.Conc, m.Count, m.Errors, m.RPS, ms(m.P50), ms(m.P90), ms(m.P99), ms(m.Max), yes(m.P50 <= 5*time.Millisecond && m.P99 <= 20*time.Millisecond))
		}
		for _, l := range r.Lists {
			if l.M.Errors > 0 {
				w("- %s (%s cases) errors: %v (e.g. %s)\n", l.M.Name, l.Size, l.M.StatusDist, l.M.ErrSample)
			}
		}
		w("\n")
		r.growth(w)
		r.statementLines(w)
	}
	for _, s := range r.ScaleLoads {
		w("- %s\n", s)
	}
	return b.String()
}

// quietLines shows, per concurrency, how long each run waited for a quiet suite before it
// started, in the order the runs ran.
func (r *results) quietLines(w func(string, ...any)) {
	w("\nEvery run, baseline or RPC, started on a quiet suite: every outbox published and every durable consumer of the services with nothing pending and nothing unacknowledged (two checks in a row, 100 ms apart; at most %.0f s, then the run starts anyway and the wait is marked). The wait before each run:\n\n", quietLimit.Seconds())
	for i := 0; i+1 < len(r.Baselines); i += 2 {
		c := r.Baselines[i].Conc
		parts := []string{"baseline " + quietMD(r.Baselines[i].Quiet)}
		for _, m := range r.Writes {
			if m.Conc == c {
				parts = append(parts, m.Name+" "+quietMD(m.Quiet))
			}
		}
		parts = append(parts, "baseline "+quietMD(r.Baselines[i+1].Quiet))
		w("- c=%d: %s\n", c, strings.Join(parts, " · "))
	}
}

func quietMD(q quietWait) string {
	if q.Pending != "" {
		return fmt.Sprintf("**%.1f s, not quiet** (%s)", q.Took.Seconds(), q.Pending)
	}
	return q.String()
}

// statementLines lists, with -statements, where PostgreSQL spent its execution time during each
// list/search measurement at 16 callers.
func (r *results) statementLines(w func(string, ...any)) {
	header := false
	for _, l := range r.Lists {
		if len(l.Statements) == 0 || l.M.Conc != 16 {
			continue
		}
		if !header {
			w("PostgreSQL execution time per statement during each measurement at 16 callers (pg_stat_statements, `-statements`; execution only, not the WAL flush at COMMIT):\n\n")
			header = true
		}
		w("- %s, %s cases (%s):\n", l.M.Name, l.Size, l.WAL)
		for _, st := range l.Statements {
			w("  - %s\n", st.markdown())
		}
	}
	if header {
		w("\n")
	}
}

// growth compares the median of each list RPC at the smallest and the largest scale size.
func (r *results) growth(w func(string, ...any)) {
	var sizes []string
	for _, l := range r.Lists {
		if l.Size != "demo" && (len(sizes) == 0 || sizes[len(sizes)-1] != l.Size) {
			sizes = append(sizes, l.Size)
		}
	}
	if len(sizes) < 2 {
		return
	}
	first, last := sizes[0], sizes[len(sizes)-1]
	w("Median growth from %s to %s cases (16 callers; target ≤ 1.5×):\n\n| RPC | p50 at %s | p50 at %s | growth | target |\n|---|---|---|---|---|\n", first, last, first, last)
	at := func(size, name string) time.Duration {
		for _, l := range r.Lists {
			if l.Size == size && l.M.Name == name && l.M.Conc == 16 {
				return l.M.P50
			}
		}
		return 0
	}
	for _, l := range listLoads() {
		a, z := at(first, l.name), at(last, l.name)
		if a > 0 && z > 0 {
			g := float64(z) / float64(a)
			w("| %s | %s | %s | %.2f× | %s |\n", l.name, ms(a), ms(z), g, yes(g <= 1.5))
		}
	}
	w("\n")
}

func (r *results) commandLine() string {
	o := r.Options
	if o.smoke {
		return "-smoke"
	}
	parts := []string{"-duration " + o.duration.String(), "-conc " + joinInts(o.conc)}
	if len(o.scale) > 0 {
		parts = append(parts, "-scale "+joinInts(o.scale))
	}
	if o.skipWrites {
		parts = append(parts, "-skip-writes")
	}
	if len(o.scale) > 0 && o.listCalls != 400 {
		parts = append(parts, fmt.Sprintf("-list-calls %d", o.listCalls))
	}
	if o.statements {
		parts = append(parts, "-statements")
	}
	if o.consumerWorkers > 0 {
		parts = append(parts, fmt.Sprintf("-consumer-workers %d", o.consumerWorkers))
	}
	if o.consumerBatch > 0 {
		parts = append(parts, fmt.Sprintf("-consumer-batch %d", o.consumerBatch))
	}
	return strings.Join(parts, " ")
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

// smokeCheck fails the smoke run when a measurement produced nothing or only errors: the
// figures themselves depend on the machine and are not judged here.
func (r *results) smokeCheck() error {
	var problems []string
	for _, m := range append(append([]measurement{}, r.Baselines...), r.Writes...) {
		if m.Count == 0 || m.Errors > 0 {
			problems = append(problems, fmt.Sprintf("%s c=%d: %d calls, %d errors %s", m.Name, m.Conc, m.Count, m.Errors, m.ErrSample))
		}
	}
	for _, l := range r.Lists {
		if l.M.Count == 0 || l.M.Errors > 0 {
			problems = append(problems, fmt.Sprintf("%s (%s cases): %d calls, %d errors %s", l.M.Name, l.Size, l.M.Count, l.M.Errors, l.M.ErrSample))
		}
	}
	for _, l := range r.Lag {
		if l.Count == 0 {
			problems = append(problems, "no events seen for "+l.Name)
		}
	}
	if r.Chain.DoneAll == 0 {
		problems = append(problems, "no signal got its feedback in the chain run")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w:\n  %s", errSmoke, strings.Join(problems, "\n  "))
	}
	return nil
}

var _ = errors.New
