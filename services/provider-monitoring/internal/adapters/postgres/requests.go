package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Requests is the repository of requests for allocation and change. The reason for a change
// and the reason of a refusal are sealed with the request id and the field as associated
// data.
type Requests struct {
	db   *pgxdb.DB
	seal Sealer
}

// NewRequests returns the repository.
func NewRequests(db *pgxdb.DB, seal Sealer) *Requests { return &Requests{db: db, seal: seal} }

// RequestTextAAD binds a sealed text of a request to the request and the field.
func RequestTextAAD(id, field string) string { return "allocation_request:" + id + ":" + field }

func (r *Requests) sealed(text, id, field string) []byte {
	if text == "" {
		return nil
	}
	return r.seal.Seal(text, RequestTextAAD(id, field))
}

// opened is a sealed text, or the text an earlier release stored in clear (plain).
func (r *Requests) opened(b []byte, plain, id, field string) (string, error) {
	if len(b) == 0 {
		return plain, nil
	}
	return r.seal.Open(b, RequestTextAAD(id, field))
}

// Insert stores a new request.
func (r *Requests) Insert(ctx context.Context, q domain.Request) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO allocation_requests (id, kind, provider_agb, municipality_code, district_code, allocation_number,
			product_category, product_code, start_date, end_date, volume_amount, volume_unit, volume_frequency,
			referrer_type, referrer_code, change_reason_enc, status, received_at, answer_due)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		q.ID, string(q.Kind), q.ProviderAGB, q.Municipality, q.District, q.AllocationNumber,
		q.Product.Category, q.Product.Code, q.Start, q.End, q.Volume.Amount, q.Volume.Unit, q.Volume.Frequency,
		q.ReferrerType, q.ReferrerCode, r.sealed(q.ChangeReasonText, q.ID, "change_reason_text"), string(q.Status), q.ReceivedAt, q.AnswerDue)
	return err
}

const requestColumns = `id::text, kind, provider_agb, municipality_code, district_code, COALESCE(allocation_number, ''),
	product_category, product_code, start_date, end_date, volume_amount, volume_unit, volume_frequency,
	referrer_type, referrer_code, change_reason_text, change_reason_enc, status, received_at, answer_due,
	answered_at, answered_on_time, decision_due, decided_at, decided_on_time, refusal_reason, refusal_reason_enc,
	COALESCE(resulting_allocation, '')`

func (r *Requests) scan(row pgx.Row) (domain.Request, error) {
	var (
		q                                       domain.Request
		kind, status, changePlain, refusalPlain string
		changeEnc, refusalEnc                   []byte
	)
	err := row.Scan(&q.ID, &kind, &q.ProviderAGB, &q.Municipality, &q.District, &q.AllocationNumber,
		&q.Product.Category, &q.Product.Code, &q.Start, &q.End, &q.Volume.Amount, &q.Volume.Unit, &q.Volume.Frequency,
		&q.ReferrerType, &q.ReferrerCode, &changePlain, &changeEnc, &status, &q.ReceivedAt, &q.AnswerDue,
		&q.AnsweredAt, &q.AnsweredOnTime, &q.DecisionDue, &q.DecidedAt, &q.DecidedOnTime, &refusalPlain, &refusalEnc, &q.ResultingAllocation)
	if err != nil {
		return q, err
	}
	q.Kind, q.Status = domain.RequestKind(kind), domain.RequestStatus(status)
	if q.ChangeReasonText, err = r.opened(changeEnc, changePlain, q.ID, "change_reason_text"); err != nil {
		return q, err
	}
	q.RefusalReason, err = r.opened(refusalEnc, refusalPlain, q.ID, "refusal_reason")
	return q, err
}

// Get reads a request.
func (r *Requests) Get(ctx context.Context, id string) (domain.Request, error) {
	return r.get(ctx, id, "")
}

// GetForUpdate reads and locks a request.
func (r *Requests) GetForUpdate(ctx context.Context, id string) (domain.Request, error) {
	return r.get(ctx, id, " FOR UPDATE")
}

func (r *Requests) get(ctx context.Context, id, lock string) (domain.Request, error) {
	q, err := r.scan(r.db.Q(ctx).QueryRow(ctx, `SELECT `+requestColumns+` FROM allocation_requests WHERE id = $1`+lock, id))
	if pgxdb.IsNoRows(err) {
		return q, apperr.NotFound("allocation request", id)
	}
	return q, err
}

// Update stores a request's answer.
func (r *Requests) Update(ctx context.Context, q domain.Request) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		UPDATE allocation_requests SET status = $2, answered_at = $3, answered_on_time = $4, decision_due = $5,
			decided_at = $6, decided_on_time = $7, refusal_reason = '', refusal_reason_enc = $8, resulting_allocation = NULLIF($9, '')
		WHERE id = $1`, q.ID, string(q.Status), q.AnsweredAt, q.AnsweredOnTime, q.DecisionDue,
		q.DecidedAt, q.DecidedOnTime, r.sealed(q.RefusalReason, q.ID, "refusal_reason"), q.ResultingAllocation)
	return err
}

// List returns up to limit requests of a municipality received after the cursor (receivedAt,
// id), oldest first; openOnly keeps those waiting for an answer or a final decision.
func (r *Requests) List(ctx context.Context, municipality string, openOnly bool, afterAt time.Time, afterID string, limit int) ([]domain.Request, error) {
	open := ""
	if openOnly {
		open = ` AND status IN ('RECEIVED', 'UNDER_INVESTIGATION')`
	}
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+requestColumns+` FROM allocation_requests
		WHERE municipality_code = $1 AND (received_at, id) > ($2, $3::uuid)`+open+`
		ORDER BY received_at, id LIMIT $4`, municipality, afterAt, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Request
	for rows.Next() {
		q, err := r.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}
