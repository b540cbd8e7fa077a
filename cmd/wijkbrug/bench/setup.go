package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
	referral "github.com/wijkbrug/wijkbrug/services/referral/service"
	"google.golang.org/grpc"
)

func demoProvision() string { return referral.DemoProvisionID("Maatjesproject De Brug") }

// query reads one column of strings from a service's database (the bench's own bookkeeping:
// which cases, intakes and allocations the previous step made).
func (b *bench) query(ctx context.Context, db, sql string, args ...any) ([]string, error) {
	conn, err := pgx.Connect(ctx, b.s.Postgres.DSN(db))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (b *bench) dial(partner, service string) (*grpc.ClientConn, error) {
	p := b.s.Partners[partner]
	cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(b.s.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return grpcx.Dial(b.s.Endpoint(service).Addr, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, RootCAs: pool}, 10*time.Second)
}

// readyCases returns up to n of the demo team's cases with a director (giving a director to
// cases the crisis intakes opened, through the API, when there are too few).
func (b *bench) readyCases(ctx context.Context, n int) ([]string, error) {
	active, err := b.query(ctx, "casedirection", `SELECT id::text FROM cases WHERE team_oin = $1 AND status = 'ACTIVE' LIMIT $2`, suite.DemoTeam.OIN, n)
	if err != nil {
		return nil, err
	}
	if len(active) >= n {
		return active, nil
	}
	fresh, err := b.query(ctx, "casedirection", `SELECT id::text FROM cases WHERE team_oin = $1 AND status = 'REGISTERED' LIMIT $2`, suite.DemoTeam.OIN, n-len(active))
	if err != nil {
		return nil, err
	}
	cc, err := b.dial("team", "casedirection")
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	client := casedirectionv1.NewCaseDirectionServiceClient(cc)
	for i, id := range fresh {
		cctx, cancel := context.WithTimeout(grpcx.ActingUser(ctx, "bench-regisseur", asTeam.role, asTeam.purpose), 30*time.Second)
		_, err := client.AssignDirector(cctx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: b.key("dir", int64(i)), CaseId: id, ProfessionalId: "bench-regisseur"})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("assign director: %w", err)
		}
		active = append(active, id)
	}
	if len(active) == 0 {
		return nil, fmt.Errorf("no cases to allocate for (the crisis intakes opened none)")
	}
	return active, nil
}

func (b *bench) issuedAllocations(ctx context.Context) ([]string, error) {
	return b.query(ctx, "providermonitoring", `SELECT number FROM allocations WHERE provider_agb = $1 AND status = 'ISSUED'`, suite.DemoProviderAGB)
}

func (b *bench) teamIntakes(ctx context.Context, n int) ([]string, error) {
	ids, err := b.query(ctx, "intake", `SELECT id::text FROM intakes WHERE team_oin = $1 ORDER BY received_at DESC LIMIT $2`, suite.DemoTeam.OIN, n)
	if err == nil && len(ids) == 0 {
		err = fmt.Errorf("no intakes of the demo team to refer from")
	}
	return ids, err
}
