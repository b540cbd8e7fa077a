package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/consumer"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// runParked lists the events consumers parked, or asks the services to replay them:
//
//	wijkbrug parked list   [-pg-port 55432 | -database-url URL] [-consumer NAME]
//	wijkbrug parked replay [-pg-port 55432 | -database-url URL] [-consumer NAME] [-event ID]
//
// Without -database-url it covers the four databases of the development suite.
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
	dsn := fs.String("database-url", "", "one service's database instead (production: the service's WIJKBRUG_DATABASE_URL)")
	cons := fs.String("consumer", "", "only this consumer (e.g. intake-signals)")
	event := fs.String("event", "", "replay: only this event id")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	targets := map[string]string{}
	if *dsn != "" {
		targets["service"] = *dsn
	} else {
		for _, db := range []string{"intake", "casedirection", "providermonitoring", "referral"} {
			targets[db] = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", *pgPort, db)
		}
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	if sub == "list" {
		fmt.Fprintln(tw, "CONSUMER\tEVENT\tTYPE\tAGGREGATE\tSTATE\tFAILURES\tSINCE\tLAST ERROR")
	}
	var errs []error
	total := 0
	for _, name := range []string{"service", "intake", "casedirection", "providermonitoring", "referral"} {
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
			if sub == "replay" {
				n, err := consumer.RequestReplay(ctx, db, *cons, *event)
				total += n
				return err
			}
			ps, err := consumer.ListParked(ctx, db, *cons)
			for _, p := range ps {
				total++
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.Consumer, p.EventID, p.EventType, p.AggregateID, p.State, p.Failures,
					p.FirstFailedAt.UTC().Format(time.RFC3339), p.LastError)
			}
			return err
		}()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if sub == "list" {
		_ = tw.Flush()
		fmt.Fprintf(out, "%d events parked or being retried\n", total)
	} else {
		fmt.Fprintf(out, "%d parked events marked for replay; the services replay them within seconds (parked again if they fail)\n", total)
	}
	return errors.Join(errs...)
}
