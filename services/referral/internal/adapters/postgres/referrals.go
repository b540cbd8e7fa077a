package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

const (
	aadReferralBSN = "referral.referrals.resident_bsn"
	aadQuestion    = "referral.referrals.question"
	aadNote        = "referral.referrals.note"
)

// Referrals is the referral repository.
type Referrals struct {
	db   *pgxdb.DB
	prot *bsn.Protector
}

// NewReferrals returns the repository.
func NewReferrals(db *pgxdb.DB, prot *bsn.Protector) *Referrals {
	return &Referrals{db: db, prot: prot}
}

const referralColumns = `id::text, status, referrer_oin, referrer_user, recipient_oin, provision_id::text, COALESCE(case_id::text, ''),
	COALESCE(intake_id::text, ''), goal_ids::text[], resident_bsn_enc, municipality_code, district_code, question_enc, data_categories,
	COALESCE(consent_id::text, ''), legal_basis, priority, accept_by, reason, hold_reason, outcome, note_enc,
	COALESCE(replaces::text, ''), life_domains, sent, created_at, updated_at`

// Insert stores a new referral.
func (r *Referrals) Insert(ctx context.Context, x domain.Referral) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO referrals (id, status, referrer_oin, referrer_user, recipient_oin, provision_id, case_id, intake_id, goal_ids,
		                       resident_bsn_enc, resident_bsn_index, municipality_code, district_code, question_enc, data_categories,
		                       consent_id, legal_basis, priority, accept_by, reason, hold_reason, outcome, note_enc, replaces,
		                       life_domains, sent, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,NULLIF($7,'')::uuid,NULLIF($8,'')::uuid,$9::uuid[],$10,$11,$12,$13,$14,$15,NULLIF($16,'')::uuid,$17,$18,$19,
		        $20,$21,$22,$23,NULLIF($24,'')::uuid,$25,$26,$27,$28)`,
		x.ID, string(x.Status), x.ReferrerOIN, x.ReferrerUser, x.RecipientOIN, x.ProvisionID, x.CaseID, x.IntakeID, nonNil(x.GoalIDs),
		r.prot.Seal(x.ResidentBSN, aadReferralBSN), r.prot.Index(x.ResidentBSN), x.Municipality, x.District,
		r.prot.Seal(x.Question, aadQuestion), nonNil(x.Categories), x.ConsentID, string(x.LegalBasis), x.Priority, x.AcceptBy,
		x.Reason, x.HoldReason, x.Outcome, r.sealNote(x.Note), x.Replaces, nonNil(x.LifeDomains), x.Sent, x.CreatedAt, x.UpdatedAt)
	if pgxdb.IsUniqueViolation(err, "referrals_replaces") {
		return domain.ReplacedError{Replaced: x.Replaces}
	}
	return err
}

// ReplacementOf returns the id of the referral that replaces id, or "".
func (r *Referrals) ReplacementOf(ctx context.Context, id string) (string, error) {
	var replacement string
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT id::text FROM referrals WHERE replaces = $1`, id).Scan(&replacement)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return replacement, err
}

func (r *Referrals) sealNote(note string) []byte {
	if note == "" {
		return nil
	}
	return r.prot.Seal(note, aadNote)
}

// Update stores the mutable part of a referral.
func (r *Referrals) Update(ctx context.Context, x domain.Referral) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		UPDATE referrals SET status = $2, reason = $3, hold_reason = $4, outcome = $5, note_enc = $6, updated_at = $7, sent = $8
		WHERE id = $1`, x.ID, string(x.Status), x.Reason, x.HoldReason, x.Outcome, r.sealNote(x.Note), x.UpdatedAt, x.Sent)
	return err
}

// AddTransition appends to the referral's history. Nothing reads the history back in the
// transaction that adds to it, so the row goes with the COMMIT (pgxdb.DB.Defer), in the order
// added; a failing one still fails the transaction (issue 12).
func (r *Referrals) AddTransition(ctx context.Context, id string, from, to domain.ReferralStatus, reason string, side domain.Side, orgOIN string, at time.Time) error {
	return r.db.Defer(ctx, `
		INSERT INTO referral_transitions (referral_id, from_status, to_status, reason, side, org_oin, at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		id, string(from), string(to), reason, string(side), orgOIN, at)
}

// History returns a referral's transitions, oldest first.
func (r *Referrals) History(ctx context.Context, id string) ([]domain.HistoryEntry, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT from_status, to_status, reason, side, org_oin, at FROM referral_transitions
		WHERE referral_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.HistoryEntry
	for rows.Next() {
		var (
			h              domain.HistoryEntry
			from, to, side string
		)
		if err := rows.Scan(&from, &to, &h.Reason, &side, &h.OrgOIN, &h.At); err != nil {
			return nil, err
		}
		h.From, h.To, h.Side = domain.ReferralStatus(from), domain.ReferralStatus(to), domain.Side(side)
		out = append(out, h)
	}
	return out, rows.Err()
}

// Get reads a referral; NotFound when there is none.
func (r *Referrals) Get(ctx context.Context, id string) (domain.Referral, error) {
	return r.one(ctx, `SELECT `+referralColumns+` FROM referrals WHERE id = $1`, id)
}

// GetForUpdate reads and locks a referral.
func (r *Referrals) GetForUpdate(ctx context.Context, id string) (domain.Referral, error) {
	return r.one(ctx, `SELECT `+referralColumns+` FROM referrals WHERE id = $1 FOR UPDATE`, id)
}

func (r *Referrals) one(ctx context.Context, sql, id string) (domain.Referral, error) {
	out, err := r.query(ctx, sql, id)
	if err != nil {
		return domain.Referral{}, err
	}
	if len(out) == 0 {
		return domain.Referral{}, apperr.NotFound("referral", id)
	}
	return out[0], nil
}

// DueForExpiry locks up to limit SENT referrals whose accept_by has passed. Rows another
// transaction (another replica's scheduler) holds are skipped, so no referral is expired
// twice.
func (r *Referrals) DueForExpiry(ctx context.Context, now time.Time, limit int) ([]domain.Referral, error) {
	return r.query(ctx, `SELECT `+referralColumns+` FROM referrals WHERE status = 'SENT' AND accept_by <= $1
		ORDER BY accept_by LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
}

// OpenByCase locks the referrals made for a case that are not final.
func (r *Referrals) OpenByCase(ctx context.Context, caseID string) ([]domain.Referral, error) {
	return r.query(ctx, `SELECT `+referralColumns+` FROM referrals WHERE case_id = $1
		AND status IN ('DRAFT','SENT','ACCEPTED','IN_PROGRESS','ON_HOLD') ORDER BY created_at, id FOR UPDATE`, caseID)
}

// LockCase takes the case's lock until the transaction ends (an advisory lock on the case id:
// the case's row is case-direction's), so a referral made for the case and the case's closing
// here run one after the other, and reports whether case-direction reported the case closed.
// One round trip: the two statements go in one pipeline, and the second, which reads with a
// snapshot of its own, runs once the lock is held.
func (r *Referrals) LockCase(ctx context.Context, caseID string) (closed bool, err error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('referral.case:' || $1::text, 0))`, caseID)
	b.Queue(`SELECT EXISTS (SELECT 1 FROM closed_cases WHERE case_id = $1)`, caseID)
	br := r.db.Q(ctx).SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err = br.Exec(); err != nil {
		return false, err
	}
	err = br.QueryRow().Scan(&closed)
	return closed, err
}

// MarkCaseClosed records that the case was closed.
func (r *Referrals) MarkCaseClosed(ctx context.Context, caseID string, at time.Time) error {
	_, err := r.db.Q(ctx).Exec(ctx, `INSERT INTO closed_cases (case_id, closed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, caseID, at)
	return err
}

// OpenByConsent locks the referrals resting on a consent that are not final.
func (r *Referrals) OpenByConsent(ctx context.Context, consentID string) ([]domain.Referral, error) {
	return r.query(ctx, `SELECT `+referralColumns+` FROM referrals WHERE consent_id = $1
		AND status IN ('DRAFT','SENT','ACCEPTED','IN_PROGRESS','ON_HOLD') ORDER BY created_at, id FOR UPDATE`, consentID)
}

// ListForSide lists a page of an organisation's referrals as referrer or recipient (for a
// recipient only those sent to it), newest first, and whether another follows.
func (r *Referrals) ListForSide(ctx context.Context, oin string, side domain.Side, status string, p domain.Page) ([]domain.Referral, bool, error) {
	col, extra := "referrer_oin", ""
	if side == domain.SideRecipient {
		// status <> 'DRAFT' (implied by sent) lets the partial index referrals_recipient serve.
		col, extra = "recipient_oin", " AND status <> 'DRAFT' AND sent"
	}
	var at *time.Time
	var id *string
	if p.After != nil {
		at, id = &p.After.At, &p.After.ID
	}
	out, err := r.query(ctx, `SELECT `+referralColumns+` FROM referrals WHERE `+col+` = $1`+extra+`
		AND ($2 = '' OR status = $2) AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
		ORDER BY created_at DESC, id DESC LIMIT $5`, oin, status, at, id, p.Size+1)
	if err != nil {
		return nil, false, err
	}
	out, more := paging.Cut(out, p.Size)
	return out, more, nil
}

func (r *Referrals) query(ctx context.Context, sql string, args ...any) ([]domain.Referral, error) {
	rows, err := r.db.Q(ctx).Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Referral
	for rows.Next() {
		var (
			x                     domain.Referral
			status, basis         string
			bsnEnc, qEnc, noteEnc []byte
		)
		if err := rows.Scan(&x.ID, &status, &x.ReferrerOIN, &x.ReferrerUser, &x.RecipientOIN, &x.ProvisionID, &x.CaseID, &x.IntakeID,
			&x.GoalIDs, &bsnEnc, &x.Municipality, &x.District, &qEnc, &x.Categories, &x.ConsentID, &basis, &x.Priority, &x.AcceptBy,
			&x.Reason, &x.HoldReason, &x.Outcome, &noteEnc, &x.Replaces, &x.LifeDomains, &x.Sent, &x.CreatedAt, &x.UpdatedAt); err != nil {
			return nil, err
		}
		x.Status, x.LegalBasis = domain.ReferralStatus(status), domain.LegalBasis(basis)
		if x.ResidentBSN, err = r.prot.Open(bsnEnc, aadReferralBSN); err != nil {
			return nil, err
		}
		if x.Question, err = r.prot.Open(qEnc, aadQuestion); err != nil {
			return nil, err
		}
		if noteEnc != nil {
			if x.Note, err = r.prot.Open(noteEnc, aadNote); err != nil {
				return nil, err
			}
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
