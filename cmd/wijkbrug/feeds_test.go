package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	"github.com/wijkbrug/wijkbrug/pkg/cloudevents"
	casedirectionv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/casedirection/v1"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	referralv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/referral/v1"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// feedEvent is one event read from a partner's subscription.
type feedEvent struct {
	id, typ, aggregate string
}

// drain reads everything a durable subscription holds, acknowledging as it goes.
func drain(t *testing.T, s *suite.Suite, partner string, conn *subscriptionsv1.Connection) []feedEvent {
	t.Helper()
	js := jetStreamAs(t, s, s.Partners[partner])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cons, err := js.Consumer(ctx, conn.GetStream(), conn.GetConsumer())
	if err != nil {
		t.Fatalf("%s opens its subscription: %v", partner, err)
	}
	var out []feedEvent
	for {
		batch, err := cons.Fetch(100, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			env, err := cloudevents.FromMsg(m.Subject(), m.Headers(), m.Data())
			if err != nil {
				t.Fatalf("%s got a malformed event: %v", partner, err)
			}
			if _, err := env.Decode(); err != nil {
				t.Fatalf("%s cannot decode %s: %v", partner, env.Type, err)
			}
			out = append(out, feedEvent{env.ID, env.Type, env.Subject})
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n == 0 {
			return out
		}
	}
}

func ids(evs []feedEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.id)
	}
	slices.Sort(out)
	return out
}

// TestPartnerFeeds: after the walking skeleton the GP's durable subscription holds exactly the
// events about the GP's signal; a provider receives a case's events only while its involvement
// lasts; replay from a time returns the same events again; an organisation never sees
// another's subscriptions.
func TestPartnerFeeds(t *testing.T) {
	t.Parallel()
	_, s := startSuite(t, 3*time.Minute, suite.Options{})
	events := record(t, s)
	refAddr := s.Endpoint("referral").Addr
	gpSubs := subscriptionsv1.NewSubscriptionServiceClient(dialAs(t, s, "gp", refAddr))
	providerSubs := subscriptionsv1.NewSubscriptionServiceClient(dialAs(t, s, "provider", refAddr))
	gpCtx := acting(t, "dr-jansen", "gp", "signal")
	providerCtx := acting(t, "piet", "care_coordinator", "care-delivery")

	gpSub, err := gpSubs.CreateSubscription(gpCtx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "gp-all", StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL})
	if err != nil {
		t.Fatalf("GP creates a subscription: %v", err)
	}
	provSub, err := providerSubs.CreateSubscription(providerCtx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "prov-all"})
	if err != nil {
		t.Fatalf("provider creates a subscription: %v", err)
	}
	before := time.Now()

	// The walking skeleton, with the provider involved in the case for a while.
	gp := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", refAddr))
	submitted, err := gp.SubmitSignal(gpCtx, gpSignalRequest("feed-1"))
	if err != nil {
		t.Fatalf("submit signal: %v", err)
	}
	signalID := submitted.GetSignalId()
	caseID := events.wait(t, "intake.case_opened", func(r recorded) bool {
		m, ok := r.msg.(*intakev1.IntakeCaseOpened)
		return ok && slices.Contains(m.GetSignalIds(), signalID)
	}).msg.(*intakev1.IntakeCaseOpened).GetCaseId()
	events.wait(t, "the GP's feedback", func(r recorded) bool {
		m, ok := r.msg.(*referralv1.SignalFedBack)
		return ok && m.GetSignalId() == signalID
	})
	team := casedirectionv1.NewCaseDirectionServiceClient(dialAs(t, s, "team", s.Endpoint("casedirection").Addr))
	teamCtx := acting(t, "regisseur-anna", "case_director", "case-direction")
	if _, err := team.AssignDirector(teamCtx, &casedirectionv1.AssignDirectorRequest{IdempotencyKey: "feed-dir", CaseId: caseID, ProfessionalId: "regisseur-anna"}); err != nil {
		t.Fatalf("assign director: %v", err)
	}
	events.wait(t, "case.director_assigned", func(r recorded) bool {
		m, ok := r.msg.(*casedirectionv1.CaseDirectorAssigned)
		return ok && m.GetCaseId() == caseID
	})
	caseEventsSoFar := func() map[string]bool {
		out := map[string]bool{}
		for _, r := range events.all() {
			if r.env.Subject == caseID {
				out[r.env.ID] = true
			}
		}
		return out
	}
	beforeInvolvement := caseEventsSoFar()
	today := nowNL().Format(time.DateOnly)
	inv, err := team.AddInvolvement(teamCtx, &casedirectionv1.AddInvolvementRequest{IdempotencyKey: "feed-inv", CaseId: caseID,
		OrganisationType: commonv1.OrganisationType_ORGANISATION_TYPE_PROVIDER, OrganisationOin: suite.DemoProvider.OIN, Role: casedirectionv1.InvolvementRole_INVOLVEMENT_ROLE_EXECUTOR, ValidFrom: today})
	if err != nil {
		t.Fatalf("add involvement: %v", err)
	}
	allocate := func(key string, monthsAhead int) string {
		start := nowNL().AddDate(0, monthsAhead, 0)
		a, err := team.RequestAllocation(teamCtx, &casedirectionv1.RequestAllocationRequest{IdempotencyKey: key, CaseId: caseID,
			ProviderAgb: suite.DemoProviderAGB, ProductCategory: suite.DemoProductCategory, ProductCode: suite.DemoProductCode,
			StartDate: start.Format("2006-01-02"), EndDate: start.AddDate(0, 2, 0).Format("2006-01-02"),
			Volume: hoursPerWeek(4)})
		if err != nil {
			t.Fatalf("request allocation %s: %v", key, err)
		}
		return a.GetAllocationNumber()
	}
	caseEvent := func(number string) string {
		return events.wait(t, "case.allocation_requested "+number, func(r recorded) bool {
			m, ok := r.msg.(*casedirectionv1.CaseAllocationRequested)
			return ok && m.GetAllocationNumber() == number
		}).env.ID
	}
	whileInvolved := caseEvent(allocate("feed-alloc-1", 0))
	if _, err := team.EndInvolvement(teamCtx, &casedirectionv1.EndInvolvementRequest{IdempotencyKey: "feed-end", CaseId: caseID,
		InvolvementId: inv.GetInvolvement().GetId()}); err != nil {
		t.Fatalf("end involvement: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // events of the involvement's last moments reach the recorder
	untilEnd := caseEventsSoFar()
	afterEnd := caseEvent(allocate("feed-alloc-2", 4))

	// Referrals of the case to the provider's buddy project: one drafted and cancelled unsent,
	// one drafted and sent later. The provider is a party to the second from its sending on,
	// never to the first.
	teamReferrals := referralv1.NewReferralServiceClient(dialAs(t, s, "team", refAddr))
	referralCtx := acting(t, "regisseur-anna", "case_director", "referral")
	draft := func(key string) string {
		t.Helper()
		r, err := teamReferrals.CreateReferral(referralCtx, &referralv1.CreateReferralRequest{IdempotencyKey: key, ProvisionId: demoBuddyProvision,
			CaseId: caseID, ResidentBsn: residentBSN, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
			Question: "looking for a buddy", LegalBasis: referralv1.LegalBasis_LEGAL_BASIS_WMO,
			SharedDataCategories: []referralv1.DataCategory{referralv1.DataCategory_DATA_CATEGORY_IDENTITY, referralv1.DataCategory_DATA_CATEGORY_QUESTION}})
		if err != nil {
			t.Fatalf("draft referral %s: %v", key, err)
		}
		return r.GetReferral().GetId()
	}
	unsent := draft("feed-ref-unsent")
	if _, err := teamReferrals.CancelReferral(referralCtx, &referralv1.CancelReferralRequest{IdempotencyKey: "feed-ref-cancel", ReferralId: unsent,
		Reason: referralv1.CancelReason_CANCEL_REASON_NO_LONGER_NEEDED}); err != nil {
		t.Fatalf("cancel the draft: %v", err)
	}
	sent := draft("feed-ref-sent")
	if _, err := teamReferrals.SendReferral(referralCtx, &referralv1.SendReferralRequest{IdempotencyKey: "feed-ref-send", ReferralId: sent}); err != nil {
		t.Fatalf("send the referral: %v", err)
	}
	referralEvents := func(id string, status commonv1.ReferralStatus) []string {
		var out []string
		for _, r := range events.all() {
			if m, ok := r.msg.(*referralv1.ReferralStatusChanged); ok && m.GetReferralId() == id && m.GetStatus() == status {
				out = append(out, r.env.ID)
			}
		}
		return out
	}
	events.wait(t, "the referral sent", func(r recorded) bool {
		m, ok := r.msg.(*referralv1.ReferralStatusChanged)
		return ok && m.GetReferralId() == sent && m.GetStatus() == commonv1.ReferralStatus_REFERRAL_STATUS_SENT
	})
	// The relays publish everything, and the partners' streams source it from the shared feed,
	// before the feeds are read: the provider's must be complete for its "only while involved".
	waitQuiet(t, s)
	waitFeedsSourced(t, s, gpSub.GetConnection().GetStream(), provSub.GetConnection().GetStream())

	t.Run("the GP's subscription holds exactly the GP's events", func(t *testing.T) {
		var want []string
		for _, r := range events.all() {
			if r.env.Subject == signalID {
				want = append(want, r.env.ID)
			}
		}
		// The feedback subject repeats the events of the municipal subject for signals; count
		// each event once.
		slices.Sort(want)
		want = slices.Compact(want)
		got := drain(t, s, "gp", gpSub.GetConnection())
		if len(want) < 3 || !slices.Equal(ids(got), want) {
			t.Fatalf("GP feed %v, want the events of its signal %v", got, want)
		}
	})
	t.Run("a provider receives a case's events only while involved", func(t *testing.T) {
		got := drain(t, s, "provider", provSub.GetConnection())
		var caseEvents []string
		for _, e := range got {
			if e.aggregate != caseID {
				continue
			}
			caseEvents = append(caseEvents, e.id)
			if beforeInvolvement[e.id] {
				t.Errorf("provider got %s (%s), from before its involvement", e.id, e.typ)
			}
			if !untilEnd[e.id] {
				t.Errorf("provider got %s (%s), from after its involvement ended", e.id, e.typ)
			}
		}
		if !slices.Contains(caseEvents, whileInvolved) || slices.Contains(caseEvents, afterEnd) {
			t.Fatalf("provider's case events %v: want %s (while involved), not %s (after it ended)", caseEvents, whileInvolved, afterEnd)
		}
		allocations := 0
		for _, e := range got {
			if e.typ == "wijkbrug.providermonitoring.v1.AllocationIssued" {
				allocations++
			}
		}
		if allocations != 2 {
			t.Fatalf("provider saw %d allocations issued to it, want 2: %v", allocations, got)
		}
		var referralDrafts, referralSent []string
		for _, e := range got {
			if e.aggregate == unsent {
				t.Errorf("provider got %s (%s) of a referral drafted and cancelled unsent", e.id, e.typ)
			}
			if slices.Contains(referralEvents(sent, commonv1.ReferralStatus_REFERRAL_STATUS_DRAFT), e.id) {
				referralDrafts = append(referralDrafts, e.id)
			}
			if slices.Contains(referralEvents(sent, commonv1.ReferralStatus_REFERRAL_STATUS_SENT), e.id) {
				referralSent = append(referralSent, e.id)
			}
		}
		if len(referralDrafts) != 0 || len(referralSent) != 1 {
			t.Fatalf("provider got %v of the referral's draft (want none) and %v of its sending (want one)", referralDrafts, referralSent)
		}
	})
	t.Run("a referral cancelled unsent stays the referrer's", func(t *testing.T) {
		provider := referralv1.NewReferralServiceClient(dialAs(t, s, "provider", refAddr))
		providerReferralCtx := acting(t, "piet", "care_coordinator", "referral")
		if _, err := provider.GetReferral(providerReferralCtx, &referralv1.GetReferralRequest{ReferralId: unsent}); status.Code(err) != codes.NotFound {
			t.Errorf("provider reads the referral cancelled unsent: %v, want NOT_FOUND", err)
		}
		if _, err := provider.GetReferral(providerReferralCtx, &referralv1.GetReferralRequest{ReferralId: sent}); err != nil {
			t.Errorf("provider reads the referral sent to it: %v", err)
		}
		list, err := provider.ListReferrals(providerReferralCtx, &referralv1.ListReferralsRequest{Side: referralv1.ReferralSide_REFERRAL_SIDE_RECIPIENT})
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, r := range list.GetReferrals() {
			listed = append(listed, r.GetId())
		}
		if slices.Contains(listed, unsent) || !slices.Contains(listed, sent) {
			t.Errorf("provider's list as recipient %v: want %s, not %s", listed, sent, unsent)
		}
	})
	t.Run("replay from a time returns the same events", func(t *testing.T) {
		first := drain(t, s, "gp", gpSub.GetConnection())
		if len(first) != 0 {
			t.Fatalf("acknowledged events came back: %v", first)
		}
		replay, err := gpSubs.CreateSubscription(gpCtx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "gp-replay",
			StartPoint: subscriptionsv1.StartPoint_START_POINT_TIME, StartTime: timestamppb.New(before)})
		if err != nil {
			t.Fatal(err)
		}
		again := drain(t, s, "gp", replay.GetConnection())
		var want []string
		for _, r := range events.all() {
			if r.env.Subject == signalID {
				want = append(want, r.env.ID)
			}
		}
		slices.Sort(want)
		if !slices.Equal(ids(again), slices.Compact(want)) {
			t.Fatalf("replay %v, want %v", again, want)
		}
	})
	t.Run("subscriptions are the organisation's own", func(t *testing.T) {
		list, err := providerSubs.ListSubscriptions(providerCtx, &subscriptionsv1.ListSubscriptionsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.GetSubscriptions()) != 1 || list.GetSubscriptions()[0].GetSubscriptionId() != provSub.GetSubscription().GetSubscriptionId() {
			t.Fatalf("provider lists %v", list.GetSubscriptions())
		}
		gpID := gpSub.GetSubscription().GetSubscriptionId()
		_, err = providerSubs.DeleteSubscription(providerCtx, &subscriptionsv1.DeleteSubscriptionRequest{IdempotencyKey: "steal", SubscriptionId: gpID})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("provider deleting the GP's subscription: %v, want NOT_FOUND", err)
		}
		paused, err := gpSubs.PauseSubscription(gpCtx, &subscriptionsv1.PauseSubscriptionRequest{IdempotencyKey: "pause", SubscriptionId: gpID, Paused: true})
		if err != nil || !paused.GetSubscription().GetPaused() {
			t.Fatalf("pause: %v %v", paused, err)
		}
		// Pauses and resumes at the same moment: each answer says what its own call did (a
		// re-read had answered a concurrent call's state, for half of them; probe C, thirty-fourth
		// session), and so does its replay.
		var wg sync.WaitGroup
		answers := make([]error, 8)
		for i := range answers {
			wg.Go(func() {
				want := i%2 == 0
				req := &subscriptionsv1.PauseSubscriptionRequest{IdempotencyKey: fmt.Sprintf("race-%d", i), SubscriptionId: gpID, Paused: want}
				for range 2 { // the call, then its replay
					resp, err := gpSubs.PauseSubscription(gpCtx, req)
					if err == nil && resp.GetSubscription().GetPaused() != want {
						err = fmt.Errorf("asked paused=%v, answered paused=%v", want, resp.GetSubscription().GetPaused())
					}
					if err != nil {
						answers[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(answers...); err != nil {
			t.Fatalf("concurrent pauses and resumes: %v", err)
		}
		if _, err := gpSubs.DeleteSubscription(gpCtx, &subscriptionsv1.DeleteSubscriptionRequest{IdempotencyKey: "del", SubscriptionId: gpID}); err != nil {
			t.Fatal(err)
		}
		list, err = gpSubs.ListSubscriptions(gpCtx, &subscriptionsv1.ListSubscriptionsRequest{})
		if err != nil || len(list.GetSubscriptions()) != 1 {
			t.Fatalf("GP lists %v after deleting one of two: %v", list.GetSubscriptions(), err)
		}
	})
}

// TestFirstSubscriptionStartsWhereAsked: a partner's first subscription makes its feed stream,
// which then takes over the partner's past events from the shared feed, each stamped with the
// moment it was taken over. A first subscription that starts with what is new, or at a time,
// still starts there: not with the past events being taken over (decisions, issue 9, item 10).
func TestFirstSubscriptionStartsWhereAsked(t *testing.T) {
	t.Parallel()
	_, s := startSuite(t, 3*time.Minute, suite.Options{})
	events := record(t, s)
	refAddr := s.Endpoint("referral").Addr
	gpCtx := acting(t, "dr-jansen", "gp", "signal")
	housingCtx := acting(t, "medewerker", "housing_officer", "signal")
	gp := referralv1.NewReferralServiceClient(dialAs(t, s, "gp", refAddr))
	housing := referralv1.NewReferralServiceClient(dialAs(t, s, "housing", refAddr))
	gpSubs := subscriptionsv1.NewSubscriptionServiceClient(dialAs(t, s, "gp", refAddr))
	housingSubs := subscriptionsv1.NewSubscriptionServiceClient(dialAs(t, s, "housing", refAddr))

	submitGP := func(key string) string {
		t.Helper()
		r, err := gp.SubmitSignal(gpCtx, gpSignalRequest(key))
		if err != nil {
			t.Fatalf("GP submits %s: %v", key, err)
		}
		return r.GetSignalId()
	}
	submitHousing := func(key string) string {
		t.Helper()
		r, err := housing.SubmitSignal(housingCtx, housingSignalRequest(key))
		if err != nil {
			t.Fatalf("housing corporation submits %s: %v", key, err)
		}
		return r.GetSignalId()
	}
	// settled returns the ids of the events about a signal once none has come for 1.5 s (the
	// outbox relays publish an event and its feed copies in the same round).
	settled := func(signalID string) []string {
		t.Helper()
		n, stable, deadline := 0, time.Now(), time.Now().Add(30*time.Second)
		for {
			var out []string
			for _, r := range events.all() {
				if r.env.Subject == signalID {
					out = append(out, r.env.ID)
				}
			}
			if len(out) != n {
				n, stable = len(out), time.Now()
			}
			if n > 0 && time.Since(stable) > 1500*time.Millisecond {
				slices.Sort(out)
				return slices.Compact(out)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the events about signal %s did not settle within 30 s", signalID)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// check: the subscription holds every event in want (the events about the signal
	// submitted after its start), and nothing else but later events about that signal or
	// events about the old signal written from the start on (a late step of its chain).
	check := func(t *testing.T, got []feedEvent, want []string, newSignal, old string, start time.Time) {
		t.Helper()
		times := map[string]time.Time{}
		for _, r := range events.all() {
			times[r.env.ID] = r.env.Time
		}
		for _, id := range want {
			if !slices.Contains(ids(got), id) {
				t.Errorf("event %s is missing from the subscription", id)
			}
		}
		for _, e := range got {
			if e.aggregate != newSignal && (e.aggregate != old || times[e.id].Before(start)) {
				t.Errorf("the subscription delivered %s (%s about %s, %s), from before its start %s",
					e.id, e.typ, e.aggregate, times[e.id].Format(time.RFC3339Nano), start.Format(time.RFC3339Nano))
			}
		}
		if len(want) < 3 {
			t.Fatalf("want holds %d events, expected a signal's three or more", len(want))
		}
	}

	// Both partners' feeds hold past events before either partner has a feed stream.
	gpOld, housingOld := submitGP("first-gp-old"), submitHousing("first-housing-old")
	settled(gpOld)
	settled(housingOld)
	mid := time.Now()
	gpNew := submitGP("first-gp-new")
	gpNewEvents := settled(gpNew)

	t.Run("with what is new", func(t *testing.T) {
		start := time.Now()
		sub, err := housingSubs.CreateSubscription(housingCtx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "first-new",
			StartPoint: subscriptionsv1.StartPoint_START_POINT_NEW})
		if err != nil {
			t.Fatalf("housing corporation's first subscription: %v", err)
		}
		if sub.GetSubscription().GetStartPoint() != subscriptionsv1.StartPoint_START_POINT_NEW {
			t.Fatalf("subscription %v, want START_POINT_NEW", sub.GetSubscription())
		}
		later := submitHousing("first-housing-later")
		check(t, drain(t, s, "housing", sub.GetConnection()), settled(later), later, housingOld, start)
	})
	t.Run("at a time", func(t *testing.T) {
		sub, err := gpSubs.CreateSubscription(gpCtx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "first-time",
			StartPoint: subscriptionsv1.StartPoint_START_POINT_TIME, StartTime: timestamppb.New(mid)})
		if err != nil {
			t.Fatalf("GP's first subscription: %v", err)
		}
		if got := sub.GetSubscription(); got.GetStartPoint() != subscriptionsv1.StartPoint_START_POINT_TIME || !got.GetStartTime().AsTime().Equal(mid) {
			t.Fatalf("subscription %v, want START_POINT_TIME at %s", got, mid.Format(time.RFC3339Nano))
		}
		check(t, drain(t, s, "gp", sub.GetConnection()), gpNewEvents, gpNew, gpOld, mid)
	})
	t.Run("a time ahead is refused", func(t *testing.T) {
		_, err := gpSubs.CreateSubscription(gpCtx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "first-future",
			StartPoint: subscriptionsv1.StartPoint_START_POINT_TIME, StartTime: timestamppb.New(time.Now().Add(2 * time.Minute))})
		if status.Code(err) != codes.InvalidArgument || !slices.Equal(badRequestFields(err), []string{"start_time"}) {
			t.Fatalf("a start two minutes ahead: %v, want INVALID_ARGUMENT on start_time", err)
		}
	})
	t.Run("a sequence beyond the feed is refused", func(t *testing.T) {
		_, err := gpSubs.CreateSubscription(gpCtx, &subscriptionsv1.CreateSubscriptionRequest{IdempotencyKey: "first-beyond",
			StartPoint: subscriptionsv1.StartPoint_START_POINT_SEQUENCE, StartSequence: 1 << 40})
		if status.Code(err) != codes.InvalidArgument || !slices.Equal(badRequestFields(err), []string{"start_sequence"}) {
			t.Fatalf("a start sequence past the feed's end: %v, want INVALID_ARGUMENT on start_sequence", err)
		}
	})
}
