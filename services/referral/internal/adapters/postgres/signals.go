// Package postgres stores referral's aggregates in its own PostgreSQL database.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Additional data bound into the ciphertexts, so a value cannot be moved to another column.
const (
	aadBSN         = "referral.signals.resident_bsn"
	aadDescription = "referral.signals.description"
	// aadCreditorReference binds a creditor's reference to its column.
	aadCreditorReference = "referral.signals.creditor_reference"
)

// Signals is the signal repository.
type Signals struct {
	db   *pgxdb.DB
	prot *bsn.Protector
}

// NewSignals returns the repository.
func NewSignals(db *pgxdb.DB, prot *bsn.Protector) *Signals { return &Signals{db: db, prot: prot} }

// Insert stores a new signal. The row goes out with the COMMIT (pgxdb.DB.Defer), ahead of
// the signal's event and access-log entry: SubmitSignal answers from the signal it holds, and
// nothing in its transaction reads the row back.
func (r *Signals) Insert(ctx context.Context, s domain.Signal) error {
	var cents, months *int64
	var creditor domain.Creditor
	var creditorRef []byte
	if s.Arrears != nil {
		c, m := s.Arrears.AmountCents, int64(s.Arrears.Months)
		cents, months, creditor = &c, &m, s.Arrears.Creditor
		if creditor.Reference != "" {
			creditorRef = r.prot.Seal(creditor.Reference, aadCreditorReference)
		}
	}
	var desc []byte
	if s.Description != "" {
		desc = r.prot.Seal(s.Description, aadDescription)
	}
	return r.db.Defer(ctx, `
		INSERT INTO signals (id, source_type, source_oin, reporter, legal_basis, resident_bsn_enc, resident_bsn_index,
		                     municipality_code, district_code, life_domains, category, description_enc, crisis,
		                     arrears_cents, arrears_months, status, feedback, received_at,
		                     creditor_name, creditor_oin, creditor_reference_enc)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)`,
		s.ID, string(s.SourceType), s.SourceOIN, s.Reporter, string(s.LegalBasis),
		r.prot.Seal(s.ResidentBSN, aadBSN), r.prot.Index(s.ResidentBSN),
		s.Municipality, s.District, s.LifeDomains, s.Category, desc, s.Crisis,
		cents, months, string(s.Status), string(s.Feedback), s.ReceivedAt,
		creditor.Name, creditor.OIN, creditorRef)
}

// Get reads a signal.
func (r *Signals) Get(ctx context.Context, id string) (domain.Signal, error) {
	return r.get(ctx, id, "")
}

// GetMany reads the signals with ids in one statement, in the order of ids. An id without a
// signal is apperr NotFound naming it.
func (r *Signals) GetMany(ctx context.Context, ids []string) ([]domain.Signal, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+signalColumns+` FROM signals WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Signal, error) { return r.scanSignal(row) })
	if err != nil {
		return nil, err
	}
	byID := make(map[string]domain.Signal, len(found))
	for _, s := range found {
		byID[s.ID] = s
	}
	out := make([]domain.Signal, 0, len(ids))
	for _, id := range ids {
		s, ok := byID[id]
		if !ok {
			return nil, apperr.NotFound("signal", id)
		}
		out = append(out, s)
	}
	return out, nil
}

// GetForUpdate reads and locks a signal.
func (r *Signals) GetForUpdate(ctx context.Context, id string) (domain.Signal, error) {
	return r.get(ctx, id, " FOR UPDATE")
}

// ByCaseForUpdate locks the signals that led to a case, in one statement.
func (r *Signals) ByCaseForUpdate(ctx context.Context, caseID string) ([]domain.Signal, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+signalColumns+` FROM signals WHERE case_id = $1 ORDER BY signals.received_at, signals.id FOR UPDATE`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Signal, error) { return r.scanSignal(row) })
}

// signalColumns are the columns scanSignal reads, in its order.
const signalColumns = `id::text, source_type, source_oin, reporter, legal_basis, resident_bsn_enc, municipality_code, district_code,
	life_domains, category, description_enc, crisis, arrears_cents, arrears_months, status, feedback,
	received_at, fed_back_at, intake_id::text, case_id::text, creditor_name, creditor_oin, creditor_reference_enc`

// ListBySource lists a page of a source organisation's signals, newest first, and whether
// another follows: one statement for the page (a keyset range of signals_source_order), not
// one per signal. Without a status the page runs on its generic plan, planned once per
// connection (pgxdb.QueryGeneric): the index range in order whatever the source. With a status
// it is planned for its values (a rare status may be better read as a small range, sorted).
func (r *Signals) ListBySource(ctx context.Context, oin, status string, p domain.Page) ([]domain.Signal, bool, error) {
	sql, args := bySourceQuery(oin, status, p.After, p.Size+1)
	query := r.db.Q(ctx).Query
	if status == "" {
		query = r.db.QueryGeneric
	}
	rows, err := query(ctx, sql, args...)
	if err != nil {
		return nil, false, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.Signal, error) { return r.scanSignal(row) })
	if err != nil {
		return nil, false, err
	}
	out, more := paging.Cut(out, p.Size)
	return out, more, nil
}

// bySourceQuery builds a page of a source's signals. The first page, a later page and a
// status filter are different statements, so every one is an index range in the list's
// order with the keyset as its bound ("$n IS NULL OR …" would hide the bound from a generic
// plan).
func bySourceQuery(oin, status string, after *domain.Position, limit int) (string, []any) {
	args := []any{oin, limit}
	where := "source_oin = $1"
	if status != "" {
		args = append(args, status)
		where += " AND status = $3"
	}
	if after != nil {
		args = append(args, after.At, after.ID)
		where += fmt.Sprintf(" AND (received_at, id) < ($%d, $%d::uuid)", len(args)-1, len(args))
	}
	// signals.id, not id: a bare id names the output column id::text, whose order no index has.
	return `SELECT ` + signalColumns + ` FROM signals WHERE ` + where + ` ORDER BY signals.received_at DESC, signals.id DESC LIMIT $2`, args
}

func (r *Signals) get(ctx context.Context, id, lock string) (domain.Signal, error) {
	s, err := r.scanSignal(r.db.Q(ctx).QueryRow(ctx, `SELECT `+signalColumns+` FROM signals WHERE id = $1`+lock, id))
	if pgxdb.IsNoRows(err) {
		return s, apperr.NotFound("signal", id)
	}
	return s, err
}

// scanSignal reads one row of signalColumns and opens the BSN, the description and the
// creditor's reference: every signal returned shows them (referralv1.Signal), and the BSN
// gives the access log its resident pseudonym.
func (r *Signals) scanSignal(row pgx.Row) (domain.Signal, error) {
	var (
		s                         domain.Signal
		sourceType, basis, status string
		feedback                  string
		bsnEnc, descEnc           []byte
		creditor                  domain.Creditor
		creditorRefEnc            []byte
		cents, months             *int64
		fedBackAt                 *time.Time
		intakeID, caseID          *string
	)
	err := row.Scan(
		&s.ID, &sourceType, &s.SourceOIN, &s.Reporter, &basis, &bsnEnc, &s.Municipality, &s.District,
		&s.LifeDomains, &s.Category, &descEnc, &s.Crisis, &cents, &months, &status, &feedback,
		&s.ReceivedAt, &fedBackAt, &intakeID, &caseID, &creditor.Name, &creditor.OIN, &creditorRefEnc)
	if err != nil {
		return s, err
	}
	s.SourceType, s.LegalBasis, s.Status, s.Feedback = domain.SourceType(sourceType), domain.LegalBasis(basis), domain.Status(status), domain.Feedback(feedback)
	if s.ResidentBSN, err = r.prot.Open(bsnEnc, aadBSN); err != nil {
		return s, err
	}
	if descEnc != nil {
		if s.Description, err = r.prot.Open(descEnc, aadDescription); err != nil {
			return s, err
		}
	}
	if cents != nil && months != nil {
		if creditorRefEnc != nil {
			if creditor.Reference, err = r.prot.Open(creditorRefEnc, aadCreditorReference); err != nil {
				return s, err
			}
		}
		s.Arrears = &domain.Arrears{AmountCents: *cents, Months: int32(*months), Creditor: creditor}
	}
	s.FedBackAt = fedBackAt
	if intakeID != nil {
		s.IntakeID = *intakeID
	}
	if caseID != nil {
		s.CaseID = *caseID
	}
	return s, nil
}

// Update stores the mutable part of a signal. It goes out with the COMMIT (pgxdb.DB.Defer):
// its callers have locked the signal (GetForUpdate, ByCaseForUpdate) and hold its new state,
// and nothing after it in their transactions reads the row back.
func (r *Signals) Update(ctx context.Context, s domain.Signal) error {
	return r.db.Defer(ctx, `
		UPDATE signals SET status = $2, feedback = $3, fed_back_at = $4, intake_id = NULLIF($5, '')::uuid, case_id = NULLIF($6, '')::uuid
		WHERE id = $1`, s.ID, string(s.Status), string(s.Feedback), s.FedBackAt, s.IntakeID, s.CaseID)
}
