package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/embeddedpg"
)

func runDev(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("dev")
	dataDir := fs.String("data-dir", ".wijkbrug", "directory that keeps PostgreSQL, JetStream, certificates and keys across restarts (not used with -ephemeral)")
	ephemeral := fs.Bool("ephemeral", false, "use a throw-away data directory, removed on exit")
	basePort := fs.Int("base-port", 50051, "gRPC port of intake; case-direction, provider-monitoring and referral follow; REST ports at +20, admin ports at +40")
	pgPort := fs.Int("pg-port", 55432, "PostgreSQL port (127.0.0.1)")
	natsPort := fs.Int("nats-port", 4222, "NATS port (127.0.0.1)")
	logLevel := fs.String("log-level", "warn", "service log level: debug, info, warn, error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(out, "Starting Wijkbrug (PostgreSQL, NATS JetStream, four services)…")
	s, err := suite.Start(ctx, suite.Options{
		DataDir: *dataDir, Ephemeral: *ephemeral, BasePort: *basePort, PostgresPort: *pgPort, NATSPort: *natsPort,
		LogLevel: *logLevel, Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(out, "Stopping services, NATS and PostgreSQL…")
		s.Stop()
		fmt.Fprintln(out, "Stopped.")
	}()
	printBanner(out, s, *ephemeral, filepath.IsAbs(*dataDir))
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.Done():
		return err
	case <-s.Postgres.Exited():
		// Nothing restarts it: say so and stop, rather than serve UNAVAILABLE for good.
		if *ephemeral {
			// The throw-away directory, log and all, is removed as the suite stops: the end of
			// the log goes with the error instead of its path.
			// The log's lines name the directory (its socket); a short log shows them.
			tail := strings.ReplaceAll(lastLines(s.Postgres.LogTail(), 15), s.DataDir, "<data directory>")
			return fmt.Errorf("PostgreSQL stopped unexpectedly (%v); the end of its log (the -ephemeral data directory is removed):\n%s",
				s.Postgres.ExitError(), tail)
		}
		return fmt.Errorf("PostgreSQL stopped unexpectedly (%v); its log: %s. Start the suite again: the data directory is kept",
			s.Postgres.ExitError(), s.Postgres.LogPath())
	}
}

func printBanner(out io.Writer, s *suite.Suite, ephemeral, absolute bool) {
	// Paths are printed as the user gave the data directory: an absolute one stays absolute, a
	// relative one is shown relative to the working directory.
	rel := func(p string) string {
		if absolute {
			return p
		}
		if wd, err := os.Getwd(); err == nil {
			if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
				return r
			}
		}
		return p
	}
	fmt.Fprintf(out, "\nWijkbrug is serving (started in %s).\n\n", s.StartedIn.Round(1e6))
	fmt.Fprintf(out, "  %-20s %-18s %-18s %-18s %s\n", "service", "gRPC (mTLS)", "REST (mTLS)", "admin (HTTP)", "gRPC service")
	for _, e := range s.Services {
		fmt.Fprintf(out, "  %-20s %-18s %-18s %-18s %s\n", e.Name, e.Addr, e.RESTAddr, e.AdminAddr, e.Service)
	}
	fmt.Fprintf(out, "\n  PostgreSQL  %s\n              (databases: intake, casedirection, providermonitoring, referral; TLS and passwords: %s)\n",
		embeddedpg.DSNFor(rel(s.Postgres.Dir()), s.Postgres.Port(), embeddedpg.SuperUser, "<db>"), rel(s.Postgres.Dir()))
	fmt.Fprintf(out, "  NATS        %s (TLS 1.3 + client certificate; JetStream streams WIJKBRUG_*)\n", s.NATSURL)
	if ephemeral {
		fmt.Fprintf(out, "  data        %s (removed on exit)\n", s.DataDir)
	} else {
		fmt.Fprintf(out, "  data        %s (kept; -ephemeral for a throw-away run)\n", rel(s.DataDir))
	}
	pki := rel(filepath.Dir(s.CAFile))
	fmt.Fprintf(out, "\nDemo partner certificates in %s: ", pki)
	for _, k := range []string{"gp", "veiligthuis", "housing", "provider", "team", "municipality"} {
		p := s.Partners[k]
		fmt.Fprintf(out, "%s (%s, OIN %s)  ", k, p.Org.Name, p.Org.OIN)
	}
	ref, in := s.Endpoint("referral"), s.Endpoint("intake")
	as := func(who, user, role, purpose string) string {
		return fmt.Sprintf("bin/grpcurl -cacert %s/ca.pem -cert %s/%s.pem -key %s/%s-key.pem \\\n    -H 'x-wijkbrug-user: %s' -H 'x-wijkbrug-role: %s' -H 'x-wijkbrug-purpose: %s'", pki, pki, who, pki, who, user, role, purpose)
	}
	fmt.Fprintf(out, "\n\nTry it (make tools installs bin/grpcurl):\n\n")
	fmt.Fprintf(out, "# list the services by reflection\nbin/grpcurl -cacert %s/ca.pem -cert %s/gp.pem -key %s/gp-key.pem %s list\n\n", pki, pki, pki, ref.Addr)
	fmt.Fprintf(out, "# a GP submits a signal (three life domains: triage opens case direction)\n%s \\\n    -d '{\"idempotency_key\":\"demo-1\",\"source_type\":\"SOURCE_TYPE_GP\",\"legal_basis\":\"LEGAL_BASIS_WMO\",\"resident_bsn\":\"111222333\",\"municipality_code\":\"%s\",\"district_code\":\"%s\",\"life_domains\":[\"LIFE_DOMAIN_FINANCES\",\"LIFE_DOMAIN_MENTAL_HEALTH\",\"LIFE_DOMAIN_SOCIAL_NETWORK\"],\"category\":\"multiple problems\",\"description\":\"Patient has debts and is isolated\"}' \\\n    %s wijkbrug.referral.v1.ReferralService/SubmitSignal\n\n",
		as("gp", "dr-jansen", "gp", "signal"), suite.DemoMunicipality, suite.DemoDistrict, ref.Addr)
	fmt.Fprintf(out, "# the GP follows up on its own signal (use the signal_id from the answer)\n%s \\\n    -d '{\"signal_id\":\"<signal_id>\"}' %s wijkbrug.referral.v1.ReferralService/GetSignal\n\n", as("gp", "dr-jansen", "gp", "signal"), ref.Addr)
	curl := func(who, user, role, purpose string) string {
		return fmt.Sprintf("curl -s --cacert %s/ca.pem --cert %s/%s.pem --key %s/%s-key.pem \\\n    -H 'X-Wijkbrug-User: %s' -H 'X-Wijkbrug-Role: %s' -H 'X-Wijkbrug-Purpose: %s'", pki, pki, who, pki, who, user, role, purpose)
	}
	fmt.Fprintf(out, "# the same over REST/JSON (docs/rest.md; OpenAPI at https://%s/openapi.json)\n%s \\\n    -H 'Idempotency-Key: demo-rest-1' -d '{\"source_type\":\"SOURCE_TYPE_GP\",\"legal_basis\":\"LEGAL_BASIS_WMO\",\"resident_bsn\":\"111222333\",\"municipality_code\":\"%s\",\"life_domains\":[\"LIFE_DOMAIN_FINANCES\"],\"category\":\"payment arrears\"}' \\\n    https://%s/v1/signals\n%s \\\n    'https://%s/v1/signals/<signal_id>'\n\n",
		ref.RESTAddr, curl("gp", "dr-jansen", "gp", "signal"), suite.DemoMunicipality, ref.RESTAddr, curl("gp", "dr-jansen", "gp", "signal"), ref.RESTAddr)
	fmt.Fprintf(out, "# a call without a client certificate is refused: UNAUTHENTICATED\nbin/grpcurl -cacert %s/ca.pem %s list\n\n", pki, in.Addr)
	// events reads .wijkbrug/pki by default; another -data-dir needs its certificates named.
	certs := ""
	if pki != ".wijkbrug/pki" {
		certs = fmt.Sprintf(" -cert %s/ops.pem -ca %s/ca.pem", pki, pki)
	}
	fmt.Fprintf(out, "# watch the events (decoded) as operations (%s/ops.pem) — all of them, or only the GP's feedback\ngo run ./cmd/wijkbrug events -nats %s%s\ngo run ./cmd/wijkbrug events -nats %s%s -subject 'wijkbrug.referral.feedback.%s.>'\n\n", pki, s.NATSURL, certs, s.NATSURL, certs, s.Partners["gp"].Org.OIN)
	fmt.Fprintf(out, "More examples (case direction, allocation, start of care): README.md. Ctrl-C stops everything.\n")
}

// lastLines is the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
