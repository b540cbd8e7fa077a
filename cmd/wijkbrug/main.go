// Command wijkbrug is the all-in-one entry point for development and demos, and the operator's
// tool for a running deployment. `wijkbrug -h` lists the commands; `wijkbrug <command> -h`
// says what a command does and lists its flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wijkbrug:", err)
		os.Exit(1)
	}
}

// command is one subcommand: its name, what it does (one line, for -h) and how it runs.
type command struct {
	name, what string
	run        func(ctx context.Context, args []string, out io.Writer) error
}

// commands is the list `wijkbrug -h` prints, in this order.
func commands() []command {
	return []command{
		{"dev", "start PostgreSQL, NATS JetStream, a development CA, the four services and demo data in one process (make run)", runDev},
		{"events", "print the events on the Wijkbrug streams, decoded, one JSON object per line", runEvents},
		{"access-history", "ask all four services, as a privacy officer, who accessed a resident's data (right of access)", runAccessHistory},
		{"verify-accesslog", "check the hash chain of every service's access log", runVerify},
		{"parked", "list the events consumers parked after repeated failures, or have the services replay them (parked list|replay)", runParked},
		{"faults", "the fault harness of make faults: kill parts of the suite under load and check that nothing acknowledged was lost or applied twice", runFaults},
		{"outbox-status", "show per service how many events wait in the outbox and how old the oldest is", runOutboxStatus},
		{"outcomes-rebuild", "have case-direction rebuild the outcome read model from the event streams at its next start (docs/services/outcomes.md)", runOutcomesRebuild},
		{"consumer-status", "show every durable JetStream consumer of the services: pending, ack pending, redelivered (not partners' feed subscriptions)", runConsumerStatus},
		{"issue-cert", "issue a certificate for a partner organisation or a service from a CA (the dev CA or a production one)", runIssueCert},
		{"seed-demo", "load the demo organisations, contract and social map into the databases of a deployment", runSeedDemo},
		{"policies", "print every service's per-method authorisation policy as a Markdown table", func(_ context.Context, args []string, out io.Writer) error {
			if err := parseFlags(newFlags("policies"), args); err != nil {
				return err
			}
			return runPolicies(out)
		}},
		{"events-catalog", "print the event catalog (docs/events.md) generated from the protos", func(_ context.Context, args []string, out io.Writer) error {
			return runEventsCatalog(args, out)
		}},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: wijkbrug <command> [flags]   (wijkbrug <command> -h: what it does and its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-17s %s\n", c.name, c.what)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		usage(os.Stderr)
		return errors.New("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(out)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], out)
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	usage(os.Stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

// usageOutput receives the help of `wijkbrug <command> -h` and flag errors.
var usageOutput io.Writer = os.Stderr

// newFlags returns the flag set of a command; -h prints what the command does and its flags.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("wijkbrug "+name, flag.ContinueOnError)
	fs.SetOutput(usageOutput)
	fs.Usage = func() {
		w := fs.Output()
		for _, c := range commands() {
			if c.name == strings.Fields(name)[0] {
				fmt.Fprintf(w, "wijkbrug %s: %s.\n\nFlags:\n", name, c.what)
			}
		}
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a command's flags and refuses positional arguments. The flag package
// stops at the first argument that is not a flag, so a stray word before the flags would
// otherwise make it ignore every flag after it (`parked replay all -pg-port 24432` would go
// to the default port); a word after the flags would be ignored silently.
// dataDirHint adds to a file of a suite's data directory that is not there which flag names
// the directory (a throw-away suite, make run EPHEMERAL=1, keeps its files elsewhere).
func dataDirHint(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (is -data-dir the running suite's data directory? .wijkbrug for make run, the throw-away one its banner names with EPHEMERAL=1)", err)
	}
	return err
}

// certHint is dataDirHint for the commands that take the files themselves.
func certHint(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (give them with -cert, -key and -ca: make run's are in .wijkbrug/pki, with EPHEMERAL=1 in the pki of the directory its banner names)", err)
	}
	return err
}

// flagGiven reports whether the command line set the flag name (also to its default or "").
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes flags only (-h lists them)", fs.Arg(0), fs.Name())
	}
	return nil
}
