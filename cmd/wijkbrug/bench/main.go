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
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
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
	startups := fs.Int("startups", 0, "only time N series of starts of the suite (a first start without the initdb cache and one with it, each on a new data directory, and a restart of the second; each start a process of its own), print each and their medians, and stop")
	consumerWorkers := fs.Int("consumer-workers", 0, "workers per event consumer in every service, as WIJKBRUG_CONSUMER_WORKERS sets them for a service binary (0 = the default)")
	consumerBatch := fs.Int("consumer-batch", 0, "most events a consumer worker handles in one transaction, as WIJKBRUG_CONSUMER_BATCH (0 = the default)")
	consumerLinger := fs.String("consumer-linger", "", "how long a consumer worker waits for events to join a batch while they keep coming, as WIJKBRUG_CONSUMER_LINGER (a duration; 0 = never; empty = the default)")
	statements := fs.Bool("statements", false, "load pg_stat_statements and print, after each list/search measurement and after the chain run, the statements PostgreSQL spent the most time executing, the WAL written and the tables sequential scans read")
	startupChild := fs.String(startupChildFlag, "", "(used by -startups and make bench) time one start of the suite on this data directory in this process and print it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *startupChild != "" {
		return timeOneStart(ctx, *startupChild, out)
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

	// The smoke run leaves out the start that runs initdb (the tests start clusters that way):
	// it has to stay under a minute.
	st, err := startupTimes(ctx, !o.smoke)
	if err != nil {
		return fmt.Errorf("cold start: %w", err)
	}
	uncached := "not timed in a -smoke run"
	if st.uncached > 0 {
		uncached = fmt.Sprintf("%.2f s", st.uncached.Seconds())
	}
	fmt.Fprintf(out, "  first start (certificates, PostgreSQL cluster, databases, migrations, demo data) %.2f s, on a machine that has not run initdb for these PostgreSQL binaries %s; restart with data kept %.2f s (target ≤ 3 s)\n",
		st.cold.Seconds(), uncached, st.warm.Seconds())

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
	res := &results{Machine: machine(), Options: o, Started: time.Now(), ColdStart: st.cold, UncachedStart: st.uncached, WarmStart: st.warm}
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

// startupSeries times n series of starts (startupTimes) one after another: a single start
// varies by half a second on a shared 2-core machine, so a change to start-up is judged by
// the medians of a series.
func startupSeries(ctx context.Context, n int, out io.Writer) error {
	var cold, uncached, warm []time.Duration
	for i := range n {
		st, err := startupTimes(ctx, true)
		if err != nil {
			return fmt.Errorf("start %d: %w", i+1, err)
		}
		cold, uncached, warm = append(cold, st.cold), append(uncached, st.uncached), append(warm, st.warm)
		fmt.Fprintf(out, "start %d: first start %.2f s (without the initdb cache %.2f s), restart %.2f s\n", i+1, st.cold.Seconds(), st.uncached.Seconds(), st.warm.Seconds())
	}
	median := func(d []time.Duration) time.Duration {
		d = slices.Clone(d)
		slices.Sort(d)
		if len(d)%2 == 1 {
			return d[len(d)/2]
		}
		return (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	line := func(d []time.Duration) string {
		return fmt.Sprintf("%.2f s (min %.2f, max %.2f)", median(d).Seconds(), slices.Min(d).Seconds(), slices.Max(d).Seconds())
	}
	fmt.Fprintf(out, "medians of %d (target ≤ 3 s): first start %s; without the initdb cache %s; restart %s\n", n, line(cold), line(uncached), line(warm))
	return nil
}

// starts are the start-up times of the suite as `make run` starts it (the binary built),
// each until every service answers.
type starts struct {
	// uncached is the first start on a machine that has not run initdb for these PostgreSQL
	// binaries before: it runs initdb, and keeps a copy of its result (embeddedpg.Options
	// InitCache).
	uncached time.Duration
	// cold is a first start after it, on a new data directory: the cluster is that copy.
	// Everything else is created (certificates, keys, databases, migrations, streams, demo
	// data).
	cold time.Duration
	// warm is a restart with the data kept, as every later `make run` is.
	warm time.Duration
}

// startupChildFlag runs the bench as one timed start (timeOneStart), for startupTimes.
const startupChildFlag = "startup-child"

// timeOneStart starts the suite on dataDir as `make run` does, prints how long Start took (in
// nanoseconds) and stops it again.
func timeOneStart(ctx context.Context, dataDir string, out io.Writer) error {
	began := time.Now()
	s, err := suite.Start(ctx, suite.Options{DataDir: dataDir, LogLevel: "error", LogOutput: io.Discard,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	took := time.Since(began)
	if err != nil {
		return err
	}
	s.Stop()
	_, err = fmt.Fprintln(out, took.Nanoseconds())
	return err
}

// startupTimes times three starts, each stopped again: two first starts on new data
// directories, with an initdb cache of their own that is empty for the first, and a restart
// of the second's. Without uncached it leaves out the first, and the second uses the user's
// initdb cache, as `make run` does.
func startupTimes(ctx context.Context, uncached bool) (st starts, err error) {
	base, err := os.MkdirTemp("", "wijkbrug-coldstart-")
	if err != nil {
		return st, err
	}
	defer os.RemoveAll(base)
	if err := os.Chmod(base, 0o755); err != nil { // the postgres user enters it
		return st, err
	}
	if uncached {
		// The suite's embedded PostgreSQL reads the cache's place from the environment.
		defer os.Setenv(embeddedpg.EnvInitCache, os.Getenv(embeddedpg.EnvInitCache))
		if err := os.Setenv(embeddedpg.EnvInitCache, filepath.Join(base, "initdb-cache")); err != nil {
			return st, err
		}
	}
	// Each start is a process of its own, as each `make run` is: a process makes some things
	// once (the request validator, the OpenAPI documents, the system's roots: svc.Warm), which
	// every start after the first would find made in this one.
	self, err := os.Executable()
	if err != nil {
		return st, err
	}
	start := func(dir string) (time.Duration, error) {
		var stderr strings.Builder
		cmd := exec.CommandContext(ctx, self, "-"+startupChildFlag, filepath.Join(base, dir))
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("a start in a process of its own: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("a start in a process of its own printed %q", b)
		}
		return time.Duration(ns), nil
	}
	if uncached {
		if st.uncached, err = start("first"); err != nil {
			return st, err
		}
	}
	if st.cold, err = start("second"); err != nil {
		return st, err
	}
	st.warm, err = start("second")
	return st, err
}
