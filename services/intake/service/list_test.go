package service_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	intakev1 "github.com/wijkbrug/wijkbrug/pkg/gen/wijkbrug/intake/v1"
	"github.com/wijkbrug/wijkbrug/pkg/identity"
	"github.com/wijkbrug/wijkbrug/pkg/svctest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestListIntakes: a team finds its own intakes by status, channel, period, resident and
// household, newest first and paged; another team finds none of them; each intake shown is
// access-logged; bad filters and paging are INVALID_ARGUMENT naming the field.
func TestListIntakes(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := svctest.Ctx(t)
	startedAt := time.Now().Add(-time.Minute)
	a := h.register(t, validBSN(80), intakev1.Urgency_URGENCY_NORMAL)
	phone := request(validBSN(81), intakev1.Urgency_URGENCY_HIGH)
	phone.Channel = intakev1.Channel_CHANNEL_PHONE
	b, err := h.client.RegisterIntake(ctx, phone)
	if err != nil {
		t.Fatal(err)
	}
	c := h.register(t, validBSN(82), intakev1.Urgency_URGENCY_NORMAL)
	if _, err := h.client.StartTriage(ctx, &intakev1.StartTriageRequest{IdempotencyKey: uuid.NewString(), IntakeId: c.GetId()}); err != nil {
		t.Fatal(err)
	}
	ids := func(req *intakev1.ListIntakesRequest) []string {
		t.Helper()
		var out []string
		for range 10 {
			resp, err := h.client.ListIntakes(ctx, req)
			if err != nil {
				t.Fatalf("ListIntakes %v: %v", req, err)
			}
			for _, in := range resp.GetIntakes() {
				if in.GetQuestion() != "" {
					t.Fatalf("a list shows no question: %v", in)
				}
				out = append(out, in.GetId())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return out
			}
		}
		t.Fatalf("paging did not end: %v", out)
		return nil
	}
	newestFirst := []string{c.GetId(), b.GetIntake().GetId(), a.GetId()}
	if got := ids(&intakev1.ListIntakesRequest{}); !slices.Equal(got, newestFirst) {
		t.Fatalf("all: %v, want %v", got, newestFirst)
	}
	if got := ids(&intakev1.ListIntakesRequest{PageSize: 1}); !slices.Equal(got, newestFirst) {
		t.Fatalf("one per page: %v, want %v", got, newestFirst)
	}
	if got := ids(&intakev1.ListIntakesRequest{Statuses: []intakev1.IntakeStatus{intakev1.IntakeStatus_INTAKE_STATUS_IN_TRIAGE}}); !slices.Equal(got, []string{c.GetId()}) {
		t.Fatalf("in triage: %v", got)
	}
	if got := ids(&intakev1.ListIntakesRequest{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_PHONE}}); !slices.Equal(got, []string{b.GetIntake().GetId()}) {
		t.Fatalf("by phone: %v", got)
	}
	if got := ids(&intakev1.ListIntakesRequest{ResidentId: a.GetResidentId()}); !slices.Equal(got, []string{a.GetId()}) {
		t.Fatalf("by resident: %v", got)
	}
	if got := ids(&intakev1.ListIntakesRequest{HouseholdId: c.GetHouseholdId()}); !slices.Equal(got, []string{c.GetId()}) {
		t.Fatalf("by household: %v", got)
	}
	if got := ids(&intakev1.ListIntakesRequest{ReceivedFrom: timestamppb.New(startedAt), ReceivedBefore: timestamppb.New(startedAt.Add(time.Hour))}); len(got) != 3 {
		t.Fatalf("in the period: %v", got)
	}
	if got := ids(&intakev1.ListIntakesRequest{ReceivedBefore: timestamppb.New(startedAt)}); len(got) != 0 {
		t.Fatalf("before the period: %v", got)
	}
	// Another team: none of them, even asked by resident.
	other := h.clientAs(t, svctest.Org(identity.OrgTeam, "Wijkteam Zuid"))
	if resp, err := other.ListIntakes(ctx, &intakev1.ListIntakesRequest{ResidentId: a.GetResidentId()}); err != nil || len(resp.GetIntakes()) != 0 {
		t.Fatalf("another team's list: %v %v", err, resp)
	}
	// Each time an intake is shown it is logged under its resident: a was shown 4 times.
	if n := h.count(t, `SELECT count(*) FROM access_log_entries WHERE action = 'intake.intake.list' AND object_id = $1 AND resident_pseudonym <> ''`, a.GetId()); n != 4 {
		t.Fatalf("listing logged for intake a: %d, want 4", n)
	}
	first, err := h.client.ListIntakes(ctx, &intakev1.ListIntakesRequest{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	for field, req := range map[string]*intakev1.ListIntakesRequest{
		"statuses[1]":     {Statuses: []intakev1.IntakeStatus{intakev1.IntakeStatus_INTAKE_STATUS_RECEIVED, 99}},
		"channels[0]":     {Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_UNSPECIFIED}},
		"received_before": {ReceivedFrom: timestamppb.New(startedAt), ReceivedBefore: timestamppb.New(startedAt)},
		"resident_id":     {ResidentId: "nope"},
		"page_size":       {PageSize: 10000},
		"page_token":      {Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_PHONE}, PageToken: first.GetNextPageToken()},
	} {
		_, err := h.client.ListIntakes(ctx, req)
		if status.Code(err) != codes.InvalidArgument || !slices.Contains(violations(err), field) {
			t.Errorf("bad %s: want INVALID_ARGUMENT on it, got %v %v", field, err, violations(err))
		}
	}
	if _, err := h.clientAs(t, svctest.Org(identity.OrgGP, "Huisartsenpraktijk")).ListIntakes(ctx, &intakev1.ListIntakesRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a GP listing intakes: want PERMISSION_DENIED, got %v", err)
	}
}
