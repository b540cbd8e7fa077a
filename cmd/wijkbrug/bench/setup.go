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
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
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

// intakeRef is an intake (or the case triage opened for it) and the BSN of the resident it is
// about.
type intakeRef struct{ id, bsn string }

// referralIntakes registers n intakes of the demo team at the desk, through the API, the
// first time it is asked, and returns them with their residents' BSNs: a referral from an
// intake must name a resident of the intake's household.
func (b *bench) referralIntakes(ctx context.Context, n int) ([]intakeRef, error) {
	return b.referrableIntakes(ctx, &b.referrable, n, false)
}

// referralCases is referralIntakes for crisis intakes: it returns the cases triage opened for
// them (as intakeRefs whose id is the case's) with their residents' BSNs.
func (b *bench) referralCases(ctx context.Context, n int) ([]intakeRef, error) {
	return b.referrableIntakes(ctx, &b.referrableCases, n, true)
}

// referrableIntakes registers intakes through the API until have holds n (for crisis ones, the
// cases triage opened for them) and returns the first n.
func (b *bench) referrableIntakes(ctx context.Context, have *[]intakeRef, n int, crisis bool) ([]intakeRef, error) {
	if len(*have) >= n {
		return (*have)[:n], nil
	}
	cc, err := b.dial("team", "intake")
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	client := intakev1.NewIntakeServiceClient(cc)
	for i := len(*have); i < n; i++ {
		bsn := b.bsns.get()
		req := &intakev1.RegisterIntakeRequest{IdempotencyKey: b.key("ref-intake", int64(i)),
			Channel: intakev1.Channel_CHANNEL_DESK, ResidentBsn: bsn, MunicipalityCode: suite.DemoMunicipality,
			DistrictCode: suite.DemoDistrict, Question: "bench: would a buddy help?",
			LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_SOCIAL_NETWORK}, Urgency: intakev1.Urgency_URGENCY_NORMAL}
		if crisis {
			req.IdempotencyKey, req.Channel, req.Urgency = b.key("ref-case", int64(i)), intakev1.Channel_CHANNEL_PHONE, intakev1.Urgency_URGENCY_CRISIS
		}
		cctx, cancel := context.WithTimeout(grpcx.ActingUser(ctx, "bench-desk", asTeam.role, asTeam.purpose), 30*time.Second)
		res, err := client.RegisterIntake(cctx, req)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("register an intake to refer from: %w", err)
		}
		ref := intakeRef{id: res.GetIntake().GetId(), bsn: bsn}
		if crisis {
			if ref.id = res.GetIntake().GetCaseId(); ref.id == "" {
				return nil, fmt.Errorf("triage opened no case for crisis intake %s", res.GetIntake().GetId())
			}
		}
		*have = append(*have, ref)
	}
	return *have, nil
}
