// Command wijkbrug is the all-in-one entry point for development and demos.
//
//	wijkbrug dev [-data-dir DIR] [-ephemeral] [-base-port 50051] [-pg-port 55432] [-nats-port 4222]
//	    starts PostgreSQL (local binaries), NATS with JetStream, a development CA, the four
//	    services and demo data, prints how to call them, and stops everything on Ctrl-C.
//	wijkbrug events [-nats URL] [-subject wijkbrug.>] [-new]
//	    prints the events on the Wijkbrug streams, decoded, one JSON object per line.
//	wijkbrug access-history -bsn BSN [-data-dir .wijkbrug] [-base-port 50051]
//	    asks all four services, as the demo municipality's privacy officer, who accessed the
//	    resident's data (the resident's right of access).
//	wijkbrug verify-accesslog [-pg-port 55432]
//	    checks the hash chain of the access log of each service of the running suite.
//	wijkbrug parked list|replay [-pg-port 55432 | -database-url URL] [-consumer NAME] [-event ID]
//	    lists the events consumers parked after failing, or has the services replay them.
//	wijkbrug faults [-bin bin] [-topology single,cluster] [-faults NAMES] [-clients 4]
//	    the fault harness of make faults: kills parts of the suite under load and checks that
//	    nothing acknowledged was lost or applied twice.
//	wijkbrug policies
//	    prints every service's per-method authorisation policy as a Markdown table.
//	wijkbrug events-catalog [-proto proto]
//	    prints the event catalog (docs/events.md) generated from the protos.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wijkbrug:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: wijkbrug dev|events|access-history|verify-accesslog|parked|faults [flags] (wijkbrug <command> -h for flags)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], out)
	case "events":
		return runEvents(ctx, args[1:], out)
	case "access-history":
		return runAccessHistory(ctx, args[1:], out)
	case "verify-accesslog":
		return runVerify(ctx, args[1:], out)
	case "faults":
		return runFaults(ctx, args[1:], out)
	case "parked":
		return runParked(ctx, args[1:], out)
	case "policies":
		return runPolicies(out)
	case "events-catalog":
		return runEventsCatalog(args[1:], out)
	default:
		return fmt.Errorf("unknown command %q: want dev, events, access-history, verify-accesslog, parked or faults", args[0])
	}
}

func newFlags(name string) *flag.FlagSet {
	return flag.NewFlagSet("wijkbrug "+name, flag.ContinueOnError)
}
