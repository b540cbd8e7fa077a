// Command bench measures Wijkbrug as its users run it and writes the figures of DESIGN §9
// next to their targets.
//
//	go run ./cmd/wijkbrug/bench [-duration 5s] [-conc 1,4,16] [-out bench-results.md]
//	                            [-scale 10000,100000] [-smoke]
//
// It starts the all-in-one suite (PostgreSQL with synchronous_commit=on and fsync, JetStream
// syncing every message, mutual TLS, the normal authorisation and access log), then, for each
// concurrency, interleaves the raw-pgx baseline (business row + outbox row + access-log row in
// one transaction per request, same PostgreSQL cluster) with the main mutating RPCs, driven by
// ghz (github.com/bojand/ghz/runner) with unique idempotency keys and distinct valid BSNs. It
// then measures p99 at half of the maximum SubmitSignal rate (open loop), the event lag, the
// asynchronous chain signal → intake → feedback (and, every second, where its backlog waits),
// the list/search RPCs, and optionally the list RPCs at scale (-scale: cases loaded with
// INSERT … SELECT generate_series before measuring). See docs/performance.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/svc"
)

// interrupts receives Ctrl-C and SIGTERM, which end the bench: the suite stops and its
// PostgreSQL with it.
var interrupts = make(chan os.Signal, 1)

// listenForInterrupts makes the bench alone receive Ctrl-C and SIGTERM. ghz (v0.120.0)
// registers an interrupt handler for every run and never removes it; a Ctrl-C after several
// runs made each finished run's handler stop its requester again, and the bench ended in a
// panic. It is called again after every ghz run, dropping that run's handler. (A signal in
// the microseconds between the reset and the new registration would end the process
// unhandled; the suite's PostgreSQL then stops when its parent is gone.)
func listenForInterrupts() {
	signal.Reset(os.Interrupt, syscall.SIGTERM)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
}

type options struct {
	duration   time.Duration
	conc       []int
	out        string
	scale      []int
	smoke      bool
	chainFor   time.Duration
	listCalls  int
	skipWrites bool
	profileDir string
	// statements loads pg_stat_statements and lists, after each list/search measurement and
	// after the chain run, the statements PostgreSQL spent the most time on, the WAL written and
	// the tables sequential scans read.
	statements bool
	// consumerWorkers and consumerBatch set the services' event consumers (0 = their defaults).
	consumerWorkers, consumerBatch int
	// consumerLinger sets the consumers' linger (nil = their default).
	consumerLinger *time.Duration
}

func main() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		<-interrupts
		stop()
	}()
	listenForInterrupts()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "bench: interrupted; the suite was stopped and nothing was written")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	duration := fs.Duration("duration", 5*time.Second, "length of each closed-loop measurement")
	conc := fs.String("conc", "1,4,16", "concurrencies (callers) to measure")
	outFile := fs.String("out", "bench-results.md", "results file (Markdown); empty = none")
	scale := fs.String("scale", "", "caseload sizes to load and measure the list RPCs at, e.g. 10000,100000,1000000 (empty = none)")
	smoke := fs.Bool("smoke", false, "a short run (under a minute, at 4 callers) that checks every measurement works, for make test")
	chainFor := fs.Duration("chain-duration", 0, "length of the asynchronous-chain run (default 3 × -duration)")
	listCalls := fs.Int("list-calls", 400, "calls per list/search measurement at scale")
	skipWrites := fs.Bool("skip-writes", false, "skip the write, lag and chain measurements (scale only)")
	profileDir := fs.String("profile-dir", "", "write a CPU profile of the whole process (suite, ghz, baseline) during each SubmitSignal run, the drain of the chain run and each list/search measurement here")
	startups := fs.Int("startups", 0, "only time N first starts and restarts of the suite (each on a new data directory), print each and their medians, and stop")
	consumerWorkers := fs.Int("consumer-workers", 0, "workers per event consumer in every service, as WIJKBRUG_CONSUMER_WORKERS sets them for a service binary (0 = the default)")
	consumerBatch := fs.Int("consumer-batch", 0, "most events a consumer worker handles in one transaction, as WIJKBRUG_CONSUMER_BATCH (0 = the default)")
	consumerLinger := fs.String("consumer-linger", "", "how long a consumer worker waits for events to join a batch while they keep coming, as WIJKBRUG_CONSUMER_LINGER (a duration; 0 = never; empty = the default)")
	statements := fs.Bool("statements", false, "load pg_stat_statements and print, after each list/search measurement and after the chain run, the statements PostgreSQL spent the most time executing, the WAL written and the tables sequential scans read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *startups > 0 {
		return startupSeries(ctx, *startups, out)
	}
	o := options{duration: *duration, out: *outFile, smoke: *smoke, chainFor: *chainFor, listCalls: *listCalls, skipWrites: *skipWrites, profileDir: *profileDir,
		statements: *statements, consumerWorkers: *consumerWorkers, consumerBatch: *consumerBatch}
	if o.consumerWorkers < 0 || o.consumerBatch < 0 {
		return fmt.Errorf("-consumer-workers and -consumer-batch must not be negative")
	}
	if *consumerLinger != "" {
		d, err := time.ParseDuration(*consumerLinger)
		if err != nil || d < 0 || d > svc.MaxConsumerLinger {
			return fmt.Errorf("-consumer-linger %q: a duration from 0 to %s", *consumerLinger, svc.MaxConsumerLinger)
		}
		o.consumerLinger = &d
	}
	var err error
	if o.conc, err = parseInts(*conc); err != nil {
		return fmt.Errorf("-conc: %w", err)
	}
	if o.scale, err = parseInts(*scale); err != nil {
		return fmt.Errorf("-scale: %w", err)
	}
	if o.smoke {
		o.duration, o.conc, o.chainFor, o.listCalls = time.Second, []int{4}, 3*time.Second, 50
		if len(o.scale) == 0 {
			o.scale = []int{2000}
		}
	}
	if o.chainFor == 0 {
		o.chainFor = 3 * o.duration
	}

	cold, warm, err := startupTimes(ctx)
	if err != nil {
		return fmt.Errorf("cold start: %w", err)
	}
	fmt.Fprintf(out, "  cold start (first start: initdb, certificates, migrations, demo data) %.2f s; restart with data kept %.2f s (target ≤ 3 s)\n",
		cold.Seconds(), warm.Seconds())

	fmt.Fprintf(out, "Starting the suite (PostgreSQL synchronous_commit=on, JetStream sync always, mTLS)…\n")
	var pgSettings map[string]string
	if o.statements {
		pgSettings = map[string]string{"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all"}
	}
	s, err := suite.Start(ctx, suite.Options{Ephemeral: true, LogLevel: "error", LogOutput: io.Discard, NoRateLimits: true,
		PostgresSettings: pgSettings, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ConsumerWorkers: o.consumerWorkers, ConsumerBatch: o.consumerBatch, ConsumerLinger: o.consumerLinger})
	if err != nil {
		return fmt.Errorf("start suite: %w", err)
	}
	defer s.Stop()
	b, err := newBench(ctx, s, o, out)
	if err != nil {
		return err
	}
	defer b.close()
	res := &results{Machine: machine(), Options: o, Started: time.Now(), ColdStart: cold, WarmStart: warm}
	res.LoadBefore = loadAverage()
	if !o.skipWrites {
		if err := b.writes(ctx, res); err != nil {
			return err
		}
		if err := b.openLoop(ctx, res); err != nil {
			return err
		}
		if err := b.chain(ctx, res); err != nil {
			return err
		}
		// The lists are measured on a machine that is not still working off the chain's
		// backlog: otherwise they measure that backlog (which may take longer than one run's).
		q, err := b.quiesce(ctx, "the lists", 3*time.Minute)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  quiet wait before the lists: %s\n", q)
	}
	if err := b.lists(ctx, res, "demo"); err != nil {
		return err
	}
	for _, n := range o.scale {
		if err := b.scaleTo(ctx, n); err != nil {
			return fmt.Errorf("load %d cases: %w", n, err)
		}
		if err := b.lists(ctx, res, strconv.Itoa(n)); err != nil {
			return err
		}
	}
	res.LoadAfter = loadAverage()
	res.Finished = time.Now()
	report := res.markdown()
	fmt.Fprintln(out)
	fmt.Fprint(out, report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nResults written to %s\n", o.out)
	}
	if o.smoke {
		return res.smokeCheck()
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			if kb, err := strconv.Atoi(f[1]); err == nil {
				mem = fmt.Sprintf(", %.0f GiB", float64(kb)/1024/1024)
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s)%s, %s/%s, %s", runtime.NumCPU(), cpu, mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// loadAverage is the machine's load average and, where the kernel reports it, the share of the
// last 10 s in which some task waited for a CPU (PSI): on a shared machine, the context every
// figure must be read in.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	out := strings.Join(f[:3], " ")
	if p, err := os.ReadFile("/proc/pressure/cpu"); err == nil {
		for _, field := range strings.Fields(strings.SplitN(string(p), "\n", 2)[0]) {
			if v, ok := strings.CutPrefix(field, "avg10="); ok {
				out += ", CPU waited " + v + "%"
			}
		}
	}
	return out
}

var errSmoke = errors.New("smoke run failed")

// startupSeries times n first starts and restarts (startupTimes) one after another: a single
// start varies by half a second on a shared 2-core machine, so a change to start-up is judged
// by the medians of a series.
func startupSeries(ctx context.Context, n int, out io.Writer) error {
	var cold, warm []time.Duration
	for i := range n {
		c, w, err := startupTimes(ctx)
		if err != nil {
			return fmt.Errorf("start %d: %w", i+1, err)
		}
		cold, warm = append(cold, c), append(warm, w)
		fmt.Fprintf(out, "start %d: first start %.2f s, restart %.2f s\n", i+1, c.Seconds(), w.Seconds())
	}
	median := func(d []time.Duration) time.Duration {
		d = slices.Clone(d)
		slices.Sort(d)
		if len(d)%2 == 1 {
			return d[len(d)/2]
		}
		return (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	fmt.Fprintf(out, "medians of %d: first start %.2f s (min %.2f, max %.2f; target ≤ 3 s), restart %.2f s (min %.2f, max %.2f)\n", n,
		median(cold).Seconds(), slices.Min(cold).Seconds(), slices.Max(cold).Seconds(),
		median(warm).Seconds(), slices.Min(warm).Seconds(), slices.Max(warm).Seconds())
	return nil
}

// startupTimes starts the suite as `make run` does (the binary built) twice on one data
// directory and stops it again: the first start creates everything (PostgreSQL cluster,
// certificates, databases, migrations, streams, demo data), the second is a restart with the
// data kept, as every later `make run` is. Each is timed until every service answers.
func startupTimes(ctx context.Context) (cold, warm time.Duration, err error) {
	dir, err := os.MkdirTemp("", "wijkbrug-coldstart-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	start := func() (time.Duration, error) {
		began := time.Now()
		s, err := suite.Start(ctx, suite.Options{DataDir: dir, LogLevel: "error", LogOutput: io.Discard,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		took := time.Since(began)
		if err != nil {
			return 0, err
		}
		s.Stop()
		return took, nil
	}
	if cold, err = start(); err != nil {
		return 0, 0, err
	}
	warm, err = start()
	return cold, warm, err
}
