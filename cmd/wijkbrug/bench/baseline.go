package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/eventsubject"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/platformdb"
	referralmigrations "github.com/wijkbrug/wijkbrug/services/referral/migrations"
)

// The raw baseline writes what SubmitSignal writes, straight with pgx: a signal row, an outbox
// row and an access-log row, one transaction per request, in a database of the same
// PostgreSQL cluster with the same pool size as a service, migrated like referral's (so the
// same columns, indexes and triggers). No TLS, no gRPC, no validation,
// no idempotency key, no relay: the ceiling the service is compared with (DESIGN §9).
const baselineDB = "benchbaseline"

func openBaseline(ctx context.Context, s *suite.Suite) (*pgxpool.Pool, error) {
	if err := s.Postgres.CreateDatabase(ctx, baselineDB); err != nil {
		return nil, err
	}
	dsn := s.Postgres.DSN(baselineDB)
	if err := pgxdb.Migrate(ctx, dsn, platformdb.Migrations(), referralmigrations.Set()); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 16 // as each service's pool (suite: DatabaseConns 16)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return pool, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// baselineOnce is one request of the baseline: five round trips (BEGIN, three INSERTs, COMMIT).
func baselineOnce(ctx context.Context, pool *pgxpool.Pool, bsnIndex []byte) error {
	subject, err := eventsubject.Subject(&referralv1.SignalReceived{}, suite.DemoMunicipality)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		id, now := uuid.New(), time.Now().UTC()
		if _, err := tx.Exec(ctx, `
			INSERT INTO signals (id, source_type, source_oin, reporter, legal_basis, resident_bsn_enc, resident_bsn_index,
			                     municipality_code, district_code, life_domains, category, description_enc, status, received_at)
			VALUES ($1, 'GP', $2, 'bench', 'WMO', $3, $4, $5, $6, $7, 'payment arrears', $8, 'RECEIVED', $9)`,
			id, suite.DemoGP.OIN, randomBytes(38), bsnIndex, suite.DemoMunicipality, suite.DemoDistrict, []string{"FINANCES"}, randomBytes(60), now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO outbox (event_id, subject, event_type, source, aggregate_id, payload, traceparent, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			uuid.New(), subject, "wijkbrug.referral.v1.SignalReceived",
			"urn:wijkbrug:referral", id.String(), randomBytes(120), "", now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO access_log (action, object_type, object_id, resident_pseudonym, user_id, role, org_oin, org_type,
			                        on_behalf_of, purpose, access_point, route, outcome, trace_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			"referral.signal.create", "signal", id.String(), fmt.Sprintf("%x", bsnIndex), "bench", "gp", suite.DemoGP.OIN, "GP",
			"", "signal", "referral /wijkbrug.referral.v1.ReferralService/SubmitSignal", "NEW_RECORD", "GRANTED", "")
		return err
	})
}

// baseline runs conc workers of baselineOnce for d.
func (b *bench) baseline(ctx context.Context, conc int, d time.Duration) (measurement, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	errs, sample := 0, ""
	var wg sync.WaitGroup
	start := time.Now()
	waits := b.sampleWaits(context.WithoutCancel(ctx))
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				t := time.Now()
				err := baselineOnce(ctx, b.raw, randomBytes(32))
				if ctx.Err() != nil {
					break // cut off by the end of the run, not a failure
				}
				if err != nil {
					mu.Lock()
					errs++
					sample = err.Error()
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	m := measurement{Name: "raw pgx baseline", Conc: conc, Count: len(lat) + errs, Errors: errs, ErrSample: sample, Elapsed: time.Since(start), LoadAvg: loadAverage(), Waits: waits.end()}
	fill(&m, lat, time.Since(start))
	return m, nil
}
