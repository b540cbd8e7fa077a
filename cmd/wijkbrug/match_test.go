package main

import (
	"regexp"
	"slices"
	"testing"

	"github.com/wijkbrug/wijkbrug/cmd/wijkbrug/internal/suite"
	commonv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/common/v1"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	subscriptionsv1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/subscriptions/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// bolaSecondTeamRegisters is the sequence of issue 16: team B, refused A's resident and
// household, registers an intake with the resident's BSN. That gives B its own intake and a
// match (whom to contact), never A's file: the three reads stay NOT_FOUND, and both teams
// hear of the match on their own subjects, without personal data.
func bolaSecondTeamRegisters(t *testing.T, env *bolaEnv, f *bolaFixture) {
	const in = "intake"
	events := record(t, env.s)
	reads := func(when, household string) {
		t.Helper()
		for _, c := range []struct {
			method string
			req    proto.Message
		}{
			{intakev1.IntakeService_FindResident_FullMethodName, &intakev1.FindResidentRequest{Bsn: f.bsn1}},
			{intakev1.IntakeService_GetResident_FullMethodName, &intakev1.GetResidentRequest{ResidentId: f.resident1}},
			{intakev1.IntakeService_GetHousehold_FullMethodName, &intakev1.GetHouseholdRequest{HouseholdId: household}},
		} {
			resp, err := env.invoke(t, in, c.method, teamB, c.req)
			if status.Code(err) != codes.NotFound {
				t.Errorf("%s: %s as team B: got %s (%v), want NOT_FOUND", when, c.method, describe(err), resp)
			}
		}
	}
	reads("before registering", f.household1)

	resp, err := env.invoke(t, in, intakev1.IntakeService_RegisterIntake_FullMethodName, teamB, &intakev1.RegisterIntakeRequest{
		Channel: intakev1.Channel_CHANNEL_DESK, ResidentBsn: f.bsn1, MunicipalityCode: suite.DemoMunicipality, DistrictCode: suite.DemoDistrict,
		Question: "second team asks", LifeDomains: []commonv1.LifeDomain{commonv1.LifeDomain_LIFE_DOMAIN_FINANCES}, Urgency: intakev1.Urgency_URGENCY_NORMAL})
	if err != nil {
		t.Fatalf("RegisterIntake as team B with A's resident's BSN: %v", describe(err))
	}
	reg := resp.(*intakev1.RegisterIntakeResponse)
	teamBOIN := env.orgs[teamB.org].OIN
	if reg.GetIntake().GetTeamOin() != teamBOIN {
		t.Errorf("the intake must be team B's: team_oin %q", reg.GetIntake().GetTeamOin())
	}
	m := reg.GetMatch()
	if m.GetMatchId() == "" || m.GetBasis() != intakev1.MatchBasis_MATCH_BASIS_RESIDENT || len(m.GetInvolvedTeams()) != 1 ||
		m.GetInvolvedTeams()[0].GetTeamOin() != suite.DemoTeam.OIN || m.GetInvolvedTeams()[0].GetTeamName() != suite.DemoTeam.Name {
		t.Errorf("team B must be told that team A is involved and how to reach it, nothing more: %v", m)
	}

	// The matrix's changes may have left the resident without a current household, in which
	// case the intake gave them a new one: check that one and the fixture's.
	household := reg.GetIntake().GetHouseholdId()
	reads("after registering", f.household1)
	reads("after registering", household)
	// B's own intake is B's: it reads it and sees it in its queue.
	if _, err := env.invoke(t, in, intakev1.IntakeService_GetIntake_FullMethodName, teamB, &intakev1.GetIntakeRequest{IntakeId: reg.GetIntake().GetId()}); err != nil {
		t.Errorf("team B reads its own intake: %v", describe(err))
	}
	q, err := env.invoke(t, in, intakev1.IntakeService_ListTeamQueue_FullMethodName, teamB, &intakev1.ListTeamQueueRequest{})
	if err != nil || !slices.ContainsFunc(q.(*intakev1.ListTeamQueueResponse).GetEntries(), func(e *intakev1.TeamQueueEntry) bool {
		return e.GetIntake().GetId() == reg.GetIntake().GetId()
	}) {
		t.Errorf("team B's queue must hold its intake: %v %v", q, err)
	}
	// A keeps its file.
	if _, err := env.invoke(t, in, intakev1.IntakeService_GetHousehold_FullMethodName, ownerTeam, &intakev1.GetHouseholdRequest{HouseholdId: household}); err != nil {
		t.Errorf("team A reads its household: %v", describe(err))
	}

	// Both teams are notified, each on its own subject, with the same match and no personal data.
	for _, oin := range []string{suite.DemoTeam.OIN, teamBOIN} {
		subject := "wijkbrug.intake.feedback." + oin + ".resident.matched"
		e := events.wait(t, "match notification on "+subject, func(r recorded) bool {
			ev, ok := r.msg.(*intakev1.ResidentMatched)
			return ok && r.subject == subject && ev.GetMatchId() == m.GetMatchId()
		})
		ev := e.msg.(*intakev1.ResidentMatched)
		if ev.GetIntakeId() != reg.GetIntake().GetId() || ev.GetRequestingTeamOin() != teamBOIN || !slices.Equal(ev.GetInvolvedTeamOins(), []string{suite.DemoTeam.OIN}) ||
			ev.GetResidentId() != f.resident1 || ev.GetHouseholdId() != household {
			t.Errorf("match event on %s: %v", subject, ev)
		}
		assertNoPersonalData(t, ev, f.bsn1, "second team asks", "help with forms")
	}

	// Team A, which works with the resident, finds the match in its own feed: the only
	// notification it can read (a team's NATS identity reads only its feed).
	sub, err := env.invoke(t, "referral", subscriptionsv1.SubscriptionService_CreateSubscription_FullMethodName, ownerTeam,
		&subscriptionsv1.CreateSubscriptionRequest{StartPoint: subscriptionsv1.StartPoint_START_POINT_ALL, EventTypes: []string{"wijkbrug.intake.v1.ResidentMatched"}})
	if err != nil {
		t.Fatalf("team A subscribes to matches: %v", describe(err))
	}
	var matches []feedEvent
	for _, e := range drain(t, env.s, "team", sub.(*subscriptionsv1.CreateSubscriptionResponse).GetConnection()) {
		if e.aggregate == m.GetMatchId() {
			matches = append(matches, e)
		}
	}
	if len(matches) != 1 || matches[0].typ != "wijkbrug.intake.v1.ResidentMatched" {
		t.Errorf("team A's feed holds %v of match %s, want its ResidentMatched once", matches, m.GetMatchId())
	}
}

var (
	idLike   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	oinLike  = regexp.MustCompile(`^[0-9]{20}$`)
	codeLike = regexp.MustCompile(`^GM[0-9]{4}$`)
)

// assertNoPersonalData fails when a string field of msg is anything but an id, an OIN or a
// municipality code, or when its encoding contains one of the given secrets.
func assertNoPersonalData(t *testing.T, msg proto.Message, secrets ...string) {
	t.Helper()
	raw, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if s != "" && regexp.MustCompile(regexp.QuoteMeta(s)).Match(raw) {
			t.Errorf("%s carries %q", msg.ProtoReflect().Descriptor().Name(), s)
		}
	}
	msg.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.StringKind {
			return true
		}
		values := []string{}
		if fd.IsList() {
			for i := 0; i < v.List().Len(); i++ {
				values = append(values, v.List().Get(i).String())
			}
		} else {
			values = append(values, v.String())
		}
		for _, s := range values {
			if !idLike.MatchString(s) && !oinLike.MatchString(s) && !codeLike.MatchString(s) {
				t.Errorf("%s.%s = %q: not an id, OIN or code", msg.ProtoReflect().Descriptor().Name(), fd.Name(), s)
			}
		}
		return true
	})
}
