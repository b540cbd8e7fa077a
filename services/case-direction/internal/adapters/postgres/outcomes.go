package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	appoutcomes "github.com/wijkbrug/wijkbrug/services/case-direction/internal/app/outcomes"
	"github.com/wijkbrug/wijkbrug/services/case-direction/internal/domain/outcomes"
)

// Outcomes is the outcome read model (tables outcome_*): facts from events, no personal data.
type Outcomes struct{ db *pgxdb.DB }

// NewOutcomes returns the read model.
func NewOutcomes(db *pgxdb.DB) *Outcomes { return &Outcomes{db: db} }

func (o *Outcomes) exec(ctx context.Context, sql string, args ...any) error {
	_, err := o.db.Q(ctx).Exec(ctx, sql, args...)
	return err
}

// record writes a fact taken from an event. Nothing in a consumer's transaction reads the
// read model back (the reports do, in their own), so the write goes out with the COMMIT
// (pgxdb.DB.Defer): an event costs the round trip of its claim and that of its commit, not
// one more per fact. A failing write still fails the event's transaction.
func (o *Outcomes) record(ctx context.Context, sql string, args ...any) error {
	return o.db.Defer(ctx, sql, args...)
}

// IntakeReceived records an intake's scope, channel and source.
func (o *Outcomes) IntakeReceived(ctx context.Context, id string, s outcomes.Scope, channel, source string, at time.Time) error {
	return o.record(ctx, `INSERT INTO outcome_intakes (intake_id, municipality, district, team_oin, channel, source_type, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (intake_id) DO UPDATE SET municipality = $2, district = $3, team_oin = $4, channel = $5, source_type = $6, received_at = $7`,
		id, s.Municipality, s.District, s.Team, channel, source, at)
}

// SignalReceived records a partner's signal.
func (o *Outcomes) SignalReceived(ctx context.Context, id string, s outcomes.Scope, source string, at time.Time) error {
	return o.record(ctx, `INSERT INTO outcome_signals (signal_id, municipality, district, source_type, received_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (signal_id) DO NOTHING`, id, s.Municipality, s.District, source, at)
}

// Signals are the signals of a municipality.
func (o *Outcomes) Signals(ctx context.Context, municipality string) ([]outcomes.Signal, error) {
	return collect(ctx, o, `SELECT signal_id::text, municipality, district, source_type, received_at FROM outcome_signals WHERE municipality = $1`,
		municipality, func(r pgx.CollectableRow) (outcomes.Signal, error) {
			var s outcomes.Signal
			err := r.Scan(&s.ID, &s.Municipality, &s.District, &s.Source, &s.ReceivedAt)
			return s, err
		})
}

// IntakeContacted records a reached contact attempt; the first one counts.
func (o *Outcomes) IntakeContacted(ctx context.Context, id string, at time.Time) error {
	return o.record(ctx, `INSERT INTO outcome_intakes (intake_id, first_contact_at) VALUES ($1, $2)
		ON CONFLICT (intake_id) DO UPDATE SET first_contact_at = LEAST(outcome_intakes.first_contact_at, $2)`, id, at)
}

// IntakeTriaged records the triage decision.
func (o *Outcomes) IntakeTriaged(ctx context.Context, id, municipality, outcome string, at time.Time) error {
	return o.record(ctx, `INSERT INTO outcome_intakes (intake_id, municipality, triage_outcome, triaged_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (intake_id) DO UPDATE SET triage_outcome = $3, triaged_at = $4`, id, municipality, outcome, at)
}

// CaseOpened records a case's scope and opening.
func (o *Outcomes) CaseOpened(ctx context.Context, id, intakeID string, s outcomes.Scope, at time.Time) error {
	return o.record(ctx, `INSERT INTO outcome_cases (case_id, intake_id, municipality, district, team_oin, opened_at)
		VALUES ($1, NULLIF($2, '')::uuid, $3, $4, $5, $6)
		ON CONFLICT (case_id) DO UPDATE SET intake_id = EXCLUDED.intake_id, municipality = $3, district = $4, team_oin = $5, opened_at = $6`,
		id, intakeID, s.Municipality, s.District, s.Team, at)
}

// CaseScaledDown records the first scale-down.
func (o *Outcomes) CaseScaledDown(ctx context.Context, id, municipality string, at time.Time) error {
	return o.record(ctx, `INSERT INTO outcome_cases (case_id, municipality, scaled_down_at) VALUES ($1, $2, $3)
		ON CONFLICT (case_id) DO UPDATE SET scaled_down_at = LEAST(outcome_cases.scaled_down_at, $3)`, id, municipality, at)
}

// CaseReescalated records a return from the pilot light to active work (once per time).
func (o *Outcomes) CaseReescalated(ctx context.Context, id, municipality string, at time.Time) error {
	return o.record(ctx, `INSERT INTO outcome_cases (case_id, municipality, reescalations) VALUES ($1, $2, ARRAY[$3::timestamptz])
		ON CONFLICT (case_id) DO UPDATE SET reescalations = CASE WHEN $3::timestamptz = ANY (outcome_cases.reescalations)
			THEN outcome_cases.reescalations ELSE outcome_cases.reescalations || $3::timestamptz END`, id, municipality, at)
}

// CaseEnded records a closing (with its result and ZRM change per life domain) or a handover.
func (o *Outcomes) CaseEnded(ctx context.Context, id, municipality string, handedOver bool, result string, at time.Time, domains []outcomes.DomainChange) error {
	if err := o.record(ctx, `INSERT INTO outcome_cases (case_id, municipality, closed_at, handed_over, result) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (case_id) DO UPDATE SET closed_at = $3, handed_over = $4, result = $5`, id, municipality, at, handedOver, result); err != nil {
		return err
	}
	if len(domains) == 0 {
		return nil
	}
	// All life domains in one statement, not one round trip each; a domain named twice keeps its
	// last scores (one statement may not write a row twice).
	var lifeDomains []string
	var baselines, closings []int32
	slot := map[string]int{}
	for _, d := range domains {
		i, seen := slot[d.LifeDomain]
		if !seen {
			i = len(lifeDomains)
			slot[d.LifeDomain] = i
			lifeDomains, baselines, closings = append(lifeDomains, d.LifeDomain), append(baselines, 0), append(closings, 0)
		}
		baselines[i], closings[i] = int32(d.Baseline), int32(d.Closing)
	}
	return o.record(ctx, `INSERT INTO outcome_case_domains (case_id, life_domain, baseline, closing)
		SELECT $1, d, b, c FROM unnest($2::text[], $3::int[], $4::int[]) AS t(d, b, c)
		ON CONFLICT (case_id, life_domain) DO UPDATE SET baseline = EXCLUDED.baseline, closing = EXCLUDED.closing`,
		id, lifeDomains, baselines, closings)
}

// GoalSettled records a goal's final status.
func (o *Outcomes) GoalSettled(ctx context.Context, goalID, caseID, lifeDomain, status string, at time.Time) error {
	return o.record(ctx, `INSERT INTO outcome_goals (goal_id, case_id, life_domain, status, settled_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (goal_id) DO UPDATE SET status = $4, settled_at = $5`, goalID, caseID, lifeDomain, status, at)
}

// ReferralChanged records a referral's status change. A referral in progress, on hold or
// completed was accepted, even when its ACCEPTED event has not arrived (yet).
func (o *Outcomes) ReferralChanged(ctx context.Context, r appoutcomes.ReferralChange) error {
	return o.record(ctx, `INSERT INTO outcome_referrals AS x (referral_id, case_id, intake_id, municipality, sent_at, accepted, declined, decline_reason, completed, failed)
		VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, $4, CASE WHEN $5 = 'SENT' THEN $7::timestamptz END,
			$5 IN ('ACCEPTED', 'IN_PROGRESS', 'ON_HOLD', 'COMPLETED'), $5 = 'DECLINED', CASE WHEN $5 = 'DECLINED' THEN $6 ELSE '' END, $5 = 'COMPLETED', $5 = 'FAILED')
		ON CONFLICT (referral_id) DO UPDATE SET
			case_id = COALESCE(x.case_id, EXCLUDED.case_id), intake_id = COALESCE(x.intake_id, EXCLUDED.intake_id),
			sent_at = COALESCE(x.sent_at, EXCLUDED.sent_at),
			accepted = x.accepted OR EXCLUDED.accepted,
			declined = x.declined OR EXCLUDED.declined,
			decline_reason = CASE WHEN EXCLUDED.declined THEN EXCLUDED.decline_reason ELSE x.decline_reason END,
			completed = x.completed OR EXCLUDED.completed, failed = x.failed OR EXCLUDED.failed`,
		r.ID, r.CaseID, r.IntakeID, r.Municipality, r.Status, r.DeclineReason, r.At)
}

// AllocationIssued records an allocation of a case.
func (o *Outcomes) AllocationIssued(ctx context.Context, number, caseID, municipality string, issuedAt, startDate time.Time) error {
	return o.record(ctx, `INSERT INTO outcome_allocations (allocation_number, case_id, municipality, issued_at, start_date)
		VALUES ($1, NULLIF($2, '')::uuid, $3, $4, $5)
		ON CONFLICT (allocation_number) DO UPDATE SET case_id = EXCLUDED.case_id, municipality = $3, issued_at = $4, start_date = $5`,
		number, caseID, municipality, issuedAt, startDate)
}

// AllocationStarted records the first start of care.
func (o *Outcomes) AllocationStarted(ctx context.Context, number, caseID, municipality string, startDate, startedOn time.Time, onTime bool) error {
	return o.record(ctx, `INSERT INTO outcome_allocations (allocation_number, case_id, municipality, start_date, first_started_on, started_on_time)
		VALUES ($1, NULLIF($2, '')::uuid, $3, $4, $5, $6)
		ON CONFLICT (allocation_number) DO UPDATE SET start_date = COALESCE(outcome_allocations.start_date, $4),
			first_started_on = $5, started_on_time = $6
		WHERE outcome_allocations.first_started_on IS NULL`, number, caseID, municipality, startDate, startedOn, onTime)
}

// DecisionDecided records a decided decision: its scope, legal basis, due date, the day it
// was decided and whether that was within the statutory term. A replay writes the same.
func (o *Outcomes) DecisionDecided(ctx context.Context, d appoutcomes.DecisionFact) error {
	return o.record(ctx, `INSERT INTO outcome_decisions AS x (decision_id, case_id, intake_id, municipality, district, legal_basis, granted, due_date, decided_on, within_term)
		VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (decision_id) DO UPDATE SET case_id = COALESCE(EXCLUDED.case_id, x.case_id), intake_id = COALESCE(EXCLUDED.intake_id, x.intake_id),
			municipality = $4, district = $5, legal_basis = $6, granted = $7, due_date = COALESCE($8, x.due_date), decided_on = $9, within_term = $10`,
		d.ID, d.CaseID, d.IntakeID, d.Municipality, d.District, d.LegalBasis, d.Granted, dateOrNil(d.DueDate), d.DecidedOn, d.WithinTerm)
}

// DecisionOverdue records that a decision was signalled overdue (before or after it was
// decided: the streams may arrive in either order).
func (o *Outcomes) DecisionOverdue(ctx context.Context, d appoutcomes.DecisionFact) error {
	return o.record(ctx, `INSERT INTO outcome_decisions AS x (decision_id, case_id, intake_id, municipality, district, legal_basis, due_date, overdue)
		VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3, '')::uuid, $4, $5, $6, $7, true)
		ON CONFLICT (decision_id) DO UPDATE SET overdue = true, due_date = COALESCE(x.due_date, EXCLUDED.due_date),
			case_id = COALESCE(x.case_id, EXCLUDED.case_id), intake_id = COALESCE(x.intake_id, EXCLUDED.intake_id),
			district = CASE WHEN x.district = '' THEN EXCLUDED.district ELSE x.district END,
			legal_basis = CASE WHEN x.legal_basis = '' THEN EXCLUDED.legal_basis ELSE x.legal_basis END`,
		d.ID, d.CaseID, d.IntakeID, d.Municipality, d.District, d.LegalBasis, dateOrNil(d.DueDate))
}

func dateOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Decisions are the decisions of a municipality, in the scope of their case, else of their
// intake (the district the event gave comes first).
func (o *Outcomes) Decisions(ctx context.Context, municipality string) ([]outcomes.Decision, error) {
	return collect(ctx, o, `SELECT d.decision_id::text, d.municipality, COALESCE(NULLIF(d.district, ''), c.district, i.district, ''),
			COALESCE(c.team_oin, i.team_oin, ''), d.legal_basis, d.granted, d.due_date, d.decided_on, d.within_term, d.overdue
		FROM outcome_decisions d LEFT JOIN outcome_cases c ON c.case_id = d.case_id LEFT JOIN outcome_intakes i ON i.intake_id = d.intake_id
		WHERE d.municipality = $1`, municipality, func(r pgx.CollectableRow) (outcomes.Decision, error) {
		var d outcomes.Decision
		err := r.Scan(&d.ID, &d.Municipality, &d.District, &d.Team, &d.LegalBasis, &d.Granted, &d.DueDate, &d.DecidedOn, &d.WithinTerm, &d.Overdue)
		return d, err
	})
}

func collect[T any](ctx context.Context, o *Outcomes, sql string, arg string, scan pgx.RowToFunc[T]) ([]T, error) {
	rows, err := o.db.Q(ctx).Query(ctx, sql, arg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// Intakes are the received intakes of a municipality.
func (o *Outcomes) Intakes(ctx context.Context, municipality string) ([]outcomes.Intake, error) {
	return collect(ctx, o, `SELECT intake_id::text, municipality, district, team_oin, channel, source_type, triage_outcome, received_at, first_contact_at, triaged_at
		FROM outcome_intakes WHERE municipality = $1 AND received_at IS NOT NULL`, municipality, func(r pgx.CollectableRow) (outcomes.Intake, error) {
		var i outcomes.Intake
		err := r.Scan(&i.ID, &i.Municipality, &i.District, &i.Team, &i.Channel, &i.Source, &i.TriageOutcome, &i.ReceivedAt, &i.FirstContactAt, &i.TriagedAt)
		return i, err
	})
}

// Cases are the opened cases of a municipality with their ZRM change per life domain.
func (o *Outcomes) Cases(ctx context.Context, municipality string) ([]outcomes.Case, error) {
	cases, err := collect(ctx, o, `SELECT case_id::text, municipality, district, team_oin, opened_at, closed_at, handed_over, result, scaled_down_at, reescalations
		FROM outcome_cases WHERE municipality = $1 AND opened_at IS NOT NULL ORDER BY case_id`, municipality, func(r pgx.CollectableRow) (outcomes.Case, error) {
		var c outcomes.Case
		err := r.Scan(&c.ID, &c.Municipality, &c.District, &c.Team, &c.OpenedAt, &c.ClosedAt, &c.HandedOver, &c.Result, &c.ScaledDownAt, &c.Reescalations)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	type domainRow struct {
		caseID string
		d      outcomes.DomainChange
	}
	domains, err := collect(ctx, o, `SELECT d.case_id::text, d.life_domain, d.baseline, d.closing FROM outcome_case_domains d
		JOIN outcome_cases c USING (case_id) WHERE c.municipality = $1`, municipality, func(r pgx.CollectableRow) (domainRow, error) {
		var x domainRow
		err := r.Scan(&x.caseID, &x.d.LifeDomain, &x.d.Baseline, &x.d.Closing)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	index := make(map[string]int, len(cases))
	for i, c := range cases {
		index[c.ID] = i
	}
	for _, x := range domains {
		if i, ok := index[x.caseID]; ok {
			cases[i].Domains = append(cases[i].Domains, x.d)
		}
	}
	return cases, nil
}

// Goals are the settled goals of a municipality's cases, in their case's scope.
func (o *Outcomes) Goals(ctx context.Context, municipality string) ([]outcomes.Goal, error) {
	return collect(ctx, o, `SELECT g.goal_id::text, c.municipality, c.district, c.team_oin, g.status, g.settled_at
		FROM outcome_goals g JOIN outcome_cases c USING (case_id) WHERE c.municipality = $1`, municipality, func(r pgx.CollectableRow) (outcomes.Goal, error) {
		var g outcomes.Goal
		err := r.Scan(&g.ID, &g.Municipality, &g.District, &g.Team, &g.Status, &g.At)
		return g, err
	})
}

// Referrals are the sent referrals of a municipality, in the scope of their case, else of
// their intake ("" when neither is known yet).
func (o *Outcomes) Referrals(ctx context.Context, municipality string) ([]outcomes.Referral, error) {
	return collect(ctx, o, `SELECT r.referral_id::text, r.municipality, COALESCE(c.district, i.district, ''), COALESCE(c.team_oin, i.team_oin, ''),
			r.sent_at, r.accepted, r.declined, r.completed, r.failed, r.decline_reason
		FROM outcome_referrals r LEFT JOIN outcome_cases c ON c.case_id = r.case_id LEFT JOIN outcome_intakes i ON i.intake_id = r.intake_id
		WHERE r.municipality = $1 AND r.sent_at IS NOT NULL`, municipality, func(rs pgx.CollectableRow) (outcomes.Referral, error) {
		var r outcomes.Referral
		err := rs.Scan(&r.ID, &r.Municipality, &r.District, &r.Team, &r.SentAt, &r.Accepted, &r.Declined, &r.Completed, &r.Failed, &r.DeclineReason)
		return r, err
	})
}

// Allocations are the issued allocations of a municipality, in their case's scope.
func (o *Outcomes) Allocations(ctx context.Context, municipality string) ([]outcomes.Allocation, error) {
	return collect(ctx, o, `SELECT a.allocation_number, a.municipality, COALESCE(c.district, ''), COALESCE(c.team_oin, ''),
			a.issued_at, COALESCE(a.start_date, (a.issued_at AT TIME ZONE 'Europe/Amsterdam')::date), a.first_started_on, a.started_on_time
		FROM outcome_allocations a LEFT JOIN outcome_cases c ON c.case_id = a.case_id
		WHERE a.municipality = $1 AND a.issued_at IS NOT NULL`, municipality, func(r pgx.CollectableRow) (outcomes.Allocation, error) {
		var a outcomes.Allocation
		err := r.Scan(&a.Number, &a.Municipality, &a.District, &a.Team, &a.IssuedAt, &a.StartDate, &a.FirstStartedOn, &a.StartedOnTime)
		return a, err
	})
}

// RebuildRequested reports whether a rebuild of the read model waits (wijkbrug
// outcomes-rebuild).
func (o *Outcomes) RebuildRequested(ctx context.Context) (bool, error) {
	var n int
	err := o.db.Q(ctx).QueryRow(ctx, `SELECT count(*) FROM outcome_rebuild_requests WHERE done_at IS NULL`).Scan(&n)
	return n > 0, err
}

// Reset empties the read model and forgets which events the given consumers processed or
// parked, and marks the waiting rebuild requests done, in one transaction. With the consumers
// deleted from NATS before, their next start replays the streams from the start.
func (o *Outcomes) Reset(ctx context.Context, consumers []string) error {
	return o.db.Tx(ctx, func(ctx context.Context) error {
		for _, sql := range []string{
			// DELETE, not TRUNCATE: the service's role may not truncate.
			`DELETE FROM outcome_case_domains`, `DELETE FROM outcome_goals`, `DELETE FROM outcome_referrals`,
			`DELETE FROM outcome_allocations`, `DELETE FROM outcome_decisions`, `DELETE FROM outcome_cases`, `DELETE FROM outcome_intakes`, `DELETE FROM outcome_signals`,
			`DELETE FROM processed_events WHERE consumer = ANY($1)`,
			`DELETE FROM parked_events WHERE consumer = ANY($1)`,
			`UPDATE outcome_rebuild_requests SET done_at = now() WHERE done_at IS NULL`,
		} {
			var args []any
			if strings.Contains(sql, "$1") {
				args = []any{consumers}
			}
			if err := o.exec(ctx, sql, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// RequestRebuild records a rebuild request (the ops command does the same in SQL).
func (o *Outcomes) RequestRebuild(ctx context.Context, by string) error {
	return o.exec(ctx, `INSERT INTO outcome_rebuild_requests (requested_by) VALUES ($1)`, by)
}
