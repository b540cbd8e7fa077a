package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
	"github.com/wijkbrug/wijkbrug/pkg/paging"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/services/intake/internal/domain"
)

// Intakes is the intake repository.
type Intakes struct {
	db   *pgxdb.DB
	prot *bsn.Protector
}

// NewIntakes returns the repository.
func NewIntakes(db *pgxdb.DB, prot *bsn.Protector) *Intakes { return &Intakes{db: db, prot: prot} }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Insert stores a new intake, with the COMMIT of the transaction of ctx (pgxdb.DB.Defer): the
// intake is registered in the state its triage on receipt leaves it in, and nothing reads it
// back in that transaction, so it costs the registration no round trip of its own. Whether
// its team works with the resident is the application's decision (Residents.AddTeam): an
// intake alone does not open a resident's file.
func (r *Intakes) Insert(ctx context.Context, i domain.Intake) error {
	var question []byte
	if i.Question != "" {
		question = r.prot.Seal(i.Question, aadQuestion)
	}
	return r.db.Defer(ctx, `
		INSERT INTO intakes (id, channel, signal_ids, source_type, resident_id, household_id, question_enc, life_domains,
		                     urgency, safety_concern, status, municipality_code, district_code, team_oin, received_at,
		                     triage_due, triage_outcome, triage_rule, case_id, policy_version, triage_professional)
		VALUES ($1, $2, $3::text[]::uuid[], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, NULLIF($19, '')::uuid, $20, $21)`,
		i.ID, string(i.Channel), nonNil(i.SignalIDs), i.SourceType, i.ResidentID, i.HouseholdID, question, nonNil(i.LifeDomains),
		string(i.Urgency), i.SafetyConcern, string(i.Status), i.Municipality, i.District, i.TeamOIN, i.ReceivedAt,
		i.TriageDue, string(i.TriageOutcome), i.TriageRule, i.CaseID, i.PolicyVersion, i.TriageProfessional)
}

const intakeColumns = `
	i.id::text, i.channel, i.signal_ids::text[], i.source_type, i.resident_id::text, i.household_id::text,
	r.pseudonym, i.question_enc, i.life_domains, i.urgency, i.safety_concern, i.status, i.municipality_code,
	i.district_code, i.team_oin, i.received_at, i.triage_due, i.triage_outcome, i.triage_rule, i.case_id::text,
	i.policy_version, i.failed_contact_attempts, i.merged_into::text, i.triage_professional`

// scanIntake reads one row of intakeColumns; the question is decrypted only when withQuestion.
func (r *Intakes) scanIntake(row pgx.Row, withQuestion bool) (domain.Intake, error) {
	var (
		i                                 domain.Intake
		channel, urgency, status, outcome string
		questionEnc                       []byte
		caseID, mergedInto                *string
	)
	err := row.Scan(&i.ID, &channel, &i.SignalIDs, &i.SourceType, &i.ResidentID, &i.HouseholdID,
		&i.ResidentPseudonym, &questionEnc, &i.LifeDomains, &urgency, &i.SafetyConcern, &status, &i.Municipality,
		&i.District, &i.TeamOIN, &i.ReceivedAt, &i.TriageDue, &outcome, &i.TriageRule, &caseID,
		&i.PolicyVersion, &i.FailedContactAttempts, &mergedInto, &i.TriageProfessional)
	if err != nil {
		return i, err
	}
	i.Channel, i.Urgency, i.Status, i.TriageOutcome = domain.Channel(channel), domain.Urgency(urgency), domain.Status(status), domain.Outcome(outcome)
	if withQuestion && questionEnc != nil {
		if i.Question, err = r.prot.Open(questionEnc, aadQuestion); err != nil {
			return i, err
		}
	}
	if caseID != nil {
		i.CaseID = *caseID
	}
	if mergedInto != nil {
		i.MergedInto = *mergedInto
	}
	return i, nil
}

// Get reads an intake with its resident's pseudonym (not the BSN: no read needs it).
func (r *Intakes) Get(ctx context.Context, id string) (domain.Intake, error) {
	return r.get(ctx, id, "")
}

// Existing returns those of ids that name a stored intake, in one statement.
func (r *Intakes) Existing(ctx context.Context, ids []string) ([]string, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT id::text FROM intakes WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// GetForUpdate reads an intake and locks it until the transaction ends, so concurrent
// transitions of one intake are serialised.
func (r *Intakes) GetForUpdate(ctx context.Context, id string) (domain.Intake, error) {
	return r.get(ctx, id, " FOR UPDATE OF i")
}

func (r *Intakes) get(ctx context.Context, id, lock string) (domain.Intake, error) {
	i, err := r.scanIntake(r.db.Q(ctx).QueryRow(ctx, `SELECT `+intakeColumns+`
		FROM intakes i JOIN residents r ON r.id = i.resident_id WHERE i.id = $1`+lock, id), true)
	if pgxdb.IsNoRows(err) {
		return i, apperr.NotFound("intake", id)
	}
	return i, err
}

// Update stores the mutable part of an intake.
func (r *Intakes) Update(ctx context.Context, i domain.Intake) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		UPDATE intakes SET status = $2, triage_outcome = $3, triage_rule = $4, case_id = NULLIF($5, '')::uuid,
		       policy_version = $6, failed_contact_attempts = $7, merged_into = NULLIF($8, '')::uuid,
		       triage_professional = $9, signal_ids = $10::text[]::uuid[]
		WHERE id = $1`, i.ID, string(i.Status), string(i.TriageOutcome), i.TriageRule, i.CaseID,
		i.PolicyVersion, i.FailedContactAttempts, i.MergedInto, i.TriageProfessional, nonNil(i.SignalIDs))
	return err
}

// AddContactAttempt records one attempt to reach the resident.
func (r *Intakes) AddContactAttempt(ctx context.Context, id, intakeID, kind string, reached bool, at time.Time, by string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `INSERT INTO contact_attempts (id, intake_id, kind, reached, at, recorded_by) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, intakeID, kind, reached, at, by)
	return err
}

// queueRank is the urgency rank of the queue's order (domain.QueueKey). It is spelled exactly
// as in the index intakes_team_queue_order (migration 00007): the planner matches the
// expression, and only then reads a page as an index range in order.
const queueRank = `(CASE i.urgency WHEN 'CRISIS' THEN 0 WHEN 'HIGH' THEN 1 ELSE 2 END)`

// Queue returns a team's open intakes, most urgent first, then by deadline (without the
// question). The page runs on its generic plan, planned once per connection
// (pgxdb.QueryGeneric): a range of intakes_team_queue_order whatever the team.
func (r *Intakes) Queue(ctx context.Context, teamOIN string, after *domain.QueueKey, limit int) ([]domain.Intake, error) {
	sql, args := queueQuery(teamOIN, after, limit)
	rows, err := r.db.QueryGeneric(ctx, sql, args...)
	return r.withoutQuestions(rows, err)
}

// queueQuery builds a page of the team queue: a keyset range of intakes_team_queue_order in
// its order. A first page and a later page are different statements — an "$n IS NULL OR
// (…) > (…)" condition would keep a generic plan from using the keyset as an index bound.
func queueQuery(teamOIN string, after *domain.QueueKey, limit int) (string, []any) {
	args := []any{teamOIN, limit}
	keyset := ""
	if after != nil {
		args = append(args, after.Rank, after.TriageDue, after.ID)
		keyset = `
		  AND (` + queueRank + `, i.triage_due, i.id) > ($3::int, $4::timestamptz, $5::uuid)`
	}
	return `SELECT ` + intakeColumns + `
		FROM intakes i JOIN residents r ON r.id = i.resident_id
		WHERE i.team_oin = $1 AND i.status IN ('RECEIVED', 'IN_TRIAGE')` + keyset + `
		ORDER BY ` + queueRank + `, i.triage_due, i.id
		LIMIT $2`, args
}

// Find returns up to limit of a team's intakes matching f, newest received first, after the
// position after. The index intakes_team_received serves the team's range in this order.
func (r *Intakes) Find(ctx context.Context, teamOIN string, f domain.IntakeFilter, after *paging.At, limit int) ([]domain.Intake, error) {
	var (
		afterAt *time.Time
		afterID string
	)
	if after != nil {
		afterAt, afterID = &after.Time, after.ID
	}
	statuses, channels := make([]string, 0, len(f.Statuses)), make([]string, 0, len(f.Channels))
	for _, s := range f.Statuses {
		statuses = append(statuses, string(s))
	}
	for _, c := range f.Channels {
		channels = append(channels, string(c))
	}
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+intakeColumns+`
		FROM intakes i JOIN residents r ON r.id = i.resident_id
		WHERE i.team_oin = $1
		  AND (cardinality($2::text[]) = 0 OR i.status = ANY ($2::text[]))
		  AND (cardinality($3::text[]) = 0 OR i.channel = ANY ($3::text[]))
		  AND ($4::timestamptz IS NULL OR i.received_at >= $4)
		  AND ($5::timestamptz IS NULL OR i.received_at < $5)
		  AND ($6 = '' OR i.resident_id = NULLIF($6, '')::uuid)
		  AND ($7 = '' OR i.household_id = NULLIF($7, '')::uuid)
		  AND ($8::timestamptz IS NULL OR (i.received_at, i.id) < ($8, NULLIF($9, '')::uuid))
		ORDER BY i.received_at DESC, i.id DESC
		LIMIT $10`, teamOIN, statuses, channels, f.ReceivedFrom, f.ReceivedBefore, f.ResidentID, f.Household, afterAt, afterID, limit)
	return r.withoutQuestions(rows, err)
}

// withoutQuestions reads rows of intakeColumns, leaving the questions encrypted.
func (r *Intakes) withoutQuestions(rows pgx.Rows, err error) ([]domain.Intake, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Intake
	for rows.Next() {
		i, err := r.scanIntake(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// ClaimOverdue locks up to limit open intakes whose deadline passed before now and that were
// not announced yet. Rows another scheduler holds are skipped (SKIP LOCKED), so replicas
// share the work and never take the same intake; the caller marks them in the same
// transaction.
func (r *Intakes) ClaimOverdue(ctx context.Context, now time.Time, limit int) ([]domain.Intake, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `SELECT `+intakeColumns+`
		FROM intakes i JOIN residents r ON r.id = i.resident_id
		WHERE i.status IN ('RECEIVED', 'IN_TRIAGE') AND i.overdue_announced_at IS NULL AND i.triage_due < $1
		ORDER BY i.triage_due
		LIMIT $2
		FOR UPDATE OF i SKIP LOCKED`, now, limit)
	return r.withoutQuestions(rows, err)
}

// MarkOverdueAnnounced records that the intake's overdue event was written.
func (r *Intakes) MarkOverdueAnnounced(ctx context.Context, id string, at time.Time) error {
	_, err := r.db.Q(ctx).Exec(ctx, `UPDATE intakes SET overdue_announced_at = $2 WHERE id = $1`, id, at)
	return err
}

// MoveResident moves a duplicate resident's intakes to the kept resident and household.
func (r *Intakes) MoveResident(ctx context.Context, fromResident, toResident, toHousehold string) error {
	_, err := r.db.Q(ctx).Exec(ctx, `UPDATE intakes SET resident_id = $2, household_id = $3 WHERE resident_id = $1`,
		fromResident, toResident, toHousehold)
	return err
}

// aadClarification binds a sealed clarification summary to its column.
const aadClarification = "intake.clarifications.summary"

type participantRow struct {
	Role           string `json:"role"`
	ProfessionalID string `json:"professional_id,omitempty"`
}

// AddClarification stores a clarification conversation; its summary is sealed like the
// question.
func (r *Intakes) AddClarification(ctx context.Context, intakeID string, c domain.Clarification) error {
	parts := make([]participantRow, len(c.Participants))
	for k, p := range c.Participants {
		parts[k] = participantRow{Role: p.Role, ProfessionalID: p.ProfessionalID}
	}
	raw, err := json.Marshal(parts)
	if err != nil {
		return err
	}
	_, err = r.db.Q(ctx).Exec(ctx, `
		INSERT INTO clarifications (id, intake_id, held_on, participants, summary_enc, next_step, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, intakeID, c.HeldOn, raw, r.prot.Seal(c.Summary, aadClarification), c.NextStep, c.RecordedBy, c.RecordedAt)
	return err
}

// Clarifications returns the intake's clarification conversations, oldest first, their
// summaries opened.
func (r *Intakes) Clarifications(ctx context.Context, intakeID string) ([]domain.Clarification, error) {
	rows, err := r.db.Q(ctx).Query(ctx, `
		SELECT id::text, held_on, participants, summary_enc, next_step, recorded_by, recorded_at
		FROM clarifications WHERE intake_id = $1 ORDER BY recorded_at, id`, intakeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Clarification
	for rows.Next() {
		var (
			c       domain.Clarification
			raw     []byte
			summary []byte
			parts   []participantRow
		)
		if err := rows.Scan(&c.ID, &c.HeldOn, &raw, &summary, &c.NextStep, &c.RecordedBy, &c.RecordedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &parts); err != nil {
			return nil, err
		}
		for _, p := range parts {
			c.Participants = append(c.Participants, domain.Participant{Role: p.Role, ProfessionalID: p.ProfessionalID})
		}
		if c.Summary, err = r.prot.Open(summary, aadClarification); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
