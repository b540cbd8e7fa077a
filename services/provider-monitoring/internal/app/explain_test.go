package app_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/adapters/postgres"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// The monitoring views answer from indexed queries: on 60,000 allocations of 300 providers
// (with reports, requests and delivered volumes), the planner uses the indexes for every figure query and scans
// none of the large tables. (The 1,000,000-row scale test is the performance issue's.)
// PM_EXPLAIN_OUT=<file> writes the plans, for docs/services/provider-monitoring.md.
func TestMonitoringQueriesUseIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("bulk data")
	}
	_, db, _ := newApp(t)
	ctx := context.Background()
	_, err := db.Pool.Exec(ctx, `
		INSERT INTO providers (agb, name, oin)
		SELECT lpad((20000000 + g)::text, 8, '0'), 'Provider ' || g, lpad(g::text, 20, '0') FROM generate_series(1, 300) g;
		INSERT INTO contracts (id, provider_agb, model, municipality_code, valid_from)
		SELECT md5('c' || g)::uuid, lpad((20000000 + g)::text, 8, '0'), 'CHOICE', 'GM0363', '2020-01-01' FROM generate_series(1, 300) g;
		INSERT INTO contract_products (contract_id, product_category, product_code)
		SELECT md5('c' || g)::uuid, '45', '45A48' FROM generate_series(1, 300) g;
		INSERT INTO allocations (number, provider_agb, case_id, municipality_code, product_category, product_code, start_date,
		                         volume_amount, volume_unit, volume_frequency, status, issued_at, contract_id, first_started_on)
		SELECT 'TW' || lpad(g::text, 10, '0'), lpad((20000000 + g % 300 + 1)::text, 8, '0'), md5('case' || g)::uuid,
		       CASE WHEN g % 10 = 0 THEN 'GM0599' ELSE 'GM0363' END, '45', '45A48', date '2024-01-01' + g % 500,
		       2, '04', '2', (ARRAY['ISSUED', 'STARTED', 'PAUSED', 'ENDED', 'WITHDRAWN'])[g % 5 + 1],
		       timestamptz '2024-01-01' + (g % 500) * interval '1 day', md5('c' || (g % 300 + 1))::uuid,
		       CASE WHEN g % 5 IN (1, 2, 3) THEN date '2024-01-05' + g % 500 END
		FROM generate_series(1, 60000) g;
		INSERT INTO delivery_reports (allocation_number, kind, day, reported_at, on_time, provider_agb, municipality_code, contract_id)
		SELECT number, k, start_date, issued_at, number < 'TW0000030000', provider_agb, municipality_code, contract_id
		FROM allocations, (VALUES ('START'), ('STOP')) AS kinds(k) WHERE first_started_on IS NOT NULL;
		INSERT INTO delivered_volumes (id, allocation_number, period_start, period_end, amount, unit, reported_at)
		SELECT md5(number || m)::uuid, number, first_started_on + 30 * m, first_started_on + 30 * m + 29, 8, volume_unit, issued_at
		FROM allocations, generate_series(0, 2) m WHERE first_started_on IS NOT NULL;
		INSERT INTO allocation_requests (id, kind, provider_agb, municipality_code, product_category, product_code, start_date,
		                                 volume_amount, volume_unit, volume_frequency, status, received_at, answer_due, answered_on_time)
		SELECT md5('r' || g)::uuid, 'ALLOCATION', lpad((20000000 + g % 300 + 1)::text, 8, '0'), 'GM0363', '45', '45A48', '2024-02-01',
		       2, '04', '2', CASE WHEN g % 4 = 0 THEN 'RECEIVED' ELSE 'GRANTED' END, timestamptz '2024-01-01' + (g % 500) * interval '1 day',
		       date '2024-01-08' + g % 500, CASE WHEN g % 4 <> 0 THEN g % 9 <> 0 END
		FROM generate_series(1, 30000) g;
		ANALYZE;`)
	if err != nil {
		t.Fatal(err)
	}
	day := domain.Date(2025, 3, 1)
	contract := "c4ca4238-a0b9-2382-0dcc-509a6f75849b" // md5('c1')
	queries := []struct {
		name  string
		sql   string
		args  []any
		index []string
	}{
		{"provider allocations", postgres.ProviderAllocations, []any{"20000001", "GM0363", day}, []string{"allocations_provider"}},
		{"provider reports", postgres.ProviderReports, []any{"20000001", "GM0363"}, []string{"delivery_reports_provider"}},
		{"provider requests", postgres.ProviderRequests, []any{"20000001", "GM0363", day}, []string{"allocation_requests_provider"}},
		{"contract allocations", postgres.ContractAllocations, []any{contract, day}, []string{"allocations_contract"}},
		{"contract reports", postgres.ContractReports, []any{contract}, []string{"delivery_reports_contract"}},
		{"contract requests", postgres.ContractRequests, []any{contract, day}, []string{"allocation_requests_provider"}},
		{"provider volume", postgres.ProviderVolume, []any{"20000001", "GM0363"}, []string{"allocations_provider", "delivered_volumes_allocation"}},
		{"contract volume", postgres.ContractVolume, []any{contract}, []string{"allocations_contract", "delivered_volumes_allocation"}},
		{"case allocations", `SELECT number FROM allocations WHERE case_id = $1 ORDER BY issued_at, number`, []any{"c4ca4238-a0b9-2382-0dcc-509a6f75849b"}, []string{"allocations_case"}},
		{"open requests queue", `SELECT id FROM allocation_requests WHERE municipality_code = $1 AND (received_at, id) > ($2, $3::uuid)
			AND status IN ('RECEIVED', 'UNDER_INVESTIGATION') ORDER BY received_at, id LIMIT 101`,
			[]any{"GM0363", day, "00000000-0000-0000-0000-000000000000"}, []string{"allocation_requests_open"}},
	}
	seq := regexp.MustCompile(`Seq Scan on (allocations|delivery_reports|allocation_requests|delivered_volumes)\b`)
	var doc strings.Builder
	for _, q := range queries {
		rows, err := db.Pool.Query(ctx, "EXPLAIN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		rows.Close()
		p := plan.String()
		if seq.MatchString(p) {
			t.Errorf("%s scans a large table:\n%s", q.name, p)
		}
		for _, idx := range q.index {
			if !strings.Contains(p, idx) {
				t.Errorf("%s does not use %s:\n%s", q.name, idx, p)
			}
		}
		doc.WriteString("-- " + q.name + "\n" + p + "\n")
	}
	if out := os.Getenv("PM_EXPLAIN_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(doc.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
