package postgres

import (
	"context"

	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/bsn"
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

// Insert stores a new intake.
func (r *Intakes) Insert(ctx context.Context, i domain.Intake) error {
	var question []byte
	if i.Question != "" {
		question = r.prot.Seal(i.Question, aadQuestion)
	}
	signalIDs := i.SignalIDs
	if signalIDs == nil {
		signalIDs = []string{}
	}
	lifeDomains := i.LifeDomains
	if lifeDomains == nil {
		lifeDomains = []string{}
	}
	_, err := r.db.Q(ctx).Exec(ctx, `
		INSERT INTO intakes (id, channel, signal_ids, source_type, resident_id, household_id, question_enc, life_domains,
		                     urgency, safety_concern, status, municipality_code, district_code, team_oin, received_at,
		                     triage_due, triage_outcome, triage_rule, case_id)
		VALUES ($1, $2, $3::text[]::uuid[], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, NULLIF($19, '')::uuid)`,
		i.ID, string(i.Channel), signalIDs, i.SourceType, i.ResidentID, i.HouseholdID, question, lifeDomains,
		string(i.Urgency), i.SafetyConcern, string(i.Status), i.Municipality, i.District, i.TeamOIN, i.ReceivedAt,
		i.TriageDue, string(i.TriageOutcome), i.TriageRule, i.CaseID)
	return err
}

// Get reads an intake with its resident's pseudonym (not the BSN: no read needs it).
func (r *Intakes) Get(ctx context.Context, id string) (domain.Intake, error) {
	var (
		i                                 domain.Intake
		channel, urgency, status, outcome string
		questionEnc                       []byte
		caseID                            *string
	)
	err := r.db.Q(ctx).QueryRow(ctx, `
		SELECT i.id::text, i.channel, i.signal_ids::text[], i.source_type, i.resident_id::text, i.household_id::text,
		       r.pseudonym, i.question_enc, i.life_domains, i.urgency, i.safety_concern, i.status, i.municipality_code,
		       i.district_code, i.team_oin, i.received_at, i.triage_due, i.triage_outcome, i.triage_rule, i.case_id::text
		FROM intakes i JOIN residents r ON r.id = i.resident_id
		WHERE i.id = $1`, id).Scan(
		&i.ID, &channel, &i.SignalIDs, &i.SourceType, &i.ResidentID, &i.HouseholdID,
		&i.ResidentPseudonym, &questionEnc, &i.LifeDomains, &urgency, &i.SafetyConcern, &status, &i.Municipality,
		&i.District, &i.TeamOIN, &i.ReceivedAt, &i.TriageDue, &outcome, &i.TriageRule, &caseID)
	if pgxdb.IsNoRows(err) {
		return i, apperr.NotFound("intake", id)
	}
	if err != nil {
		return i, err
	}
	i.Channel, i.Urgency, i.Status, i.TriageOutcome = domain.Channel(channel), domain.Urgency(urgency), domain.Status(status), domain.Outcome(outcome)
	if questionEnc != nil {
		if i.Question, err = r.prot.Open(questionEnc, aadQuestion); err != nil {
			return i, err
		}
	}
	if caseID != nil {
		i.CaseID = *caseID
	}
	return i, nil
}

// Update stores the mutable part of an intake: its status and triage.
func (r *Intakes) Update(ctx context.Context, i domain.Intake) error {
	_, err := r.db.Q(ctx).Exec(ctx, `
		UPDATE intakes SET status = $2, triage_outcome = $3, triage_rule = $4, case_id = NULLIF($5, '')::uuid
		WHERE id = $1`, i.ID, string(i.Status), string(i.TriageOutcome), i.TriageRule, i.CaseID)
	return err
}
