// Package app holds the referral use cases: signals and their feedback, the social map,
// consents, closed-loop referrals and recurring themes. Ports are declared here, by the
// consumer of them.
package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/accesslog"
	"github.com/wijkbrug/wijkbrug/pkg/apperr"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/txn"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// Signals stores signals.
type Signals interface {
	Insert(ctx context.Context, s domain.Signal) error
	// Get returns apperr NotFound when there is no such signal.
	Get(ctx context.Context, id string) (domain.Signal, error)
	// GetMany returns the signals in the order of ids, or apperr NotFound naming an id without one.
	GetMany(ctx context.Context, ids []string) ([]domain.Signal, error)
	// GetForUpdate locks the row for the rest of the transaction.
	GetForUpdate(ctx context.Context, id string) (domain.Signal, error)
	Update(ctx context.Context, s domain.Signal) error
	// ByCaseForUpdate locks the signals linked to a case.
	ByCaseForUpdate(ctx context.Context, caseID string) ([]domain.Signal, error)
	// ListBySource pages through a source organisation's signals, newest first; more reports
	// whether another page follows.
	ListBySource(ctx context.Context, oin, status string, p domain.Page) (page []domain.Signal, more bool, err error)
}

// Events publishes what happened (through the outbox, in the same transaction).
type Events interface {
	SignalReceived(ctx context.Context, s domain.Signal) error
	SignalStatusChanged(ctx context.Context, s domain.Signal) error
	SignalFedBack(ctx context.Context, s domain.Signal) error
	ReferralStatusChanged(ctx context.Context, r domain.Referral) error
	ProvisionChanged(ctx context.Context, p domain.Provision) error
	ConsentRecorded(ctx context.Context, c domain.Consent) error
	ConsentWithdrawn(ctx context.Context, c domain.Consent, cancelledReferralIDs []string) error
}

// Pseudonymizer turns a BSN into the pseudonym used in the access log.
type Pseudonymizer interface {
	Pseudonym(bsn string) string
}

// Settings are the service's own settings.
type Settings struct {
	// AcceptPeriod is the default time a recipient has to accept or decline a referral.
	AcceptPeriod time.Duration
	// MinGroupSize is the smallest number of residents behind a published theme count.
	MinGroupSize int
	// MapMaintainers are, per municipality (CBS code), the organisations (OINs) that maintain
	// its social map. Nobody else adds or changes its provisions.
	MapMaintainers map[string][]string
}

// DefaultSettings are used for zero values.
var DefaultSettings = Settings{AcceptPeriod: 14 * 24 * time.Hour, MinGroupSize: domain.DefaultMinGroupSize}

// Deps are the ports the application needs.
type Deps struct {
	Tx         txn.Runner
	Signals    Signals
	Provisions Provisions
	Consents   Consents
	Referrals  Referrals
	Themes     Themes
	Events     Events
	Access     accesslog.Recorder
	Pseudo     Pseudonymizer
	Settings   Settings
	// Cases answers whether an organisation may act on a case (case-direction).
	Cases Cases
	// Intakes answers whether an organisation owns an intake (intake).
	Intakes Intakes
}

// Intakes is the intake service, which owns intakes.
type Intakes interface {
	// Owner reports whether the organisation is the team that owns the intake and, when it is,
	// the intake's facts as Intake reads them, in the same call (nil when intake did not send
	// them: Intake then reads them).
	Owner(ctx context.Context, intakeID, orgOIN, orgType string) (bool, *domain.IntakeFacts, error)
	// Intake reads an intake's municipality, status and household members (as a Wijkbrug
	// service); apperr NotFound when there is none.
	Intake(ctx context.Context, intakeID string) (domain.IntakeFacts, error)
}

// Cases is case-direction, which owns cases and knows who is involved in them.
type Cases interface {
	// Involved reports whether the organisation is the case's team or actively involved in it
	// and, when it is, the case's facts as Case reads them, in the same call (nil when
	// case-direction did not send them: Case then reads them).
	Involved(ctx context.Context, caseID, orgOIN, orgType string) (bool, *domain.CaseFacts, error)
	// Case reads a case's municipality, status, plan goals and household members (as a
	// Wijkbrug service); apperr NotFound when there is none.
	Case(ctx context.Context, caseID string) (domain.CaseFacts, error)
}

// App is the referral application.
type App struct {
	tx         txn.Runner
	cases      Cases
	intakes    Intakes
	signals    Signals
	provisions Provisions
	consents   Consents
	referrals  Referrals
	themes     Themes
	events     Events
	access     accesslog.Recorder
	pseudo     Pseudonymizer
	settings   Settings
	// Now is the clock; tests replace it to control time (expiry, validity).
	Now func() time.Time
}

// New builds the application.
func New(d Deps) *App {
	if d.Settings.AcceptPeriod <= 0 {
		d.Settings.AcceptPeriod = DefaultSettings.AcceptPeriod
	}
	if d.Settings.MinGroupSize <= 0 {
		d.Settings.MinGroupSize = DefaultSettings.MinGroupSize
	}
	return &App{tx: d.Tx, signals: d.Signals, provisions: d.Provisions, consents: d.Consents, referrals: d.Referrals,
		themes: d.Themes, events: d.Events, access: d.Access, pseudo: d.Pseudo, settings: d.Settings, cases: d.Cases, intakes: d.Intakes, Now: microsecondClock}
}

// SubmitSignal registers a signal from the calling organisation.
func (a *App) SubmitSignal(ctx context.Context, s domain.Signal) (domain.Signal, error) {
	caller, ok := identity.From(ctx)
	if !ok {
		return s, apperr.Unauthenticated("no caller")
	}
	if s.Arrears != nil && s.Arrears.Creditor.Name == "" && s.Arrears.Creditor.OIN == "" {
		// The submitting organisation reports its own arrears (the usual Wgs signal).
		s.Arrears.Creditor.Name, s.Arrears.Creditor.OIN = caller.Org.Name, caller.Org.OIN
	}
	if err := s.Validate(string(caller.Org.Type)); err != nil {
		return s, err
	}
	s.ID = uuid.NewString()
	s.SourceOIN = caller.Org.OIN
	s.Reporter = caller.User
	s.Status = domain.StatusReceived
	s.ReceivedAt = a.Now().UTC()
	err := a.tx.Tx(ctx, func(ctx context.Context) error {
		if err := a.signals.Insert(ctx, s); err != nil {
			return err
		}
		if err := a.events.SignalReceived(ctx, s); err != nil {
			return err
		}
		return a.access.Record(ctx, a.entry("referral.signal.create", s, accesslog.RouteNewRecord, accesslog.OutcomeGranted))
	})
	return s, err
}

// GetSignal returns a signal to its source organisation or to a Wijkbrug service. Anyone
// else gets NOT_FOUND, so the existence of another partner's signal is not disclosed; the
// refusal is logged too.
func (a *App) GetSignal(ctx context.Context, id string) (domain.Signal, error) {
	caller, _ := identity.From(ctx)
	var out domain.Signal
	err := accesslog.ReadTx(ctx, a.tx, func(ctx context.Context) error {
		s, err := a.signals.Get(ctx, id)
		if err != nil {
			return err
		}
		route := ""
		switch {
		case caller.Org.Type == identity.OrgService:
			route = accesslog.RouteService
		case caller.Org.OIN == s.SourceOIN:
			route = accesslog.RouteOwnRecord
		}
		_, err = accesslog.Guard(ctx, a.access, accesslog.Access{Entry: a.entry("referral.signal.read", s, "", ""), Route: route})
		out = s
		return err
	})
	if err != nil {
		return domain.Signal{}, err
	}
	return out, nil
}

// GetSignals returns several signals to a Wijkbrug service (the method's policy admits no
// one else), in the order of ids, and logs each read as GetSignal does, in one statement. An
// unknown id is NOT_FOUND and nothing is returned.
func (a *App) GetSignals(ctx context.Context, ids []string) ([]domain.Signal, error) {
	if caller, _ := identity.From(ctx); caller.Org.Type != identity.OrgService {
		return nil, apperr.PermissionDenied("only Wijkbrug services read signals in batches")
	}
	var out []domain.Signal
	err := accesslog.ReadTx(ctx, a.tx, func(ctx context.Context) error {
		sigs, err := a.signals.GetMany(ctx, ids)
		if err != nil {
			return err
		}
		entries := make([]accesslog.Entry, len(sigs))
		for i, s := range sigs {
			entries[i] = a.entry("referral.signal.read", s, accesslog.RouteService, accesslog.OutcomeGranted)
		}
		if err := a.access.RecordMany(ctx, entries); err != nil {
			return err
		}
		out = sigs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LinkToIntake handles intake's report that it registered an intake for the signal, and
// tells the source (interim feedback).
func (a *App) LinkToIntake(ctx context.Context, signalID, intakeID string) error {
	return a.tx.Tx(ctx, func(ctx context.Context) error {
		s, err := a.signals.GetForUpdate(ctx, signalID)
		if err != nil {
			return err
		}
		changed, err := s.LinkToIntake(intakeID)
		if err != nil || !changed {
			return err
		}
		if err := s.FeedBack(domain.FeedbackIntakeRegistered, a.Now().UTC()); err != nil {
			return err
		}
		return a.save(ctx, s, "referral.signal.link_intake")
	})
}

// LinkToCase handles intake's report that the signal's intake became case direction, and
// closes the loop with the source: "taken into case direction".
func (a *App) LinkToCase(ctx context.Context, signalID, intakeID, caseID string) error {
	return a.tx.Tx(ctx, func(ctx context.Context) error {
		s, err := a.signals.GetForUpdate(ctx, signalID)
		if err != nil {
			return err
		}
		changed, err := s.LinkToCase(intakeID, caseID)
		if err != nil || !changed {
			return err
		}
		if err := s.FeedBack(domain.FeedbackTakenIntoCaseDirection, a.Now().UTC()); err != nil {
			return err
		}
		return a.save(ctx, s, "referral.signal.link_case")
	})
}

// ListMySignals pages through the calling organisation's own signals; each one returned is
// access-logged. A read runs in no transaction: its access-log entry is committed before the
// page is returned, in one commit with the entries of other reads (logstore's group commit).
func (a *App) ListMySignals(ctx context.Context, status string, p domain.Page) ([]domain.Signal, bool, error) {
	caller, _ := identity.From(ctx)
	out, more, err := a.signals.ListBySource(ctx, caller.Org.OIN, status, p)
	if err != nil {
		return nil, false, err
	}
	entries := make([]accesslog.Entry, len(out))
	for i, s := range out {
		entries[i] = a.entry("referral.signal.list", s, accesslog.RouteOwnRecord, accesslog.OutcomeGranted)
	}
	if err := a.access.RecordMany(ctx, entries); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// IntakeClosed handles intake's report that an intake ended without case direction, and
// feeds back to the signal's source (advised, referred or not taken up).
func (a *App) IntakeClosed(ctx context.Context, signalID, intakeID, intakeStatus string) error {
	return a.tx.Tx(ctx, func(ctx context.Context) error {
		s, err := a.signals.GetForUpdate(ctx, signalID)
		if err != nil {
			return err
		}
		changed, err := s.IntakeClosed(intakeID, intakeStatus, a.Now().UTC())
		if err != nil || !changed {
			return err
		}
		return a.save(ctx, s, "referral.signal.intake_closed")
	})
}

// CaseClosed handles case-direction's report that a case was closed or handed over, and tells
// the sources of the signals behind it. A closed case's referrals that are still open were made
// while it was closing (case-direction refuses to close a case with an open referral it knows
// of): they are cancelled, CASE_CLOSED, under the case's lock, so a referral is either made
// before this (and cancelled) or refused after it (CreateReferral).
func (a *App) CaseClosed(ctx context.Context, caseID string, handedOver bool) error {
	return a.tx.Tx(ctx, func(ctx context.Context) error {
		if !handedOver {
			if _, err := a.referrals.LockCase(ctx, caseID); err != nil {
				return err
			}
			if err := a.referrals.MarkCaseClosed(ctx, caseID, a.Now().UTC()); err != nil {
				return err
			}
			open, err := a.referrals.OpenByCase(ctx, caseID)
			if err != nil {
				return err
			}
			for _, r := range open {
				if err := a.transition(ctx, r, domain.Transition{Action: domain.ActCancel, Reason: domain.CancelCaseClosed},
					[]domain.Side{domain.SideSystem}, "referral.referral.cancel", accesslog.RouteSystem); err != nil {
					return err
				}
			}
		}
		signals, err := a.signals.ByCaseForUpdate(ctx, caseID)
		if err != nil {
			return err
		}
		for _, s := range signals {
			changed, err := s.CaseClosed(caseID, handedOver, a.Now().UTC())
			if err != nil {
				return err
			}
			if changed {
				if err := a.save(ctx, s, "referral.signal.case_closed"); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (a *App) save(ctx context.Context, s domain.Signal, action string) error {
	if err := a.signals.Update(ctx, s); err != nil {
		return err
	}
	if err := a.events.SignalStatusChanged(ctx, s); err != nil {
		return err
	}
	if err := a.events.SignalFedBack(ctx, s); err != nil {
		return err
	}
	return a.access.Record(ctx, a.entry(action, s, accesslog.RouteSystem, accesslog.OutcomeGranted))
}

func (a *App) entry(action string, s domain.Signal, route, outcome string) accesslog.Entry {
	return accesslog.Entry{Action: action, ObjectType: "signal", ObjectID: s.ID,
		ResidentPseudonym: a.pseudo.Pseudonym(s.ResidentBSN), Route: route, Outcome: outcome}
}

// microsecondClock is the default clock: microsecond precision, as PostgreSQL stores times, so
// that an answer given right after a write (received_at, created_at) equals a later read of
// the same record (it had nanoseconds, the read microseconds).
func microsecondClock() time.Time { return time.Now().Truncate(time.Microsecond) }
