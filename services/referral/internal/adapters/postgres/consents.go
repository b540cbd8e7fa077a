package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

const aadConsentBSN = "referral.consents.resident_bsn"

// Consents is the consent repository.
type Consents struct {
	db   *pgxdb.DB
	prot *bsn.Protector
}

// NewConsents returns the repository.
func NewConsents(db *pgxdb.DB, prot *bsn.Protector) *Consents { return &Consents{db: db, prot: prot} }

// Insert stores a new consent.
func (r *Consents) Insert(ctx context.Context, c domain.Consent) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO consents (id, resident_bsn_enc, resident_bsn_index, holder_oin, processing_activity, recipient_oins,
		                      data_categories, valid_from, valid_until, recorded_at, recorded_by, withdrawn_at, municipality_code)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
		c.ID, r.prot.Seal(c.ResidentBSN, aadConsentBSN), r.prot.Index(c.ResidentBSN), c.HolderOIN, c.Activity, c.Recipients,
		c.Categories, c.ValidFrom, c.ValidUntil, c.RecordedAt, c.RecordedBy, c.WithdrawnAt, c.Municipality)
	return err
}

// Get reads a consent; NotFound when there is none.
func (r *Consents) Get(ctx context.Context, id string) (domain.Consent, error) {
	return r.get(ctx, id, "")
}

// GetForShare reads a consent and share-locks it: a referral resting on it is stored before a
// withdrawal can change it (the withdrawal then cancels that referral), or after (and sees it
// withdrawn).
func (r *Consents) GetForShare(ctx context.Context, id string) (domain.Consent, error) {
	return r.get(ctx, id, " FOR SHARE")
}

// GetForUpdate reads and locks a consent.
func (r *Consents) GetForUpdate(ctx context.Context, id string) (domain.Consent, error) {
	return r.get(ctx, id, " FOR UPDATE")
}

// maxListed caps ListByResident: one organisation holds few consents per resident.
const maxListed = 500

// ListByResident returns the consents holder recorded for the resident with this BSN
// (found through the blind index), newest first.
func (r *Consents) ListByResident(ctx context.Context, residentBSN, holderOIN string) ([]domain.Consent, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE resident_bsn_index = $1 AND holder_oin = $2 ORDER BY recorded_at DESC, id DESC LIMIT $3`,
		r.prot.Index(residentBSN), holderOIN, maxListed)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Consent
	for rows.Next() {
		c, err := r.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const consentColumns = `id::text, resident_bsn_enc, holder_oin, processing_activity, recipient_oins, data_categories, valid_from,
		       valid_until, recorded_at, recorded_by, withdrawn_at, municipality_code`

func (r *Consents) scan(row pgx.Row) (domain.Consent, error) {
	var (
		c      domain.Consent
		enc    []byte
		until  *time.Time
		withdr *time.Time
	)
	if err := row.Scan(&c.ID, &enc, &c.HolderOIN, &c.Activity, &c.Recipients, &c.Categories,
		&c.ValidFrom, &until, &c.RecordedAt, &c.RecordedBy, &withdr, &c.Municipality); err != nil {
		return c, err
	}
	c.ValidUntil, c.WithdrawnAt = until, withdr
	var err error
	c.ResidentBSN, err = r.prot.Open(enc, aadConsentBSN)
	return c, err
}

func (r *Consents) get(ctx context.Context, id, lock string) (domain.Consent, error) {
	c, err := r.scan(r.db.Q(ctx).QueryRow(ctx, `SELECT `+consentColumns+` FROM consents WHERE id = $1`+lock, id))
	if pgxdb.IsNoRows(err) {
		return domain.Consent{}, apperr.NotFound("consent", id)
	}
	return c, err
}

// SetWithdrawn stores the withdrawal.
func (r *Consents) SetWithdrawn(ctx context.Context, c domain.Consent) error {
	_, err := r.db.Q(ctx).Exec(ctx, `UPDATE consents SET withdrawn_at = $2 WHERE id = $1`, c.ID, c.WithdrawnAt)
	return err
}
