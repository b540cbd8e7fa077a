package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/natsx"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
)

// serviceDatabases are the database names of the services, in the order commands print them.
var serviceDatabases = []string{"intake", "casedirection", "providermonitoring", "referral"}

// dbFlag registers -db: a PostgreSQL URL with {db} where the service's database name goes;
// the default is the running development suite (-pg-port).
func dbFlag(fs *flag.FlagSet) func() (func(db string) string, error) {
	tmpl := fs.String("db", "", "PostgreSQL URL template with {db} for the service database, e.g. 'postgres://wijkbrug_ops@pg.example:5432/{db}?sslmode=verify-full' (default: the dev suite on -pg-port); the password from PGPASSWORD or ~/.pgpass")
	pgPort := fs.Int("pg-port", 55432, "PostgreSQL port of a running development suite (when -db is not given)")
	return func() (func(string) string, error) {
		t := *tmpl
		if t == "" {
			t = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/{db}?sslmode=disable", *pgPort)
		}
		if !strings.Contains(t, "{db}") {
			return nil, errors.New("-db must contain {db} where the database name goes")
		}
		return func(db string) string { return strings.ReplaceAll(t, "{db}", db) }, nil
	}
}

func runOutboxStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("outbox-status")
	dsnFor := dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	dsn, err := dsnFor()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tWAITING\tOLDEST\tAGE")
	var errs []error
	for _, name := range serviceDatabases {
		n, oldest, err := outboxBacklog(ctx, dsn(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			fmt.Fprintf(tw, "%s\terror\t\t\n", name)
			continue
		}
		if n == 0 {
			fmt.Fprintf(tw, "%s\t0\t-\t-\n", name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", name, n, oldest.UTC().Format(time.RFC3339), time.Since(oldest).Round(time.Second))
	}
	_ = tw.Flush()
	return errors.Join(errs...)
}

func outboxBacklog(ctx context.Context, dsn string) (int64, time.Time, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, err := pgxdb.Open(cctx, dsn, 1)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer db.Close()
	return outbox.Backlog(cctx, db)
}

func runConsumerStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("consumer-status")
	url := fs.String("nats", "nats://127.0.0.1:4222", "NATS URL (tls://… for a TLS listener)")
	creds := fs.String("creds", "", "NATS credentials file (user JWT and seed) of an operator account that may read stream and consumer info")
	caFile := fs.String("tls-ca", "", "CA bundle of the NATS server certificate (tls://)")
	certFile := fs.String("tls-cert", "", "client certificate, when NATS asks for one")
	keyFile := fs.String("tls-key", "", "client key, when NATS asks for one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []nats.Option{nats.Name("wijkbrug-consumer-status"), nats.Timeout(5 * time.Second)}
	if *creds != "" {
		opts = append(opts, nats.UserCredentials(*creds))
	}
	if *caFile != "" || *certFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if *caFile != "" {
			b, err := os.ReadFile(*caFile)
			if err != nil {
				return err
			}
			tc.RootCAs = x509.NewCertPool()
			tc.RootCAs.AppendCertsFromPEM(b)
		}
		if *certFile != "" {
			c, err := tls.LoadX509KeyPair(*certFile, *keyFile)
			if err != nil {
				return err
			}
			tc.Certificates = []tls.Certificate{c}
		}
		opts = append(opts, nats.Secure(tc))
	}
	nc, err := nats.Connect(*url, opts...)
	if err != nil {
		return fmt.Errorf("connect %s: %w", *url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tCONSUMER\tFILTER\tPENDING\tACK PENDING\tREDELIVERED\tWAITING\tLAST DELIVERED")
	var errs []error
	for _, name := range serviceDatabases {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		stream, err := js.Stream(cctx, natsx.StreamName(name))
		if err != nil {
			cancel()
			errs = append(errs, fmt.Errorf("stream %s: %w", natsx.StreamName(name), err))
			continue
		}
		lister := stream.ListConsumers(cctx)
		for ci := range lister.Info() {
			last := "-"
			if ci.Delivered.Last != nil {
				last = ci.Delivered.Last.UTC().Format(time.RFC3339)
			}
			filter := ci.Config.FilterSubject
			if filter == "" {
				filter = strings.Join(ci.Config.FilterSubjects, ",")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", stream.CachedInfo().Config.Name, ci.Name, filter, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting, last)
		}
		if err := lister.Err(); err != nil {
			errs = append(errs, fmt.Errorf("consumers of %s: %w", natsx.StreamName(name), err))
		}
		cancel()
	}
	_ = tw.Flush()
	return errors.Join(errs...)
}

func runIssueCert(_ context.Context, args []string, out io.Writer) error {
	fs := newFlags("issue-cert")
	caCert := fs.String("ca-cert", ".wijkbrug/pki/ca.pem", "PEM certificate of the issuing CA (the dev CA or a production one)")
	caKey := fs.String("ca-key", ".wijkbrug/pki/ca-key.pem", "PEM private key of the issuing CA (PKCS#8, PKCS#1 or SEC 1; ECDSA, RSA or Ed25519)")
	oin := fs.String("oin", "", "20-digit OIN of the organisation (subject serialNumber) (required)")
	name := fs.String("name", "", "organisation name (subject CN and O) (required)")
	orgType := fs.String("type", "", "organisation type (subject OU): GP, VEILIG_THUIS, HOUSING_CORPORATION, PROVIDER, TEAM, MUNICIPALITY, INTEGRATOR, or SERVICE for a Wijkbrug service (required)")
	dns := fs.String("dns", "", "for -type SERVICE: comma-separated DNS names the service answers on (e.g. intake,intake.wijkbrug.svc)")
	days := fs.Int("days", 365, "validity of a partner certificate in days")
	dir := fs.String("out", ".", "directory to write <file>.pem and <file>-key.pem to")
	file := fs.String("file", "", "base file name (default: the OIN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *oin == "" || *name == "" || *orgType == "" {
		return errors.New("-oin, -name and -type are required")
	}
	certPEM, err := os.ReadFile(*caCert)
	if err != nil {
		return fmt.Errorf("-ca-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(*caKey)
	if err != nil {
		return fmt.Errorf("-ca-key: %w", err)
	}
	ca, err := devca.Load(certPEM, keyPEM)
	if err != nil {
		return err
	}
	org := devca.Org{OIN: *oin, Name: *name, Type: strings.ToUpper(*orgType)}
	var leafPEM, leafKey []byte
	if org.Type == "SERVICE" {
		var names []string
		for _, n := range strings.Split(*dns, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		_, leafPEM, leafKey, err = ca.IssueService(org, names, nil)
	} else {
		_, leafPEM, leafKey, err = ca.IssueClient(org, time.Duration(*days)*24*time.Hour)
	}
	if err != nil {
		return err
	}
	base := *file
	if base == "" {
		base = *oin
	}
	certPath, keyPath, err := devca.WriteFiles(*dir, base, leafPEM, leafKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "issued %s certificate for %s (OIN %s)\n  certificate %s\n  key         %s (readable by you only; hand it over securely)\n", org.Type, org.Name, org.OIN, certPath, keyPath)
	return nil
}

func runSeedDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("seed-demo")
	dsnFor := dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	dsn, err := dsnFor()
	if err != nil {
		return err
	}
	if err := suite.SeedDemo(ctx, dsn); err != nil {
		return err
	}
	fmt.Fprintf(out, "demo data loaded: provider %s (AGB %s) with a contract for %s/%s in %s; organisations %s (team) and %s (municipality); provisions on the social map\n",
		suite.DemoProvider.Name, suite.DemoProviderAGB, suite.DemoProductCategory, suite.DemoProductCode, suite.DemoMunicipality, suite.DemoTeam.OIN, suite.DemoMunicipalityOrg.OIN)
	return nil
}
