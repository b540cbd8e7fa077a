package postgres

import (
	"context"
	"time"

	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Themes counts recurring themes. Each count comes with the number of distinct residents
// (by blind index) behind the records of organisations other than the one asking, so the
// application can suppress small groups that the asker's own records would fill up.
type Themes struct{ db *pgxdb.DB }

// NewThemes returns the repository.
func NewThemes(db *pgxdb.DB) *Themes { return &Themes{db: db} }

// Count returns the raw counts for a municipality (and optionally one district) over
// [from, to); Residents counts the residents behind records that the organisation asker did
// not make (a signal it did not send, a referral it did not make).
func (r *Themes) Count(ctx context.Context, municipality, district string, from, to time.Time, asker string) ([]domain.ThemeCount, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		WITH s AS (
		    SELECT district_code, category, life_domains, resident_bsn_index, source_oin <> $5 AS other FROM signals
		    WHERE municipality_code = $1 AND ($2 = '' OR district_code = $2) AND received_at >= $3 AND received_at < $4
		), t AS (
		    SELECT r.district_code, r.life_domains, r.resident_bsn_index, t.to_status, t.reason, r.referrer_oin <> $5 AS other
		    FROM referral_transitions t JOIN referrals r ON r.id = t.referral_id
		    WHERE t.to_status IN ('SENT', 'DECLINED') AND t.at >= $3 AND t.at < $4
		      AND r.municipality_code = $1 AND ($2 = '' OR r.district_code = $2)
		)
		SELECT 'SIGNAL_CATEGORY', district_code, category, count(*), count(DISTINCT resident_bsn_index) FILTER (WHERE other)
		    FROM s WHERE category <> '' GROUP BY district_code, category
		UNION ALL
		SELECT 'SIGNAL_LIFE_DOMAIN', district_code, d, count(*), count(DISTINCT resident_bsn_index) FILTER (WHERE other)
		    FROM s, unnest(life_domains) AS d GROUP BY district_code, d
		UNION ALL
		SELECT 'REFERRAL_LIFE_DOMAIN', district_code, d, count(*), count(DISTINCT resident_bsn_index) FILTER (WHERE other)
		    FROM t, unnest(life_domains) AS d WHERE to_status = 'SENT' GROUP BY district_code, d
		UNION ALL
		SELECT 'DECLINE_REASON', district_code, reason, count(*), count(DISTINCT resident_bsn_index) FILTER (WHERE other)
		    FROM t WHERE to_status = 'DECLINED' GROUP BY district_code, reason`,
		municipality, district, from, to, asker)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.ThemeCount
	for rows.Next() {
		var c domain.ThemeCount
		if err := rows.Scan(&c.Kind, &c.District, &c.Key, &c.Count, &c.Residents); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
