package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	"github.com/wijkbrug/wijkbrug/pkg/grpcx"
)

// The scale generator loads a region's caseload straight into the services' databases with
// INSERT … SELECT generate_series (one statement per table and chunk, no per-row round
// trips): cases with their director, an executor involvement, two goals and the household's
// resident as the case's member, for one case in two a second member and for one in ten a
// member who left, and for one case in four an evaluation to-do, done for half of them
// (case-direction; the access log names the current members of every case shown, as it does
// for real cases; intake holds the first member only); the household, its resident, membership and the
// intake that led to the case (intake); an allocation for three cases in ten, with its case's
// resident (provider-monitoring); a partner signal for one case in ten (referral). Teams hold
// 2,000 cases each (hundreds of teams at 1,000,000); the demo team always holds the first
// 2,000, and the demo GP is the source of their 200 signals (the other signals come from 200
// other GPs), so the lists the bench calls as them compare like with like across sizes.
// The caseload is in a steady state: an overdue intake's announcement was made when it came
// due, and every issued allocation's not-started alert counts as raised (stamped with its issue
// time, so it holds whatever WIJKBRUG_NOT_STARTED_ALERT_DAYS says), so the services' jobs do
// not work off tens of thousands of them while the lists are measured (until the thirty-ninth
// session they did, at 1,000,000 cases). Identifiers are derived from the sequence number
// (md5 → uuid), which links the rows across
// the four databases without moving data between them. The rows carry random bytes
// where the services keep ciphertexts: the bench measures lists, which never decrypt them.
const (
	teamSize  = 2000
	chunkRows = 50_000
)

var scaleSQL = map[string][]string{
	"casedirection": {
		`INSERT INTO cases (id, household_id, intake_id, municipality_code, district_code, team_oin, status,
		                    director_professional_id, director_since, life_domains, opened_at, closed_at)
		 SELECT md5('case' || i)::uuid, md5('household' || i)::uuid, md5('intake' || i)::uuid, @muni, @district,
		        CASE WHEN (i - 1) / @teamsize = 0 THEN @team ELSE '00000002' || lpad(((i - 1) / @teamsize)::text, 12, '0') END,
		        (ARRAY['ACTIVE','ACTIVE','ACTIVE','PLAN_ADOPTED','IN_PROGRESS','IN_PROGRESS','SCALED_DOWN','WATCH','CLOSED','CLOSED'])[1 + i % 10],
		        CASE WHEN i % 8 = 0 THEN @director ELSE 'prof-' || (i % 8) END,
		        now() - make_interval(days => (i % 900)::int),
		        ARRAY[(ARRAY['FINANCES','HOUSING','MENTAL_HEALTH','SOCIAL_NETWORK'])[1 + i % 4]],
		        now() - make_interval(days => (i % 1000)::int, secs => (i % 86400)::float8),
		        CASE WHEN i % 10 = 8 OR i % 10 = 9 THEN now() - make_interval(days => (i % 100)::int) END
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i`,
		`INSERT INTO involvements (id, case_id, organisation_type, organisation_oin, professional_id, role, valid_from, created_at)
		 SELECT md5('director' || i)::uuid, md5('case' || i)::uuid, 'TEAM',
		        CASE WHEN (i - 1) / @teamsize = 0 THEN @team ELSE '00000002' || lpad(((i - 1) / @teamsize)::text, 12, '0') END,
		        CASE WHEN i % 8 = 0 THEN @director ELSE 'prof-' || (i % 8) END, 'DIRECTOR',
		        (now() - make_interval(days => (i % 1000)::int))::date, now() - make_interval(days => (i % 1000)::int)
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i`,
		`INSERT INTO involvements (id, case_id, organisation_type, organisation_oin, professional_id, role, valid_from, created_at)
		 SELECT md5('executor' || i)::uuid, md5('case' || i)::uuid, 'PROVIDER', @provider_oin, '', 'EXECUTOR',
		        (now() - make_interval(days => (i % 900)::int))::date, now() - make_interval(days => (i % 900)::int)
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i WHERE i % 10 < 3`,
		`INSERT INTO goals (id, case_id, life_domain, baseline_score, target_score, status, updated_at)
		 SELECT md5('goal' || g || '-' || i)::uuid, md5('case' || i)::uuid,
		        (ARRAY['FINANCES','HOUSING','MENTAL_HEALTH','SOCIAL_NETWORK'])[1 + (i + g) % 4], 2, 4,
		        (ARRAY['OPEN','IN_PROGRESS','REACHED'])[1 + (i + g) % 3], now()
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i, generate_series(1, 2) AS g
		`,
		`INSERT INTO case_residents (case_id, resident_id, pseudonym, since)
		 SELECT md5('case' || i)::uuid, md5('resident' || i)::uuid, md5('pseudo' || i),
		        now() - make_interval(days => (i % 1000)::int, secs => (i % 86400)::float8)
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i`,
		`INSERT INTO case_residents (case_id, resident_id, pseudonym, since, until)
		 SELECT md5('case' || i)::uuid, md5('member' || m || '-' || i)::uuid, md5('pseudo' || m || '-' || i),
		        now() - make_interval(days => (i % 1000)::int, secs => (i % 86400)::float8),
		        CASE WHEN m = 2 THEN now() - make_interval(days => (i % 100)::int) END
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i, generate_series(1, 2) AS m
		 WHERE (m = 1 AND i % 2 = 0) OR (m = 2 AND i % 10 = 0)`,
		`INSERT INTO evaluation_todos (id, case_id, reason, created_at, done_at)
		 SELECT md5('todo' || i)::uuid, md5('case' || i)::uuid, 'ALLOCATION_STARTED', now() - make_interval(days => (i % 900)::int),
		        CASE WHEN i % 8 = 0 THEN now() - make_interval(days => (i % 800)::int) END
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i WHERE i % 4 = 0`,
	},
	"intake": {
		`INSERT INTO residents (id, bsn_enc, bsn_index, pseudonym, municipality_code, district_code)
		 SELECT md5('resident' || i)::uuid, decode(md5('enc' || i), 'hex'), decode(md5('idx' || i) || md5('idx2' || i), 'hex'),
		        md5('pseudo' || i), @muni, @district
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i`,
		`INSERT INTO households (id, municipality_code, district_code)
		 SELECT md5('household' || i)::uuid, @muni, @district FROM generate_series(@lo::bigint, @hi::bigint) AS i`,
		`INSERT INTO household_members (household_id, resident_id, role)
		 SELECT md5('household' || i)::uuid, md5('resident' || i)::uuid, 'MAIN' FROM generate_series(@lo::bigint, @hi::bigint) AS i
		`,
		`INSERT INTO intakes (id, channel, resident_id, household_id, question_enc, life_domains, urgency, status,
		                      municipality_code, district_code, team_oin, received_at, triage_due, triage_outcome, case_id,
		                      overdue_announced_at)
		 SELECT md5('intake' || i)::uuid, (ARRAY['DESK','PHONE','DIGITAL','SIGNAL'])[1 + i % 4],
		        md5('resident' || i)::uuid, md5('household' || i)::uuid, decode(md5('question' || i), 'hex'),
		        ARRAY['FINANCES'], 'NORMAL', CASE WHEN i % 20 = 0 THEN 'RECEIVED' ELSE 'CASE_OPENED' END, @muni, @district,
		        CASE WHEN (i - 1) / @teamsize = 0 THEN @team ELSE '00000002' || lpad(((i - 1) / @teamsize)::text, 12, '0') END,
		        now() - make_interval(days => (i % 1000)::int), now() - make_interval(days => (i % 1000)::int) + interval '5 days',
		        CASE WHEN i % 20 = 0 THEN '' ELSE 'CASE_DIRECTION' END,
		        CASE WHEN i % 20 = 0 THEN NULL ELSE md5('case' || i)::uuid END,
		        CASE WHEN i % 20 = 0 AND i % 1000 > 5 THEN now() - make_interval(days => (i % 1000)::int) + interval '5 days' END
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i`,
		`INSERT INTO team_residents (team_oin, resident_id)
		 SELECT CASE WHEN (i - 1) / @teamsize = 0 THEN @team ELSE '00000002' || lpad(((i - 1) / @teamsize)::text, 12, '0') END, md5('resident' || i)::uuid
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i`,
	},
	"providermonitoring": {
		`INSERT INTO allocations (number, provider_agb, case_id, municipality_code, district_code, product_category, product_code,
		                          start_date, end_date, volume_amount, volume_unit, volume_frequency, status, issued_at, started_on,
		                          not_started_alerted_at)
		 SELECT 'GEN' || lpad(i::text, 9, '0'), @agb, md5('case' || i)::uuid, @muni, @district, @cat, @code,
		        (now() - make_interval(days => (i % 900)::int))::date, (now() - make_interval(days => (i % 900)::int) + interval '180 days')::date,
		        4, 'HOUR', 'WEEK', (ARRAY['ISSUED','STARTED','STARTED','ENDED'])[1 + i % 4], now() - make_interval(days => (i % 900)::int),
		        CASE WHEN i % 4 IN (1, 2, 3) THEN (now() - make_interval(days => (i % 900)::int))::date END,
		        CASE WHEN i % 4 = 0 THEN now() - make_interval(days => (i % 900)::int) END
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i WHERE i % 10 < 3`,
		`INSERT INTO case_residents (case_id, pseudonym)
		 SELECT md5('case' || i)::uuid, md5('pseudo' || i) FROM generate_series(@lo::bigint, @hi::bigint) AS i WHERE i % 10 < 3`,
	},
	"referral": {
		`INSERT INTO signals (id, source_type, source_oin, reporter, legal_basis, resident_bsn_enc, resident_bsn_index,
		                      municipality_code, district_code, life_domains, category, status, feedback, received_at, fed_back_at, intake_id)
		 SELECT md5('signal' || i)::uuid, 'GP', CASE WHEN i <= @teamsize THEN @gp ELSE '00000003' || lpad(((i / 10) % 200)::text, 12, '0') END,
		        'dr-gen', 'WMO', @enc, @idx, @muni, @district, ARRAY['FINANCES'], 'generated', 'FED_BACK', 'TAKEN_INTO_CASE_DIRECTION',
		        now() - make_interval(days => (i % 1000)::int), now() - make_interval(days => (i % 1000)::int) + interval '2 days', md5('intake' || i)::uuid
		 FROM generate_series(@lo::bigint, @hi::bigint) AS i WHERE i % 10 = 0`,
	},
}

// scaleArgs are the named parameters of the statements (each uses the ones it names).
func (b *bench) scaleArgs(lo, hi int64) pgx.NamedArgs {
	return pgx.NamedArgs{"lo": lo, "hi": hi, "enc": b.sample.enc, "idx": b.sample.idx, "muni": suite.DemoMunicipality, "district": suite.DemoDistrict, "teamsize": teamSize,
		"team": suite.DemoTeam.OIN, "director": benchDirector, "provider_oin": suite.DemoProvider.OIN, "agb": suite.DemoProviderAGB,
		"cat": suite.DemoProductCategory, "code": suite.DemoProductCode, "gp": suite.DemoGP.OIN}
}

// sampleSignal takes the BSN ciphertext of a real signal (submitted through the API when
// there is none yet) for the generated signals: ListMySignals opens it, and AES-GCM binds a
// ciphertext to its column, not to its row, so a copy opens like the original.
func (b *bench) sampleSignal(ctx context.Context) error {
	if b.sample.enc != nil {
		return nil
	}
	cc, err := b.dial("gp", "referral")
	if err != nil {
		return err
	}
	defer cc.Close()
	cctx, cancel := context.WithTimeout(grpcx.ActingUser(ctx, "dr-bench", asGP.role, asGP.purpose), 30*time.Second)
	defer cancel()
	sig, err := referralv1.NewReferralServiceClient(cc).SubmitSignal(cctx, b.signalMsg(0).(*referralv1.SubmitSignalRequest))
	if err != nil {
		return fmt.Errorf("sample signal: %w", err)
	}
	conn, err := pgx.Connect(ctx, b.s.Postgres.DSN("referral"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.QueryRow(ctx, `SELECT resident_bsn_enc, resident_bsn_index FROM signals WHERE id = $1`, sig.GetSignalId()).Scan(&b.sample.enc, &b.sample.idx)
}

// scaleTo grows the generated caseload to n cases (it only adds: sizes are measured in
// increasing order) and refreshes the planner statistics.
func (b *bench) scaleTo(ctx context.Context, n int) error {
	from := b.generated + 1
	if int64(n) < from {
		return nil
	}
	start := time.Now()
	if err := b.sampleSignal(ctx); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "Loading cases %d…%d (households, residents, intakes, involvements, goals, allocations, signals)…\n", from, n)
	for _, db := range []string{"casedirection", "intake", "providermonitoring", "referral"} {
		conn, err := pgx.Connect(ctx, b.s.Postgres.DSN(db))
		if err != nil {
			return err
		}
		for lo := from; lo <= int64(n); lo += chunkRows {
			hi := min(lo+chunkRows-1, int64(n))
			for _, q := range scaleSQL[db] {
				if _, err := conn.Exec(ctx, q, b.scaleArgs(lo, hi)); err != nil {
					conn.Close(ctx)
					return fmt.Errorf("%s: %w", db, err)
				}
			}
		}
		if _, err := conn.Exec(ctx, `VACUUM ANALYZE`); err != nil {
			conn.Close(ctx)
			return err
		}
		conn.Close(ctx)
	}
	b.generated = int64(n)
	took := time.Since(start)
	fmt.Fprintf(b.out, "  loaded in %s\n", took.Round(time.Second))
	return nil
}
