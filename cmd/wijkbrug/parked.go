package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// runParked lists the events consumers parked, or asks the services to replay them:
//
//	wijkbrug parked list   [-pg-port 55432 -data-dir .wijkbrug | -database-url URL] [-consumer NAME]
//	wijkbrug parked replay [-pg-port 55432 -data-dir .wijkbrug | -database-url URL] [-consumer NAME] [-event ID]
//
// Without -database-url it covers the four databases of the development suite. replay without
// -consumer and -event marks every parked event. A summary is printed only when every database
// was read; a -consumer or -event that matches no parked event is an error.
func runParked(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fs := newFlags("parked")
		fs.Usage()
		fmt.Fprintln(fs.Output(), "  (subcommands: list, replay; wijkbrug parked list -h for their flags)")
		return flag.ErrHelp
	}
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return errors.New("usage: wijkbrug parked list|replay [-pg-port P | -database-url URL] [-consumer NAME] [-event ID]")
	}
	sub := args[0]
	fs := newFlags("parked " + sub)
	pgPort := fs.Int("pg-port", 55432, "PostgreSQL port of the running development suite (all four service databases)")
	dataDir := fs.String("data-dir", ".wijkbrug", "data directory of that suite (postgres/ca.pem and postgres/pgpass: TLS and the password)")
	dsn := fs.String("database-url", "", "one service's database instead (production: the service's WIJKBRUG_DATABASE_URL)")
	cons := fs.String("consumer", "", "only this consumer (e.g. intake-signals)")
	var event *string
	if sub == "replay" {
		event = fs.String("event", "", "only this event id (without -event and -consumer: every parked event)")
	} else {
		event = new(string)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		if sub == "replay" && fs.NArg() > 0 && fs.Arg(0) == "all" {
			return fmt.Errorf("%w (without -event and -consumer, replay marks every parked event)", err)
		}
		return err
	}
	if *dsn == "" && flagGiven(fs, "database-url") {
		// Most often "$WIJKBRUG_DATABASE_URL" in a shell that has not set it: going on would
		// silently list the development suite's databases instead of the one meant.
		return errors.New("-database-url is empty (is the variable it was given from set?); leave the flag out for the development suite's databases")
	}
	if *cons != "" && !knownConsumer(*cons) {
		return fmt.Errorf("-consumer %q: no such consumer (the consumers: %s)", *cons, strings.Join(consumerNames(), ", "))
	}
	targets := map[string]string{}
	if *dsn != "" {
		targets["service"] = *dsn
	} else {
		devURL, err := devDatabaseURL(*dataDir, *pgPort)
		if err != nil {
			return err
		}
		for _, db := range serviceDatabases {
			targets[db] = devURL(db)
		}
	}
	var (
		errs    []error
		total   int
		marked  []string          // replay: the databases where events were marked
		matched []consumer.Parked // replay with a filter that marked nothing: the rows it matches in another state
		rows    []consumer.Parked // list
	)
	for _, name := range append([]string{"service"}, serviceDatabases...) {
		url, ok := targets[name]
		if !ok {
			continue
		}
		err := func() error {
			db, err := pgxdb.Open(ctx, url, 2)
			if err != nil {
				return err
			}
			defer db.Close()
			if sub == "list" {
				ps, err := consumer.ListParked(ctx, db, *cons)
				if err != nil {
					return err
				}
				rows = append(rows, ps...)
				return nil
			}
			n, err := consumer.RequestReplay(ctx, db, *cons, *event)
			if err != nil {
				return err
			}
			total += n
			if n > 0 {
				marked = append(marked, name)
			}
			if *cons != "" || *event != "" {
				// What the filter matches in any state, to say why nothing was marked.
				ps, err := consumer.ListParked(ctx, db, *cons)
				if err != nil {
					return err
				}
				for _, p := range ps {
					if *event == "" || p.EventID == *event {
						matched = append(matched, p)
					}
				}
			}
			return nil
		}()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if sub == "list" {
		if len(rows) > 0 || len(errs) == 0 {
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CONSUMER\tEVENT\tTYPE\tAGGREGATE\tSTATE\tFAILURES\tSINCE\tLAST ERROR")
			for _, p := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.Consumer, p.EventID, p.EventType, p.AggregateID, p.State, p.Failures,
					p.FirstFailedAt.UTC().Format(time.RFC3339), p.LastError)
			}
			_ = tw.Flush()
		}
		if len(errs) == len(targets) {
			return fmt.Errorf("no database could be read: %w", errors.Join(errs...))
		}
		if len(errs) > 0 {
			return fmt.Errorf("not every database could be read, so this list is incomplete: %w", errors.Join(errs...))
		}
		fmt.Fprintf(out, "%d events parked or being retried\n", len(rows))
		return nil
	}
	if len(errs) > 0 {
		if total > 0 {
			fmt.Fprintf(out, "%d parked events marked for replay in %s only\n", total, strings.Join(marked, ", "))
		}
		if len(errs) == len(targets) {
			return fmt.Errorf("no database could be reached, nothing marked for replay: %w", errors.Join(errs...))
		}
		return fmt.Errorf("not every database could be reached: %w", errors.Join(errs...))
	}
	if total == 0 && (*cons != "" || *event != "") {
		return nothingToReplay(*cons, *event, matched)
	}
	fmt.Fprintf(out, "%d parked events marked for replay; the services replay them within seconds (parked again if they fail)\n", total)
	return nil
}

// nothingToReplay says why a replay with -consumer or -event marked nothing.
func nothingToReplay(cons, event string, matched []consumer.Parked) error {
	what := "consumer " + cons
	if event != "" {
		what = "event " + event
		if cons != "" {
			what += " of consumer " + cons
		}
	}
	if len(matched) == 0 {
		return fmt.Errorf("no parked event matches %s: nothing marked for replay (wijkbrug parked list shows the parked events)", what)
	}
	states := map[string]int{}
	for _, p := range matched {
		states[p.State]++
	}
	var parts []string
	for s, n := range states {
		parts = append(parts, fmt.Sprintf("%d %s", n, s))
	}
	slices.Sort(parts)
	return fmt.Errorf("nothing marked for replay: %s has no event in state parked, only %s (retrying: the consumer still retries it; replay: already marked)", what, strings.Join(parts, ", "))
}

// knownConsumer reports whether name is one of the services' durable consumers, the names
// parked events are recorded under.
func knownConsumer(name string) bool { return slices.Contains(consumerNames(), name) }

func consumerNames() []string {
	var names []string
	for _, service := range natsauth.ServiceNames {
		for _, c := range natsauth.ServiceConsumers[service] {
			names = append(names, c.Durable)
		}
	}
	return names
}
