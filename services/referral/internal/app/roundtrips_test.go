package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/outbox"
	"github.com/wijkbrug/wijkbrug/pkg/pgxdb"
	"github.com/wijkbrug/wijkbrug/pkg/testkit"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/adapters/events"
	"github.com/wijkbrug/wijkbrug/services/referral/internal/domain"
)

// A signal's writes ride with the COMMIT: its transaction in SubmitSignal is one round trip
// (the signal, its event and feed copy, its access-log entry and COMMIT in one pipeline), and
// linking it to an intake is two (BEGIN with the locking read; the update, two events, their
// feed copies, the access-log entry and COMMIT). Counted on the wire, with the feed router the
// service uses.
func TestSignalTransactionsRideWithTheCommit(t *testing.T) {
	ctx := context.Background()
	dsn := newDSN(t)
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	db := &pgxdb.DB{Pool: pool}
	// The writer's NOTIFY after each commit is not the transaction's work (testkit.NotifyDB).
	w := outbox.NewWriter(testkit.NotifyDB(t, dsn), "referral")
	w.SetFeedRouter(events.FeedRecipients())
	a := newAppWriting(db, w, newProtector(t), func() time.Time { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC) })
	const gpOIN = "00000001000000000200"
	gp := identity.WithCaller(ctx, identity.Caller{
		Org: identity.Organisation{OIN: gpOIN, Type: identity.OrgGP, Name: "De Linde"}, User: "dr-jansen", Role: "gp", Purpose: "signal"})
	system := identity.WithCaller(ctx, identity.System(identity.Organisation{OIN: "00000099000000000004", Name: "wijkbrug-referral", Type: identity.OrgService}, "signal-feedback"))

	submitAndLink := func() (submit, link int64, signalID string) {
		t.Helper()
		before := roundTrips.Load()
		s, err := a.SubmitSignal(gp, domain.Signal{SourceType: domain.SourceGP, LegalBasis: domain.BasisWMO, ResidentBSN: "111222333",
			Municipality: "GM0363", District: "WK036300", LifeDomains: []string{"FINANCES"}, Category: "payment arrears"})
		if err != nil {
			t.Fatalf("SubmitSignal: %v", err)
		}
		submit = roundTrips.Load() - before
		before = roundTrips.Load()
		if err := a.LinkToIntake(system, s.ID, uuid.NewString()); err != nil {
			t.Fatalf("LinkToIntake: %v", err)
		}
		return submit, roundTrips.Load() - before, s.ID
	}
	submitAndLink() // prepares the statements (pgx's statement cache)
	submit, link, id := submitAndLink()
	if submit != 1 {
		t.Errorf("SubmitSignal's transaction took %d round trips, want 1", submit)
	}
	if link != 2 {
		t.Errorf("linking the signal to its intake took %d round trips, want 2", link)
	}
	// Everything was written: the linked signal with its feedback, its three events (received,
	// status changed, fed back), a feed copy of each for the GP, two access-log entries.
	var status, feedback string
	var events, copies, entries int
	if err := pool.QueryRow(ctx, `SELECT status, feedback,
			(SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND recipient = ''),
			(SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND recipient = $2),
			(SELECT count(*) FROM access_log_entries WHERE object_id = $1)
		FROM signals WHERE id = $1::uuid`, id, gpOIN).Scan(&status, &feedback, &events, &copies, &entries); err != nil {
		t.Fatal(err)
	}
	if status != string(domain.StatusLinkedToIntake) || feedback != string(domain.FeedbackIntakeRegistered) || events != 3 || copies != 3 || entries != 2 {
		t.Fatalf("after submit and link: status %s, feedback %s, %d events, %d feed copies, %d access-log entries; want %s, %s, 3, 3, 2",
			status, feedback, events, copies, entries, domain.StatusLinkedToIntake, domain.FeedbackIntakeRegistered)
	}
}

// A referral made and sent at once is stored as sent with one INSERT, and its two history
// rows go with the COMMIT: four round trips for a referral for a case (BEGIN with the case's
// lock and the check that it is not closed, the provision's read, the INSERT, the deferred
// writes with COMMIT) where it was seven (an UPDATE to SENT and each history row waited for;
// the case's lock came later, against a referral made while the case closes; the feed router
// read the referral's organisations until the statement writing the copies read them). The
// referral is SENT, its history is DRAFT then SENT, one event on the municipality's subject
// announces it, and a copy of it goes to the feed of each of its two organisations.
func TestSentReferralIsStoredOnce(t *testing.T) {
	ctx := context.Background()
	dsn := newDSN(t)
	pool, roundTrips := testkit.RoundTripPool(t, dsn)
	db := &pgxdb.DB{Pool: pool}
	w := outbox.NewWriter(testkit.NotifyDB(t, dsn), "referral")
	w.SetFeedRouter(events.FeedRecipients())
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	a := newAppWriting(db, w, newProtector(t), func() time.Time { return now })
	team := as(teamOIN, identity.OrgTeam)
	prov, err := a.UpsertProvision(team, domain.Provision{
		OrganisationOIN: providerOIN, Name: "Maatjesproject", Kind: domain.KindCommunity, Status: domain.ProvisionActive,
		CapacityStatus: "AVAILABLE", Taxonomy: []string{"buddy-project"}, Municipality: "GM0363", AcceptsDigitalReferrals: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	create := func() (domain.Referral, int64) {
		t.Helper()
		before := roundTrips.Load()
		r, err := a.CreateReferral(team, domain.Referral{ProvisionID: prov.ID, CaseID: uuid.NewString(), ResidentBSN: "111222333", Municipality: "GM0363",
			Question: "buddy wanted", Categories: []string{"IDENTITY"}, LegalBasis: domain.BasisWMO}, true)
		if err != nil {
			t.Fatal(err)
		}
		return r, roundTrips.Load() - before
	}
	create() // prepares the statements (pgx's statement cache)
	r, n := create()
	if n != 4 {
		t.Errorf("making and sending a referral took %d round trips, want 4", n)
	}
	var status, history, copies string
	var announced int
	if err := pool.QueryRow(ctx, `SELECT status,
			(SELECT string_agg(from_status || '>' || to_status, ' ' ORDER BY seq) FROM referral_transitions WHERE referral_id = $1::uuid),
			(SELECT count(*) FROM outbox WHERE aggregate_id = $2 AND subject = 'wijkbrug.referral.GM0363.referral.status_changed'),
			(SELECT string_agg(recipient, ' ' ORDER BY recipient) FROM outbox WHERE aggregate_id = $2 AND event_type = 'wijkbrug.referral.v1.ReferralStatusChanged' AND recipient <> '')
		FROM referrals WHERE id = $1::uuid`, r.ID, r.ID).Scan(&status, &history, &announced, &copies); err != nil {
		t.Fatal(err)
	}
	if status != string(domain.RefSent) || r.Status != domain.RefSent || history != ">DRAFT DRAFT>SENT" || announced != 1 {
		t.Fatalf("stored status %s (answered %s), history %q, %d events; want SENT, \">DRAFT DRAFT>SENT\", 1", status, r.Status, history, announced)
	}
	if want := teamOIN + " " + providerOIN; copies != want {
		t.Errorf("the announcement's feed copies went to %q, want %q (the referrer and the recipient)", copies, want)
	}
}
