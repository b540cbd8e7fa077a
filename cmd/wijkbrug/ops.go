package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/devca"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/natsauth"
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
	dataDir := fs.String("data-dir", ".wijkbrug", "data directory of that suite (postgres/ca.pem and postgres/pgpass: TLS and the password)")
	return func() (func(string) string, error) {
		t := *tmpl
		if t == "" {
			dsn, err := devDatabaseURL(*dataDir, *pgPort)
			if err != nil {
				return nil, err
			}
			t = dsn("{db}")
		}
		if !strings.Contains(t, "{db}") {
			return nil, errors.New("-db must contain {db} where the database name goes")
		}
		return func(db string) string { return strings.ReplaceAll(t, "{db}", db) }, nil
	}
}

// devDatabaseURL gives the URL of a database of the development suite whose data directory is
// dataDir and whose PostgreSQL listens on pgPort, connecting as the suite's own services do:
// TLS checked against dataDir/postgres/ca.pem, the superuser's password from
// dataDir/postgres/pgpass (embeddedpg).
func devDatabaseURL(dataDir string, pgPort int) (func(db string) string, error) {
	pgDir := filepath.Join(dataDir, "postgres")
	if err := embeddedpg.CheckClientFiles(pgDir); err != nil {
		return nil, fmt.Errorf("%w (is -data-dir the running suite's data directory? .wijkbrug for make run, the throw-away one its banner names with EPHEMERAL=1)", err)
	}
	return func(db string) string { return embeddedpg.DSNFor(pgDir, pgPort, embeddedpg.SuperUser, db) }, nil
}

func runOutboxStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("outbox-status")
	dsnFor := dbFlag(fs)
	if err := parseFlags(fs, args); err != nil {
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
		b, err := outboxBacklog(ctx, dsn(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			fmt.Fprintf(tw, "%s\terror\t\t\n", name)
			continue
		}
		if b.Rows == 0 {
			fmt.Fprintf(tw, "%s\t0\t-\t-\n", name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", name, b.Rows, time.Now().Add(-b.Oldest).UTC().Format(time.RFC3339), b.Oldest.Round(time.Second))
	}
	_ = tw.Flush()
	return errors.Join(errs...)
}

func outboxBacklog(ctx context.Context, dsn string) (outbox.Backlog, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, err := pgxdb.Open(cctx, dsn, 1)
	if err != nil {
		return outbox.Backlog{}, err
	}
	defer db.Close()
	return outbox.NewRelay(db, nil, outbox.RelayConfig{}).Backlog(cctx)
}

// operationsType is the organisation type (certificate OU) of the operations identity, the
// NATS observer that may read the service streams and their consumers.
const operationsType = "OPERATIONS"

func runConsumerStatus(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("consumer-status")
	url := fs.String("nats", "tls://127.0.0.1:4222", "NATS URL")
	pki := ".wijkbrug/pki"
	certFile := fs.String("cert", pki+"/ops.pem", "operations client certificate (OU=OPERATIONS), which may read stream and consumer info")
	keyFile := fs.String("key", "", "private key of -cert (default: the -cert file name with -key.pem)")
	caFile := fs.String("ca", pki+"/ca.pem", "CA bundle (PEM) the NATS server certificate chains to")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyFile == "" {
		*keyFile = strings.TrimSuffix(*certFile, ".pem") + "-key.pem"
	}
	tlsConfig, org, err := loadClientTLS(*certFile, *keyFile, *caFile)
	if err != nil {
		return certHint(err)
	}
	// Consumer info is readable only by the operations identity (NATS maps it to the
	// observer permissions, with the _INBOX_observer reply prefix). Any other certificate would
	// wait out a timeout per consumer while NATS refused each request.
	if org.Type != operationsType {
		return fmt.Errorf("%s is not an operations identity (OU=%s; it is %q, OU=%s): consumer-status reads the services' consumers, which only an OU=OPERATIONS certificate may (the development suite's is .wijkbrug/pki/ops.pem)",
			*certFile, operationsType, org.Name, org.Type)
	}
	// Should NATS refuse the requests all the same (an OU=OPERATIONS certificate that is not
	// configured as an observer), stop at the first refusal instead of timing out per consumer.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	refused := nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrPermissionViolation) {
			cancel(fmt.Errorf("NATS refused %s (%s) the operations permissions: is it configured as an observer? (%w)", *certFile, org.Name, err))
		}
	})
	nc, err := nats.Connect(*url, append(natsx.Secure(tlsConfig, natsauth.ObserverInbox), nats.Name("wijkbrug-consumer-status"), nats.Timeout(5*time.Second), refused)...)
	if err != nil {
		return fmt.Errorf("connect %s: %w", *url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tCONSUMER\tSERVICE\tPENDING\tACK PENDING\tREDELIVERED\tWAITING\tLAST DELIVERED")
	var errs []error
	// The durable consumers are declared in one place (natsauth.ServiceConsumers: NATS lets a
	// service create only those), so that list is what is shown.
	for _, service := range natsauth.ServiceNames {
		for _, c := range natsauth.ServiceConsumers[service] {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			ci, err := js.Consumer(cctx, c.Stream, c.Durable)
			var info *jetstream.ConsumerInfo
			if err == nil {
				info, err = ci.Info(cctx)
			}
			cancel()
			if errors.Is(err, jetstream.ErrConsumerNotFound) {
				fmt.Fprintf(tw, "%s\t%s\t%s\tnot created yet\t\t\t\t\n", c.Stream, c.Durable, service)
				continue
			}
			if err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				errs = append(errs, fmt.Errorf("consumer %s on %s: %w", c.Durable, c.Stream, err))
				continue
			}
			last := "-"
			if info.Delivered.Last != nil {
				last = info.Delivered.Last.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", c.Stream, c.Durable, service, info.NumPending, info.NumAckPending, info.NumRedelivered, info.NumWaiting, last)
		}
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
	orgType := fs.String("type", "", "organisation type (subject OU): "+strings.Join(issuableTypes, ", ")+"; SERVICE for a Wijkbrug service, OPERATIONS for the operations identity on NATS (required)")
	dns := fs.String("dns", "", "for -type SERVICE (required there): comma-separated DNS names the service answers on (e.g. intake,intake.wijkbrug.svc); localhost and the loopback addresses are added")
	days := fs.Int("days", 365, "validity of a partner certificate in days (at least 1, and not beyond the CA certificate's expiry; a SERVICE certificate is valid for 365 days)")
	dir := fs.String("out", ".", "directory to write <file>.pem and <file>-key.pem to")
	file := fs.String("file", "", "base file name, without a directory (default: the OIN)")
	force := fs.Bool("force", false, "replace <file>.pem and <file>-key.pem when they exist (without it an existing certificate or key is never overwritten: the key is usually in use)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *oin == "" || *name == "" || *orgType == "" {
		return errors.New("-oin, -name and -type are required")
	}
	org := devca.Org{OIN: *oin, Name: *name, Type: strings.ToUpper(strings.TrimSpace(*orgType))}
	if err := checkOrgType(org.Type); err != nil {
		return err
	}
	daysSet := flagGiven(fs, "days")
	if org.Type == string(identity.OrgService) && daysSet {
		return errors.New("-days applies to partner certificates; a SERVICE certificate is valid for 365 days")
	}
	var names []string
	for _, n := range strings.Split(*dns, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	switch {
	case org.Type == string(identity.OrgService) && len(names) == 0:
		return errors.New("-type SERVICE needs -dns: the names its peers reach it on (e.g. -dns intake,intake.wijkbrug.svc)")
	case org.Type != string(identity.OrgService) && len(names) > 0:
		return errors.New("-dns applies to SERVICE certificates; a partner certificate names no host")
	}
	if *days < 1 {
		return fmt.Errorf("-days %d: a certificate must be valid for at least 1 day", *days)
	}
	base := *file
	if base == "" {
		base = *oin
	}
	if err := checkFileName(base); err != nil {
		return err
	}
	if !*force {
		if err := refuseExisting(filepath.Join(*dir, base+".pem"), filepath.Join(*dir, base+"-key.pem")); err != nil {
			return err
		}
	}
	ca, err := devca.LoadFiles(*caCert, *caKey)
	if err != nil {
		return err
	}
	validity := time.Duration(*days) * 24 * time.Hour
	if org.Type == string(identity.OrgService) {
		validity = 365 * 24 * time.Hour
	}
	if caEnd := ca.Certificate().NotAfter; time.Now().Add(validity).After(caEnd) {
		if org.Type == string(identity.OrgService) {
			return fmt.Errorf("a SERVICE certificate is valid for 365 days, beyond the CA certificate %s (valid until %s): renew the CA first", *caCert, caEnd.UTC().Format(time.DateOnly))
		}
		return fmt.Errorf("the certificate would be valid until %s, beyond the CA certificate %s (valid until %s): give a smaller -days (at most %d)",
			time.Now().Add(validity).UTC().Format(time.DateOnly), *caCert, caEnd.UTC().Format(time.DateOnly), int(time.Until(caEnd)/(24*time.Hour)))
	}
	var leafPEM, leafKey []byte
	if org.Type == string(identity.OrgService) {
		_, leafPEM, leafKey, err = ca.IssueService(org, names, nil)
	} else {
		_, leafPEM, leafKey, err = ca.IssueClient(org, validity)
	}
	if err != nil {
		return err
	}
	certPath, keyPath, err := devca.WriteFiles(*dir, base, leafPEM, leafKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "issued %s certificate for %s (OIN %s)\n  certificate %s\n  key         %s (readable by you only; hand it over securely)\n", org.Type, org.Name, org.OIN, certPath, keyPath)
	return nil
}

// refuseExisting stops issue-cert before it replaces a certificate or key: the files it
// would write may be the ones a partner or a service is using (the README's example writes
// into .wijkbrug/pki, next to the demo organisations' keys), and the old key is not kept.
func refuseExisting(paths ...string) error {
	var exist []string
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			exist = append(exist, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if len(exist) == 0 {
		return nil
	}
	verb := "exist"
	if len(exist) == 1 {
		verb = "exists"
	}
	return fmt.Errorf("%s already %s: give another -file or -out, or -force to replace (the old key is not kept)",
		strings.Join(exist, " and "), verb)
}

// issuableTypes are the partner organisation types of pkg/identity that issue-cert names in
// its help; checkOrgType asks pkg/identity itself, so a type added there is accepted.
var issuableTypes = []string{
	string(identity.OrgGP), string(identity.OrgPracticeNurse), string(identity.OrgVeiligThuis), string(identity.OrgHousingCorporation),
	string(identity.OrgUtility), string(identity.OrgHealthInsurer), string(identity.OrgPolice), string(identity.OrgCreditBank),
	string(identity.OrgProvider), string(identity.OrgTeam), string(identity.OrgMunicipality), string(identity.OrgIntegrator),
}

// checkOrgType accepts the organisation types the services know (pkg/identity, which refuses
// a certificate of any other type) and OPERATIONS, the operations identity on NATS.
func checkOrgType(t string) error {
	if t == operationsType {
		return nil
	}
	probe := &x509.Certificate{Subject: pkix.Name{SerialNumber: "00000000000000000000", OrganizationalUnit: []string{t}}}
	if _, err := identity.FromCertificate(probe); err != nil {
		return fmt.Errorf("-type %q: not an organisation type Wijkbrug knows (%s, SERVICE or %s)", t, strings.Join(issuableTypes, ", "), operationsType)
	}
	return nil
}

// checkFileName refuses a -file that is not a plain file name: the files go into -out.
func checkFileName(base string) error {
	if base == "." || base == ".." || strings.ContainsAny(base, `/\`) || strings.Contains(base, "..") || filepath.Base(base) != base || strings.TrimSpace(base) == "" {
		return fmt.Errorf("-file %q: want a plain file name without a directory (the directory is -out)", base)
	}
	return nil
}

func runSeedDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("seed-demo")
	dsnFor := dbFlag(fs)
	if err := parseFlags(fs, args); err != nil {
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

// runOutcomesRebuild records a rebuild request for the outcome read model in case-direction's
// database. At its next start case-direction deletes its outcome consumers, empties the
// outcome_* tables and replays the intake, case-direction, provider-monitoring and referral
// streams from the start (services/case-direction/service rebuildOutcomes).
func runOutcomesRebuild(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("outcomes-rebuild")
	dsnFor := dbFlag(fs)
	by := fs.String("by", os.Getenv("USER"), "who asks for the rebuild (required, recorded with the request; default $USER)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dsn, err := dsnFor()
	if err != nil {
		return err
	}
	if strings.TrimSpace(*by) == "" {
		return errors.New("-by is required (who asks for the rebuild)")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, err := pgxdb.Open(cctx, dsn("casedirection"), 1)
	if err != nil {
		return err
	}
	defer db.Close()
	var id int64
	if err := db.Pool.QueryRow(cctx, `INSERT INTO outcome_rebuild_requests (requested_by) VALUES ($1) RETURNING id`, *by).Scan(&id); err != nil {
		return fmt.Errorf("record the rebuild request: %w", err)
	}
	fmt.Fprintf(out, "rebuild request %d recorded: restart case-direction (every replica) and it replays the event streams into an empty outcome read model;\n"+
		"wijkbrug consumer-status shows the casedirection-outcomes-* consumers catching up\n", id)
	return nil
}
