package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/provider-monitoring/internal/domain"
)

// Sealer encrypts confidential free text (bsn.Protector implements it).
type Sealer interface {
	Seal(plaintext, aad string) []byte
	Open(ciphertext []byte, aad string) (string, error)
}

// Decisions is the decision (beschikking) repository. Rejection grounds, the motivation's
// text and the stored letter (which holds the recipient's name and address) are sealed with
// the decision id and the field as associated data.
type Decisions struct {
	db   *pgxdb.DB
	seal Sealer
}

// NewDecisions returns the repository.
func NewDecisions(db *pgxdb.DB, seal Sealer) *Decisions { return &Decisions{db: db, seal: seal} }

type motivationJSON struct {
	Goals         []domain.MotivationGoal `json:"goals,omitempty"`
	LifeDomains   []string                `json:"life_domains,omitempty"`
	TriageOutcome string                  `json:"triage_outcome,omitempty"`
	TriageRule    string                  `json:"triage_rule,omitempty"`
}

// decisionAAD binds a sealed text of a decision to the decision and the field.
func decisionAAD(id, field string) string { return "decision:" + id + ":" + field }

func (r *Decisions) sealed(text, id, field string) []byte {
	if text == "" {
		return nil
	}
	return r.seal.Seal(text, decisionAAD(id, field))
}

func (r *Decisions) opened(b []byte, id, field string) (string, error) {
	if len(b) == 0 {
		return "", nil
	}
	return r.seal.Open(b, decisionAAD(id, field))
}

// Insert stores a new decision.
func (r *Decisions) Insert(ctx context.Context, d domain.Decision) error {
	mot, err := json.Marshal(motivationJSON{Goals: d.Motivation.Goals, LifeDomains: d.Motivation.LifeDomains,
		TriageOutcome: d.Motivation.TriageOutcome, TriageRule: d.Motivation.TriageRule})
	if err != nil {
		return err
	}
	addressee := ""
	if d.Addressee != (domain.Addressee{}) {
		b, err := json.Marshal(d.Addressee)
		if err != nil {
			return err
		}
		addressee = string(b)
	}
	_, err = r.db.Q(ctx).Exec(ctx, `
		INSERT INTO decisions (id, municipality_code, district_code, resident_id, household_id, intake_id, case_id, team_oin,
		    legal_basis, granted, rejection_grounds, product_category, product_code, provider_agb, form, start_date, end_date,
		    volume_amount, volume_unit, volume_frequency, budget_cents, motivation, motivation_text, own_contribution_notice,
		    objection_clause, paragraphs_version, application_date, due_date, status, drafted_by, replaces, allocation_request_id,
		    created_at, updated_at, addressee, report_date, investigation_due)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::uuid, NULLIF($7, '')::uuid, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
		    $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, NULLIF($31, '')::uuid, NULLIF($32, '')::uuid, $33, $33, $34,
		    $35, $36)`,
		d.ID, d.Municipality, d.District, d.ResidentID, d.HouseholdID, d.IntakeID, d.CaseID, d.TeamOIN,
		string(d.LegalBasis), d.Granted, r.sealed(d.RejectionGrounds, d.ID, "rejection_grounds"), d.Product.Category, d.Product.Code,
		d.ProviderAGB, string(d.Form), nullDate(d.Start), d.End,
		d.Volume.Amount, d.Volume.Unit, d.Volume.Frequency, d.BudgetCents, mot, r.sealed(d.Motivation.Text, d.ID, "motivation_text"),
		d.OwnContributionNotice, d.ObjectionClause, d.ParagraphsVersion, d.ApplicationDate, d.DueDate, string(d.Status), d.DraftedBy,
		d.Replaces, d.AllocationRequestID, d.CreatedAt, r.sealed(addressee, d.ID, "addressee"), nullDate(d.ReportDate), d.InvestigationDue)
	return err
}

// Update stores a decision's lifecycle fields (its content is fixed once drafted; an
// amendment is a new decision).
func (r *Decisions) Update(ctx context.Context, d domain.Decision) error {
	var recv *time.Time
	var regAt *time.Time
	var onTime *bool
	var posted *time.Time
	if d.Objection != nil {
		recv, regAt, onTime, posted = &d.Objection.ReceivedOn, &d.Objection.RegisteredAt, &d.Objection.OnTime, d.Objection.PostedOn
	}
	_, err := r.db.Q(ctx).Exec(ctx, `
		UPDATE decisions SET number = NULLIF($2, ''), status = $3, proposed_by = $4, first_signer = $5, first_signed_at = $6,
		    mandate = $7, mandate_version = $8, decided_by = $9, second_official = $10, decided_at = $11, within_term = $12,
		    sent_at = $13, objection_deadline = $14, objection_received_on = $15, objection_registered_at = $16,
		    objection_on_time = $17, withdrawn_at = $18, withdrawal_reason = $19, replaced_by = NULLIF($20, '')::uuid,
		    allocation_numbers = $21, overdue_alerted_at = $22, letter = $23, letter_content_type = $24, updated_at = $25,
		    first_signer_role = $26, second_official_role = $27, objection_posted_on = $28
		WHERE id = $1`,
		d.ID, d.Number, string(d.Status), d.ProposedBy, d.FirstSigner, d.FirstSignedAt,
		d.Mandate, d.MandateVersion, d.DecidedBy, d.SecondOfficial, d.DecidedAt, d.WithinStatutoryTerm,
		d.SentAt, d.ObjectionDeadline, recv, regAt, onTime, d.WithdrawnAt, d.WithdrawalReason, d.ReplacedBy,
		nonNil(d.AllocationNumbers), d.OverdueAlertedAt, r.sealed(string(d.Letter), d.ID, "letter"), d.LetterContentType, d.UpdatedAt,
		d.FirstSignerRole, d.SecondOfficialRole, posted)
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullDate(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

const decisionColumns = `id::text, COALESCE(number, ''), municipality_code, district_code, resident_id, household_id,
	COALESCE(intake_id::text, ''), COALESCE(case_id::text, ''), team_oin, legal_basis, granted, rejection_grounds,
	product_category, product_code, provider_agb, form, start_date, end_date, volume_amount, volume_unit, volume_frequency,
	budget_cents, motivation, motivation_text, own_contribution_notice, objection_clause, paragraphs_version,
	application_date, due_date, status, drafted_by, proposed_by, first_signer, first_signed_at, mandate, mandate_version,
	decided_by, second_official, decided_at, within_term, sent_at, objection_deadline, objection_received_on,
	objection_registered_at, objection_on_time, withdrawn_at, withdrawal_reason, COALESCE(replaces::text, ''),
	COALESCE(replaced_by::text, ''), COALESCE(allocation_request_id::text, ''), allocation_numbers, overdue_alerted_at,
	letter, letter_content_type, created_at, updated_at, first_signer_role, second_official_role, addressee,
	report_date, investigation_due, objection_posted_on`

func (r *Decisions) scan(row pgx.Row) (domain.Decision, error) {
	var (
		d                             domain.Decision
		basis, form, status           string
		grounds, motText, mot, letter []byte
		addressee                     []byte
		start, report                 *time.Time
		recv, posted                  *time.Time
		regAt                         *time.Time
		onTime                        *bool
	)
	err := row.Scan(&d.ID, &d.Number, &d.Municipality, &d.District, &d.ResidentID, &d.HouseholdID,
		&d.IntakeID, &d.CaseID, &d.TeamOIN, &basis, &d.Granted, &grounds,
		&d.Product.Category, &d.Product.Code, &d.ProviderAGB, &form, &start, &d.End, &d.Volume.Amount, &d.Volume.Unit, &d.Volume.Frequency,
		&d.BudgetCents, &mot, &motText, &d.OwnContributionNotice, &d.ObjectionClause, &d.ParagraphsVersion,
		&d.ApplicationDate, &d.DueDate, &status, &d.DraftedBy, &d.ProposedBy, &d.FirstSigner, &d.FirstSignedAt, &d.Mandate, &d.MandateVersion,
		&d.DecidedBy, &d.SecondOfficial, &d.DecidedAt, &d.WithinStatutoryTerm, &d.SentAt, &d.ObjectionDeadline, &recv,
		&regAt, &onTime, &d.WithdrawnAt, &d.WithdrawalReason, &d.Replaces,
		&d.ReplacedBy, &d.AllocationRequestID, &d.AllocationNumbers, &d.OverdueAlertedAt,
		&letter, &d.LetterContentType, &d.CreatedAt, &d.UpdatedAt, &d.FirstSignerRole, &d.SecondOfficialRole, &addressee,
		&report, &d.InvestigationDue, &posted)
	if err != nil {
		return d, err
	}
	d.LegalBasis, d.Form, d.Status = domain.LegalBasis(basis), domain.Form(form), domain.DecisionStatus(status)
	if start != nil {
		d.Start = *start
	}
	if report != nil {
		d.ReportDate = *report
	}
	if recv != nil {
		d.Objection = &domain.Objection{ReceivedOn: *recv, PostedOn: posted}
		if regAt != nil {
			d.Objection.RegisteredAt = *regAt
		}
		if onTime != nil {
			d.Objection.OnTime = *onTime
		}
	}
	var m motivationJSON
	if err := json.Unmarshal(mot, &m); err != nil {
		return d, err
	}
	d.Motivation = domain.Motivation{Goals: m.Goals, LifeDomains: m.LifeDomains, TriageOutcome: m.TriageOutcome, TriageRule: m.TriageRule}
	if d.RejectionGrounds, err = r.opened(grounds, d.ID, "rejection_grounds"); err != nil {
		return d, err
	}
	if d.Motivation.Text, err = r.opened(motText, d.ID, "motivation_text"); err != nil {
		return d, err
	}
	a, err := r.opened(addressee, d.ID, "addressee")
	if err != nil {
		return d, err
	}
	if a != "" {
		if err := json.Unmarshal([]byte(a), &d.Addressee); err != nil {
			return d, err
		}
	}
	l, err := r.opened(letter, d.ID, "letter")
	if l != "" {
		d.Letter = []byte(l)
	}
	return d, err
}

// Get reads a decision; apperr NotFound when there is none.
func (r *Decisions) Get(ctx context.Context, id string) (domain.Decision, error) {
	return r.get(ctx, id, "")
}

// GetForUpdate reads and locks a decision.
func (r *Decisions) GetForUpdate(ctx context.Context, id string) (domain.Decision, error) {
	return r.get(ctx, id, " FOR UPDATE")
}

func (r *Decisions) get(ctx context.Context, id, lock string) (domain.Decision, error) {
	d, err := r.scan(r.db.Q(ctx).QueryRow(ctx, `SELECT `+decisionColumns+` FROM decisions WHERE id = $1`+lock, id))
	if pgxdb.IsNoRows(err) {
		return d, apperr.NotFound("decision", id)
	}
	return d, err
}

// ByNumber reads the decision numbered number; apperr NotFound when there is none.
func (r *Decisions) ByNumber(ctx context.Context, number string) (domain.Decision, error) {
	d, err := r.scan(r.db.Q(ctx).QueryRow(ctx, `SELECT `+decisionColumns+` FROM decisions WHERE number = $1`, number))
	if pgxdb.IsNoRows(err) {
		return d, apperr.NotFound("decision", number)
	}
	return d, err
}

// InForceForRequest returns a decision other than except, DECIDED or SENT, that answers the
// request for allocation; nil when there is none.
func (r *Decisions) InForceForRequest(ctx context.Context, requestID, except string) (*domain.Decision, error) {
	var d domain.Decision
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT id::text, COALESCE(number, '') FROM decisions
		WHERE allocation_request_id = $1 AND status IN ('DECIDED', 'SENT') AND id::text <> $2
		ORDER BY decided_at LIMIT 1`, requestID, except).Scan(&d.ID, &d.Number)
	if pgxdb.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// List returns up to limit decisions of the municipality, newest first, in one of statuses
// (any when empty), of team (any when empty), after the position after.
func (r *Decisions) List(ctx context.Context, municipality, team string, statuses []string, after *paging.At, limit int) ([]domain.Decision, error) {
	var at *time.Time
	var id string
	if after != nil {
		at, id = &after.Time, after.ID
	}
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+decisionColumns+` FROM decisions
		WHERE municipality_code = $1 AND ($2 = '' OR team_oin = $2)
		  AND (cardinality($3::text[]) = 0 OR status = ANY ($3::text[]))
		  AND ($4::timestamptz IS NULL OR (created_at, id::text) < ($4, $5::text))
		ORDER BY created_at DESC, id::text DESC LIMIT $6`, municipality, team, nonNil(statuses), at, id, limit)
	return r.collect(rows, err)
}

// collect reads rows of decisionColumns.
func (r *Decisions) collect(rows pgx.Rows, err error) ([]domain.Decision, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Decision
	for rows.Next() {
		d, err := r.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// NextNumber draws the next number of the municipality's decisions of year.
func (r *Decisions) NextNumber(ctx context.Context, municipality string, year int) (string, error) {
	var seq int
	err := r.db.Q(ctx).QueryRow(ctx, `
		INSERT INTO decision_numbers (municipality_code, year, last) VALUES ($1, $2, 1)
		ON CONFLICT (municipality_code, year) DO UPDATE SET last = decision_numbers.last + 1
		RETURNING last`, municipality, year).Scan(&seq)
	return domain.DecisionNumber(municipality, year, seq), err
}

// ClaimOverdue marks and returns open decisions whose due date is before today and that were
// not alerted yet, skipping rows locked by another replica.
func (r *Decisions) ClaimOverdue(ctx context.Context, today, at time.Time, limit int) ([]domain.Decision, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		WITH due AS (
			SELECT id AS due_id FROM decisions
			WHERE status IN ('DRAFT', 'PROPOSED') AND overdue_alerted_at IS NULL AND due_date < $1
			ORDER BY due_date, id LIMIT $3
			FOR UPDATE SKIP LOCKED
		)
		UPDATE decisions SET overdue_alerted_at = $2 FROM due WHERE id = due.due_id
		RETURNING `+decisionColumns, today, at, limit)
	return r.collect(rows, err)
}

// Mandates stores mandate registers, one immutable row per version.
type Mandates struct{ db *pgxdb.DB }

// NewMandates returns the repository.
func NewMandates(db *pgxdb.DB) *Mandates { return &Mandates{db: db} }

// Version returns a version of the municipality's register; 0 is the one in force (the
// built-in default when it adopted none). apperr NotFound for an unknown version.
func (r *Mandates) Version(ctx context.Context, municipality string, version int) (domain.MandateRegister, error) {
	if version == 0 {
		return r.read(ctx, municipality, `ORDER BY version DESC LIMIT 1`)
	}
	reg, err := r.read(ctx, municipality, `AND version = $2`, version)
	if err == nil && reg.Version == 0 {
		return reg, apperr.NotFound("mandate register version", "")
	}
	return reg, err
}

func (r *Mandates) read(ctx context.Context, municipality, tail string, args ...any) (domain.MandateRegister, error) {
	var raw []byte
	reg := domain.MandateRegister{}
	err := r.db.Q(ctx).QueryRow(ctx, `SELECT version, register, adopted_at, adopted_by FROM mandate_registers
		WHERE municipality_code = $1 `+tail, append([]any{municipality}, args...)...).Scan(&reg.Version, &raw, &reg.AdoptedAt, &reg.AdoptedBy)
	if pgxdb.IsNoRows(err) {
		return domain.DefaultMandateRegister(municipality), nil
	}
	if err != nil {
		return reg, err
	}
	if err := json.Unmarshal(raw, &reg); err != nil {
		return reg, err
	}
	reg.Municipality = municipality
	return reg, nil
}

// CurrentForUpdate is Version(0) holding a lock that serialises adoptions of the same
// municipality (an advisory lock: there may be no row to lock yet).
func (r *Mandates) CurrentForUpdate(ctx context.Context, municipality string) (domain.MandateRegister, error) {
	if _, err := r.db.Q(ctx).Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('providermonitoring.mandate_registers:' || $1, 0))`, municipality); err != nil {
		return domain.MandateRegister{}, err
	}
	return r.Version(ctx, municipality, 0)
}

// Adopt stores reg as the municipality's next version and returns it.
func (r *Mandates) Adopt(ctx context.Context, reg domain.MandateRegister) (domain.MandateRegister, error) {
	raw, err := json.Marshal(reg)
	if err != nil {
		return reg, err
	}
	err = r.db.Q(ctx).QueryRow(ctx, `
		INSERT INTO mandate_registers (municipality_code, version, register, adopted_at, adopted_by)
		SELECT $1, COALESCE(max(version), 0) + 1, $2, $3, $4 FROM mandate_registers WHERE municipality_code = $1
		RETURNING version`, reg.Municipality, raw, reg.AdoptedAt, reg.AdoptedBy).Scan(&reg.Version)
	return reg, err
}
